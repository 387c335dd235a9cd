package collector

import (
	"context"
	"fmt"
	"sync"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
	"github.com/cdc-sentinel/cdc-sentinel/internal/lag"
)

// A scrape lists each Connect cluster exactly once, and reads each
// connector's offsets at most once, however many collectors need them
// (connector states, dead-letter topics, offset lag, source retention),
// and reads each cluster's sink groups from Kafka once for the sink lag
// and sink retention collectors: these are the expensive calls, and two
// calls could also disagree within one scrape.
type listingMemo struct {
	mu       sync.Mutex
	listings map[string]*memoEntry[[]connect.Connector]
	offsets  map[[2]string]*memoEntry[[]connect.Offset]
	backlogs map[string]*memoEntry[map[string]kafka.GroupBacklog]
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
		backlogs: map[string]*memoEntry[map[string]kafka.GroupBacklog]{},
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

// sinkBacklogs reads the backlog and retention of a cluster's sink groups
// once per scrape, for whichever of the sink collectors asks first: both
// derive the same groups from the same listing.
func sinkBacklogs(ctx context.Context, cl ConnectLister, k GroupBacklogReader, groups []string, keep func(group, topic string) bool) map[string]kafka.GroupBacklog {
	read := func() (map[string]kafka.GroupBacklog, error) {
		opts := lag.SinkBacklogOptions(keep)
		opts.Retention = true
		return k.GroupBacklogs(ctx, groups, opts), nil
	}
	m, _ := ctx.Value(memoKey{}).(*listingMemo)
	if m == nil {
		b, _ := read()
		return b
	}
	b, _ := remember(ctx, &m.mu, m.backlogs, cl.Name(), "the sink groups of connect cluster "+cl.Name(), read)
	return b
}

// sinkGroup is a sink connector and the consumer group it reads with.
type sinkGroup struct{ name, group string }

// sinkGroups picks the sinks out of a cluster's listing, with their
// distinct groups and which of a group's committed topics its sinks
// still consume: a group's commits on a topic none of them consumes any
// more (topics changed) are left out, or their lag would grow for ever.
func sinkGroups(conns []connect.Connector) (sinks []sinkGroup, groups []string, keep func(group, topic string) bool) {
	readers := map[string][]*connectorkind.Connector{}
	for i := range conns {
		kc := connectorkind.New(conns[i].Name(), conns[i].Type(), conns[i].Info.Config)
		g := kc.ConsumerGroup()
		if g == "" {
			continue // not a sink
		}
		sinks = append(sinks, sinkGroup{conns[i].Name(), g})
		if len(readers[g]) == 0 {
			groups = append(groups, g)
		}
		readers[g] = append(readers[g], kc)
	}
	keep = func(group, topic string) bool {
		for _, kc := range readers[group] {
			if kc.Consumes(topic) {
				return true
			}
		}
		return false
	}
	return sinks, groups, keep
}
