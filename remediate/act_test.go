package remediate

import (
	"context"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

// A process that dies while reading the live status has decided and
// recorded nothing: whoever takes the job next decides it afresh and
// acts once.
func TestDyingWhileReadingTheStatusIsDecidedAfresh(t *testing.T) {
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
	if r := h.waitAudit(1)[0]; r.Outcome != OutcomeSuccess || r.Decision != DecisionAct {
		t.Fatalf("audit record after dying mid-read: %+v", r)
	}
	h.notify(a) // Alertmanager's repeat of the same episode
	h.settle()
	if recs, _ := h.store.Audit(context.Background(), store.AuditQuery{Limit: 10}); len(recs) != 1 {
		t.Fatalf("audit after the repeat: %v", outcomes(recs))
	}
	if calls := fc.Calls(); len(calls) != 1 {
		t.Fatalf("sent %d times: %v", len(calls), calls)
	}
}

// An action the live status finds not needed counts no attempt: it
// neither starts a cooldown nor counts toward the circuit breaker, so a
// real failure right after is acted on.
func TestAnActionFoundNotNeededCountsNoAttempt(t *testing.T) {
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

// An alert's job reads the live status, then makes one call to the store
// (the admission: the attempt reserved and recorded as about to be sent),
// then sends: nothing else comes between the status the action was
// decided on and its send, and nothing reaches Connect before the job is
// claimed or after its outcome is recorded.
func TestAnAlertsJobIsAdmittedInOneStoreCallBetweenItsStatusAndItsSend(t *testing.T) {
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
	got := strings.Join(jl.calls, " ")
	want := regexp.MustCompile(`^store\.Claim store\.Job connect\.Status store\.Admit connect\.RestartTask( connect\.Status)+ store\.Finish$`)
	if !want.MatchString(got) {
		t.Fatalf("the job's calls: %s\nwant: %s", got, want)
	}
}
