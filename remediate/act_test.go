package remediate

import (
	"context"
	"runtime"
	"strings"
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

// journal lists, in order, the calls an alert's job makes across the
// store and Connect.
type journal struct {
	mu    sync.Mutex
	calls []string
}

func (j *journal) add(call string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.calls = append(j.calls, call)
}

// runs is the journal with consecutive calls into the same package
// merged: the packages in the order the job entered them.
func (j *journal) runs() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []string
	for _, c := range j.calls {
		pkg, _, _ := strings.Cut(c, ".")
		if len(out) == 0 || out[len(out)-1] != pkg {
			out = append(out, pkg)
		}
	}
	return out
}

type journalStore struct {
	store.Store
	j *journal
}

func (s journalStore) Claim(ctx context.Context, owner string, n int, now time.Time, lease time.Duration) ([]*store.Job, error) {
	jobs, err := s.Store.Claim(ctx, owner, n, now, lease)
	if len(jobs) > 0 {
		s.j.add("store.Claim")
	}
	return jobs, err
}

func (s journalStore) Job(ctx context.Context, key string) (*store.Job, error) {
	s.j.add("store.Job")
	return s.Store.Job(ctx, key)
}

func (s journalStore) Admit(ctx context.Context, j *store.Job, rec *store.Record, bk, tk string, fn func(*store.Breaker, *store.TargetState) bool) (bool, error) {
	s.j.add("store.Admit")
	return s.Store.Admit(ctx, j, rec, bk, tk, fn)
}

func (s journalStore) Safety(ctx context.Context, bk, tk string, fn func(*store.Breaker, *store.TargetState) error) error {
	s.j.add("store.Safety")
	return s.Store.Safety(ctx, bk, tk, fn)
}

func (s journalStore) Finish(ctx context.Context, j *store.Job, rec *store.Record) error {
	s.j.add("store.Finish")
	return s.Store.Finish(ctx, j, rec)
}

type journalConnect struct {
	*fakeConnect
	j *journal
}

func (c journalConnect) Status(ctx context.Context, name string) (*connect.Status, error) {
	c.j.add("connect.Status")
	return c.fakeConnect.Status(ctx, name)
}

func (c journalConnect) RestartTask(ctx context.Context, name string, task int) error {
	c.j.add("connect.RestartTask")
	return c.fakeConnect.RestartTask(ctx, name, task)
}

// An alert's job goes straight down: the store (the claim, the episode's
// other phase, and the admission that reserves the attempt and records it
// as about to be sent), then Connect (the live status, the restart, the
// verifying reads), then the store once more for the outcome. Nothing
// returns to the store between reading the status and sending the
// action, so the send acts on the status just read.
func TestAnAlertsJobEntersTheStoreThenConnectOnce(t *testing.T) {
	jl := &journal{}
	fc := newFakeConnect()
	fc.set("sink", connect.StateRunning, failedTask("boom"))
	h := newHarness(t, restartTaskRule, journalConnect{fc, jl})
	h.stop()
	s, err := store.OpenBolt(h.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	h.store = journalStore{s, jl}
	h.start()
	start := h.clock.Now().Add(-time.Minute)
	h.notify(firing(start, taskAlert(start)...))
	if r := h.waitAudit(1)[0]; r.Outcome != OutcomeSuccess {
		t.Fatalf("record: %+v", r)
	}
	if got, want := strings.Join(jl.runs(), " → "), "store → connect → store"; got != want {
		t.Fatalf("the job entered %s, want %s; calls: %v", got, want, jl.calls)
	}
	if jl.calls[0] != "store.Claim" || jl.calls[len(jl.calls)-1] != "store.Finish" {
		t.Fatalf("calls: %v", jl.calls)
	}
}
