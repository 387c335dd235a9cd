package remediate

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

// The attempt is recorded before the live status is read: a process that
// dies while reading it is audited as interrupted by whoever takes the job
// next, and nothing is sent for the episode, then or on a repeat.
func TestDyingWhileReadingTheStatusIsInterruptedAndNeverSends(t *testing.T) {
	fc := newFakeConnect()
	fc.set("sink", connect.StateRunning, failedTask("boom"))
	h := newHarness(t, restartTaskRule, fc)
	h.stop()
	reading := make(chan struct{})
	var once sync.Once
	fc.onStatus = func() {
		once.Do(func() {
			close(reading)
			runtime.Goexit() // kill -9 while the request is out
		})
	}
	h.start()
	start := h.clock.Now().Add(-time.Minute)
	a := firing(start, taskAlert(start)...)
	h.notify(a)
	waitSent(t, reading)

	h.stop()
	fc.onStatus = nil
	h.start()
	recs := h.waitAudit(1)
	if r := recs[0]; r.Outcome != OutcomeInterrupted || r.Decision != DecisionAct || r.Action != "restart_task" {
		t.Fatalf("audit record after dying mid-read: %+v", r)
	}
	h.notify(a) // Alertmanager's repeat of the same episode
	h.settle()
	if recs, _ := h.store.Audit(context.Background(), store.AuditQuery{Limit: 10}); len(recs) != 1 {
		t.Fatalf("audit after the repeat: %v", outcomes(recs))
	}
	if calls := fc.Calls(); len(calls) != 0 {
		t.Fatalf("sent after an interrupted read: %v", calls)
	}
}

// An action the live status finds not needed gives its attempt back: it
// neither starts a cooldown nor counts toward the circuit breaker, so a
// real failure right after is acted on.
func TestAnActionFoundNotNeededGivesItsAttemptBack(t *testing.T) {
	fc := newFakeConnect()
	fc.set("sink", connect.StateRunning, connect.TaskInfo{ID: 0, State: connect.StateRunning, WorkerID: "w1:8083"})
	h := newHarness(t, restartTaskRule, fc)
	first := h.clock.Now().Add(-time.Minute)
	h.notify(firing(first, taskAlert(first)...))
	if r := h.waitAudit(1)[0]; r.Outcome != OutcomeNotNeeded {
		t.Fatalf("a restart of a RUNNING task: %+v", r)
	}
	br, err := h.store.Breaker(context.Background(), breakerKey)
	if err != nil {
		t.Fatal(err)
	}
	if n := br.Count(h.clock.Now()); n != 0 {
		t.Fatalf("the breaker counts %d actions after one not needed", n)
	}

	fc.set("sink", connect.StateRunning, failedTask("boom"))
	h.clock.Advance(time.Second) // well within the 10m cooldown
	next := h.clock.Now()
	h.notify(firing(next, taskAlert(next)...))
	recs := h.waitAudit(2)
	if r := recs[1]; r.Outcome != OutcomeSuccess {
		t.Fatalf("the failure after a not-needed restart: %+v", r)
	}
	if calls := fc.Calls(); len(calls) != 1 {
		t.Fatalf("calls: %v", calls)
	}
}
