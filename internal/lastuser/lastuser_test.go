package lastuser

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

func TestRetiredWhileIdleClosesAtOnce(t *testing.T) {
	var c Count
	if !c.Retire() {
		t.Fatal("retiring a thing no one uses must close it now")
	}
	if c.Retire() {
		t.Error("a second Retire closed it again")
	}
}

func TestTheLastUserOfARetiredThingClosesIt(t *testing.T) {
	var c Count
	c.Enter()
	c.Enter()
	if c.Retire() {
		t.Fatal("retired while two users hold it, closed at once")
	}
	if c.Leave() {
		t.Fatal("closed while a user still holds it")
	}
	if !c.Leave() {
		t.Fatal("the last user's Leave did not close it")
	}
}

func TestAUserArrivingAfterTheCloseIsToldAndClosesNothing(t *testing.T) {
	var c Count
	c.Retire()
	if !c.Enter() {
		t.Fatal("Enter after Retire must say the thing is retired")
	}
	if c.Leave() {
		t.Error("a user arriving after the close closed it a second time")
	}
}

func TestALateUserKeepsItOpenUntilItLeaves(t *testing.T) {
	var c Count
	c.Enter() // in flight when retired
	c.Retire()
	if !c.Enter() {
		t.Fatal("Enter after Retire must say the thing is retired")
	}
	if c.Leave() {
		t.Fatal("closed while the late user still holds it")
	}
	if !c.Leave() {
		t.Fatal("the late user, the last to leave, did not close it")
	}
}

// However users and the retirement interleave, the thing is closed
// exactly once, and never under a user that Enter told it was not
// retired.
func TestClosedExactlyOnceUnderConcurrency(t *testing.T) {
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, seed))
	for round := range 500 {
		var (
			c      Count
			closes atomic.Int32
			wg     sync.WaitGroup
		)
		closed := func(ok bool) {
			if ok {
				closes.Add(1)
			}
		}
		use := func(holds int) {
			if c.Enter() {
				closed(c.Leave())
				return
			}
			for range holds {
				if closes.Load() != 0 {
					t.Errorf("seed %d round %d: closed under a user told it was not retired", seed, round)
				}
				runtime.Gosched()
			}
			closed(c.Leave())
		}
		users := 1 + rng.IntN(8)
		retireAt := rng.IntN(users + 1)
		for i := range users + 1 {
			if i == retireAt {
				wg.Go(func() { closed(c.Retire()) })
			}
			if i < users {
				holds := 1 + rng.IntN(3)
				wg.Go(func() { use(holds) })
			}
		}
		wg.Wait()
		if n := closes.Load(); n != 1 {
			t.Fatalf("seed %d round %d: closed %d times, want once", seed, round, n)
		}
	}
}
