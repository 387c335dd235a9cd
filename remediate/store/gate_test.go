package store

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestGateReturnsTheStoresOwnAnswer(t *testing.T) {
	g := NewGate(time.Minute, 1)
	if err := g.Do(context.Background(), func(context.Context) error { return nil }); err != nil {
		t.Fatalf("a store answering at once: %v", err)
	}
	if err := g.Do(context.Background(), func(ctx context.Context) error {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("the store call has no deadline")
		}
		return context.Canceled
	}); err != context.Canceled {
		t.Fatalf("the store's error: %v", err)
	}
	if g.Timeout() != time.Minute || g.MaxWaiting() != 1 {
		t.Fatalf("gate bounds %s %d", g.Timeout(), g.MaxWaiting())
	}
	if d := NewGate(0, 0); d.Timeout() != DefaultTimeout || d.MaxWaiting() != DefaultMaxWaiting {
		t.Fatalf("default gate bounds %s %d", d.Timeout(), d.MaxWaiting())
	}
}

// Thirty callers against a store that hangs and ignores its context (a
// bbolt file whose lock is held): every one is told the store is not
// answering, no more than the gate's slots ever wait in the store, and
// once it answers again, so does the gate.
func TestAHungStoreIsWaitedOnByAtMostTheGatesSlots(t *testing.T) {
	const slots, callers = 4, 30
	g := NewGate(50*time.Millisecond, slots)
	release := make(chan struct{})
	var waiting, most atomic.Int64
	hung := func(context.Context) error {
		n := waiting.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
		waiting.Add(-1)
		return nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() { errs <- g.Do(context.Background(), hung) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("a caller got %v, want ErrUnavailable", err)
		}
	}
	if m := most.Load(); m > slots {
		t.Errorf("%d calls waited in the hung store at once, more than the gate's %d slots", m, slots)
	}
	close(release)
	// The slots come back as the hung calls return, in their own time.
	var err error
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if err = g.Do(context.Background(), func(context.Context) error { return nil }); err == nil {
			return
		}
	}
	t.Errorf("once the store answers: %v", err)
}
