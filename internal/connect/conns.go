package connect

import (
	"context"
	"net"
	"sync"

	"github.com/cdc-sentinel/cdc-sentinel/internal/lastuser"
)

// conns are a client's open connections. Close must release every one,
// but net/http hands a finished request's connection back to its idle
// pool asynchronously, after Body.Close has returned: a request that ends
// around Close can park its connection after CloseIdleConnections has
// already run, and a retired client would keep it (and the two goroutines
// serving it) until the worker closes it. So the client closes the
// connections itself once none of its requests is in flight.
type conns struct {
	// users are the requests in flight; the last to end on a closed
	// client closes what is left.
	users lastuser.Count
	mu    sync.Mutex
	open  map[*trackedConn]struct{}
}

func newConns() *conns { return &conns{open: map[*trackedConn]struct{}{}} }

// dial wraps the standard dialer so each connection is tracked.
func (t *conns) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, owner: t}
	t.mu.Lock()
	t.open[tc] = struct{}{}
	t.mu.Unlock()
	return tc, nil
}

// begin counts a request in flight; it reports whether the client is
// already closed, so the request's connection is not kept afterwards.
func (t *conns) begin() (closed bool) { return t.users.Enter() }

// end counts a request done.
func (t *conns) end() {
	if t.users.Leave() {
		t.closeAll()
	}
}

// close marks the client closed and, when no request is in flight,
// closes every connection at once.
func (t *conns) close() {
	if t.users.Retire() {
		t.closeAll()
	}
}

func (t *conns) closeAll() {
	t.mu.Lock()
	all := make([]*trackedConn, 0, len(t.open))
	for c := range t.open {
		all = append(all, c)
	}
	t.mu.Unlock()
	for _, c := range all {
		_ = c.Close()
	}
}

type trackedConn struct {
	net.Conn
	owner *conns
	once  sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.owner.mu.Lock()
		delete(c.owner.open, c)
		c.owner.mu.Unlock()
	})
	return c.Conn.Close()
}
