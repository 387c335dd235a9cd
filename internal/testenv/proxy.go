package testenv

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Proxy forwards TCP connections to a server the test must not stop
// (the shared pipeline's Connect worker, say), so that the test can take
// the server away from its own client only: Down refuses new connections
// and resets the open ones, as a stopped process does; Up listens on the
// same address again.
type Proxy struct {
	t        testing.TB
	upstream string
	addr     string
	mu       sync.Mutex
	l        net.Listener
	conns    map[net.Conn]struct{}
}

// NewProxy starts a proxy in front of upstream (host:port); it is down
// again at cleanup.
func NewProxy(t testing.TB, upstream string) *Proxy {
	t.Helper()
	p := &Proxy{t: t, upstream: upstream, addr: "127.0.0.1:0", conns: map[net.Conn]struct{}{}}
	p.Up()
	t.Cleanup(p.Down)
	return p
}

// Addr is where the proxy listens, host:port; it stays the same across
// Down and Up.
func (p *Proxy) Addr() string { return p.addr }

// Up listens again after Down; it does nothing while up.
func (p *Proxy) Up() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.l != nil {
		return
	}
	l, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("proxy to %s listening on %s again: %v", p.upstream, p.addr, err)
	}
	p.l, p.addr = l, l.Addr().String()
	go p.serve(l)
}

// Down closes the listener and every connection through the proxy; the
// upstream server is not touched.
func (p *Proxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.l == nil {
		return
	}
	p.l.Close()
	p.l = nil
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *Proxy) serve(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go p.pipe(c)
	}
}

// pipe joins one client connection to a new upstream one until either
// side closes or the proxy goes down.
func (p *Proxy) pipe(c net.Conn) {
	u, err := net.DialTimeout("tcp", p.upstream, 10*time.Second)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(c, u) {
		c.Close()
		u.Close()
		return
	}
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		io.Copy(dst, src)
		done <- struct{}{}
	}
	go cp(u, c)
	go cp(c, u)
	<-done
	c.Close()
	u.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, u)
	p.mu.Unlock()
}

// track records both ends of a joined connection so Down can reset them;
// false when the proxy went down while the upstream one was dialled.
func (p *Proxy) track(c, u net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.l == nil {
		return false
	}
	p.conns[c], p.conns[u] = struct{}{}, struct{}{}
	return true
}
