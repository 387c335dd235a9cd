package collector

import (
	"context"
	"fmt"
	"sync"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
)

// A scrape lists each Connect cluster exactly once, however many
// collectors need the listing (connector states, dead-letter topics,
// offsets): the listing is the expensive call, and two calls could also
// disagree within one scrape.
type listingMemo struct {
	mu      sync.Mutex
	entries map[string]*listingEntry
}

type listingEntry struct {
	done  chan struct{} // closed once conns and err are set
	conns []connect.Connector
	err   error
}

type memoKey struct{}

func withListingMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, memoKey{}, &listingMemo{entries: map[string]*listingEntry{}})
}

// Connectors returns the cluster's expanded listing for this scrape,
// fetching it on first use. Outside a scrape (no memo in ctx) it simply
// lists.
func Connectors(ctx context.Context, cl ConnectLister) ([]connect.Connector, error) {
	m, _ := ctx.Value(memoKey{}).(*listingMemo)
	if m == nil {
		return cl.Connectors(ctx)
	}
	m.mu.Lock()
	e, ok := m.entries[cl.Name()]
	if !ok {
		e = &listingEntry{done: make(chan struct{})}
		m.entries[cl.Name()] = e
	}
	m.mu.Unlock()
	if !ok {
		defer close(e.done)
		// Should the listing panic, the waiters see a failure, not an
		// empty cluster.
		e.err = fmt.Errorf("listing connect cluster %s did not finish", cl.Name())
		e.conns, e.err = cl.Connectors(ctx)
		return e.conns, e.err
	}
	// Waiting for the listing another collector started never outlasts
	// the caller's own deadline.
	select {
	case <-e.done:
		return e.conns, e.err
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the listing of connect cluster %s: %w", cl.Name(), ctx.Err())
	}
}
