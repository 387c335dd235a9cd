package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Defaults of a Gate: within DefaultTimeout a request waiting on the
// store is answered 503, and at most DefaultMaxWaiting requests wait at
// once. Alertmanager retries a 5xx, and a store that recovers takes the
// notification then; its jobs are keyed by episode, so a notification
// recorded after its 503 is not recorded twice.
const (
	DefaultTimeout    = 10 * time.Second
	DefaultMaxWaiting = 16
)

// ErrUnavailable is what a request gets from a Gate when the store
// did not answer in time or too many requests already wait on it.
var ErrUnavailable = errors.New("the remediation store is not answering")

// Gate bounds what the HTTP endpoints and the engine's queue loop wait on
// the store: how long one
// request waits, and how many goroutines wait in the store at once. A hung store
// (PostgreSQL that accepts and never answers, a bbolt file whose lock is
// held) then costs at most MaxWaiting goroutines, whatever the number of
// clients, and every client gets an answer within the timeout.
//
// One Gate lives per process: engines built on reloads share it, so a
// store that hangs across reloads is still waited on by at most
// MaxWaiting goroutines.
type Gate struct {
	timeout time.Duration
	slots   chan struct{}
}

// NewGate returns a gate; zero values take the defaults.
func NewGate(timeout time.Duration, maxWaiting int) *Gate {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if maxWaiting <= 0 {
		maxWaiting = DefaultMaxWaiting
	}
	return &Gate{timeout: timeout, slots: make(chan struct{}, maxWaiting)}
}

// Timeout is how long a request waits on the store.
func (g *Gate) Timeout() time.Duration { return g.timeout }

// MaxWaiting is how many requests wait on the store at once.
func (g *Gate) MaxWaiting() int { return cap(g.slots) }

// Do runs f under the gate's deadline in a goroutine of its own that holds
// a slot until f returns, even after Do gave up on it: a store that
// ignores its context (bbolt waiting on its lock) keeps its slot, so the
// goroutines stuck on it never outnumber the slots. A request waits for a
// free slot within the same deadline: a burst of notifications is
// served in turn, and only a store that does not answer turns them away.
// Do returns f's error, or one wrapping ErrUnavailable when the
// deadline passed first (waiting for a slot or for f).
func (g *Gate) Do(ctx context.Context, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	select {
	case g.slots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%w: %d requests already wait on it", ErrUnavailable, cap(g.slots))
	}
	done := make(chan error, 1)
	go func() {
		defer func() { <-g.slots }()
		done <- f(ctx)
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		select {
		case err = <-done:
		default:
			return fmt.Errorf("%w within %s", ErrUnavailable, g.timeout)
		}
	}
	if err != nil && ctx.Err() != nil {
		// The store gave up at the deadline (PostgreSQL cancels the
		// query): it did not answer in time.
		return fmt.Errorf("%w within %s: %w", ErrUnavailable, g.timeout, err)
	}
	return err
}
