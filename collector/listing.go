package collector

import (
	"context"
	"fmt"
	"sync"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
)

// A scrape lists each Connect cluster exactly once, and reads each
// connector's offsets at most once, however many collectors need them
// (connector states, dead-letter topics, offset lag, source retention):
// these are the expensive calls, and two calls could also disagree
// within one scrape.
type listingMemo struct {
	mu       sync.Mutex
	listings map[string]*memoEntry[[]connect.Connector]
	offsets  map[[2]string]*memoEntry[[]connect.Offset]
}

type memoEntry[T any] struct {
	done chan struct{} // closed once val and err are set
	val  T
	err  error
}

type memoKey struct{}

func withListingMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, memoKey{}, &listingMemo{
		listings: map[string]*memoEntry[[]connect.Connector]{},
		offsets:  map[[2]string]*memoEntry[[]connect.Offset]{},
	})
}

// remember returns entries[key]'s value, fetching it on first use;
// later callers wait for the first, never past their own deadline.
func remember[K comparable, T any](ctx context.Context, mu *sync.Mutex, entries map[K]*memoEntry[T], key K, what string, fetch func() (T, error)) (T, error) {
	mu.Lock()
	e, ok := entries[key]
	if !ok {
		e = &memoEntry[T]{done: make(chan struct{})}
		entries[key] = e
	}
	mu.Unlock()
	if !ok {
		defer close(e.done)
		// Should the fetch panic, the waiters see a failure, not an
		// empty answer.
		e.err = fmt.Errorf("%s did not finish", what)
		e.val, e.err = fetch()
		return e.val, e.err
	}
	select {
	case <-e.done:
		return e.val, e.err
	case <-ctx.Done():
		var zero T
		return zero, fmt.Errorf("waiting for %s: %w", what, ctx.Err())
	}
}

// Connectors returns the cluster's expanded listing for this scrape,
// fetching it on first use. Outside a scrape (no memo in ctx) it simply
// lists.
func Connectors(ctx context.Context, cl ConnectLister) ([]connect.Connector, error) {
	m, _ := ctx.Value(memoKey{}).(*listingMemo)
	if m == nil {
		return cl.Connectors(ctx)
	}
	return remember(ctx, &m.mu, m.listings, cl.Name(), "the listing of connect cluster "+cl.Name(), func() ([]connect.Connector, error) {
		return cl.Connectors(ctx)
	})
}

// connectorOffsets returns a connector's committed offsets for this
// scrape, read on first use.
func connectorOffsets(ctx context.Context, cl OffsetsReader, name string) ([]connect.Offset, error) {
	m, _ := ctx.Value(memoKey{}).(*listingMemo)
	if m == nil {
		return cl.Offsets(ctx, name)
	}
	return remember(ctx, &m.mu, m.offsets, [2]string{cl.Name(), name}, "the offsets of connector "+cl.Name()+"/"+name, func() ([]connect.Offset, error) {
		return cl.Offsets(ctx, name)
	})
}
