package remediate

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/alert"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

// jobOf is the job Receive would queue for an alert, rule and phase.
func jobOf(a *alert.Alert, rule, phase string, receivedAt time.Time) *store.Job {
	labels := map[string]string{}
	for k, v := range a.Labels {
		labels[string(k)] = string(v)
	}
	return &store.Job{
		Key:         store.JobKey(a.Fingerprint().String(), a.StartsAt, rule, phase),
		Fingerprint: a.Fingerprint().String(), StartsAt: a.StartsAt, EndsAt: a.EndsAt,
		Labels: labels, Rule: rule, Phase: phase, ReceivedAt: receivedAt,
	}
}

// queueWhileDown stops the harness's process, queues jobs straight into
// its store as a receiver would have, and reopens the store for start.
func (h *harness) queueWhileDown(jobs ...*store.Job) *store.BoltStore {
	h.t.Helper()
	h.stop()
	s, err := store.OpenBolt(h.dbPath)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := s.Enqueue(context.Background(), jobs); err != nil {
		h.t.Fatal(err)
	}
	h.store, h.ownStore = s, true
	return s
}

func TestFiringAndResolvedInOneBatchDoNotAct(t *testing.T) {
	fc := newFakeConnect()
	fc.set("sink", connect.StateRunning, connect.TaskInfo{ID: 0, State: connect.StateRunning})
	h := newHarness(t, dlqRule, fc)
	start := h.clock.Now().Add(-5 * time.Minute)
	a := firing(start, "alertname", "CDCSinkDeadLetterQueueGrowing", "connector", "sink")
	end := h.clock.Now().Add(-time.Minute)
	// Both phases arrived while the workers were down (a backlog, a
	// restart): the spike is over, so nothing is paused.
	h.queueWhileDown(
		jobOf(a, "pause-on-dlq", store.PhaseFiring, start),
		jobOf(resolved(a, end), "pause-on-dlq", store.PhaseResolved, end),
	)
	h.start()
	recs := h.waitAudit(2)
	h.settle()
	byPhase := map[string]store.Record{}
	for _, r := range recs {
		byPhase[r.Phase] = r
	}
	if f := byPhase[store.PhaseFiring]; f.Outcome != OutcomeNotNeeded || f.Detail != "alert already resolved" {
		t.Fatalf("firing record: %+v", f)
	}
	if r := byPhase[store.PhaseResolved]; r.Outcome != OutcomeNotNeeded {
		t.Fatalf("resolved record: %+v", r)
	}
	if calls := fc.Calls(); len(calls) != 0 {
		t.Fatalf("acted on a resolved alert: %v", calls)
	}
}

func TestResolvedWaitsForTheFiringActionStillRunning(t *testing.T) {
	fc := newFakeConnect()
	fc.set("sink", connect.StateRunning, connect.TaskInfo{ID: 0, State: connect.StateRunning})
	h := newHarness(t, dlqRule, fc)
	start := h.clock.Now().Add(-5 * time.Minute)
	a := firing(start, "alertname", "CDCSinkDeadLetterQueueGrowing", "connector", "sink")
	fj := jobOf(a, "pause-on-dlq", store.PhaseFiring, start)
	s := h.queueWhileDown(fj)
	// Another worker holds the firing job, mid-pause, when the resolved
	// notification is taken.
	claimed, err := s.Claim(context.Background(), "other-worker", 1, h.clock.Now(), time.Hour)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	end := h.clock.Now()
	if _, err := s.Enqueue(context.Background(), []*store.Job{jobOf(resolved(a, end), "pause-on-dlq", store.PhaseResolved, end)}); err != nil {
		t.Fatal(err)
	}
	h.start()
	// Wait until the engine has taken the resolved job and put it back:
	// only then does an empty audit trail show it waited.
	rkey := store.JobKey(fj.Fingerprint, fj.StartsAt, fj.Rule, store.PhaseResolved)
	deadline := time.Now().Add(10 * time.Second)
	for {
		rj, err := s.Job(context.Background(), rkey)
		if err != nil {
			t.Fatal(err)
		}
		if rj != nil && (rj.Requeues > 0 || (rj.State == store.StateDone && rj.Retry)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the resolved job was never taken: %+v", rj)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if recs, _ := s.Audit(context.Background(), store.AuditQuery{Limit: 10}); len(recs) != 0 {
		t.Fatalf("decided the resolved alert before the firing action finished: %v", outcomes(recs))
	}
	// The other worker's pause succeeds.
	fc.set("sink", connect.StatePaused, connect.TaskInfo{ID: 0, State: connect.StatePaused})
	done := claimed[0]
	done.Outcome, done.FinishedAt = OutcomeSuccess, h.clock.Now()
	if err := s.Finish(context.Background(), done, nil); err != nil {
		t.Fatal(err)
	}
	recs := h.waitAudit(1)
	if got := outcomes(recs); !reflect.DeepEqual(got, []string{"pause-on-dlq:resume_connector:success"}) {
		t.Fatalf("outcomes %v", got)
	}
	if calls := fc.Calls(); !reflect.DeepEqual(calls, []string{"resume sink"}) {
		t.Fatalf("calls: %v", calls)
	}
}

func TestStaleIsMeasuredWhenTheJobRunsNotWhenItWasReceived(t *testing.T) {
	fc := newFakeConnect()
	fc.set("sink", connect.StateRunning, failedTask("boom"))
	h := newHarness(t, restartTaskRule, fc)
	start := h.clock.Now().Add(-time.Minute)
	a := firing(start, taskAlert(start)...)
	h.queueWhileDown(jobOf(a, "restart-failed-task", store.PhaseFiring, h.clock.Now()))
	h.clock.Advance(7 * time.Hour) // the process stayed down
	h.start()
	recs := h.waitAudit(1)
	if recs[0].Outcome != OutcomeSuppressedStale {
		t.Fatalf("a job queued before 7h of downtime: %+v", recs[0])
	}
	if len(fc.Calls()) != 0 {
		t.Fatalf("acted on a stale alert: %v", fc.Calls())
	}
}

func TestSuppressedOnResolvedIsRetriedByTheEngine(t *testing.T) {
	fc := newFakeConnect()
	fc.set("sink", connect.StateRunning, connect.TaskInfo{ID: 0, State: connect.StateRunning})
	h := newHarness(t, "\n  max_actions_per_hour: 1"+dlqRule, fc)
	start := h.clock.Now().Add(-time.Minute)
	a := firing(start, "alertname", "CDCSinkDeadLetterQueueGrowing", "connector", "sink")
	h.notify(a)
	h.waitAudit(1)
	h.clock.Advance(5 * time.Minute)
	h.notify(resolved(a, h.clock.Now())) // sent once
	recs := h.waitAudit(2)
	if recs[1].Outcome != OutcomeSuppressedCircuitOpen || !strings.Contains(recs[1].Detail, "retrying in") {
		t.Fatalf("resume under an open circuit: %+v", recs[1])
	}
	// The hour passes; no notification comes, the engine's own retry
	// resumes the connector.
	h.clock.Advance(61 * time.Minute)
	deadline := time.Now().Add(10 * time.Second)
	for {
		recs = h.waitAudit(2)
		if last := recs[len(recs)-1]; last.Outcome == OutcomeSuccess && last.Action == "resume_connector" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("resume never retried: %v", outcomes(recs))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if calls := fc.Calls(); !reflect.DeepEqual(calls, []string{"pause sink", "resume sink"}) {
		t.Fatalf("calls: %v", calls)
	}
}
