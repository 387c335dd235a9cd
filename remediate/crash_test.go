package remediate

import (
	"context"
	"database/sql"
	"runtime"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

// dieAfterSend is an afterSend hook that ends the worker right after the
// action went out, as kill -9 would: nothing after the send runs, and the
// outcome is never recorded. sent is closed when it happens.
func dieAfterSend(sent chan struct{}) func(*store.Job) {
	return func(*store.Job) {
		close(sent)
		runtime.Goexit()
	}
}

func waitSent(t *testing.T, sent chan struct{}) {
	t.Helper()
	select {
	case <-sent:
	case <-time.After(30 * time.Second):
		t.Fatal("the action was never sent")
	}
}

// checkInterruptedOnce checks the promise across a crash after the send:
// one action, audited once as interrupted, not repeated when Alertmanager
// sends the episode again.
func checkInterruptedOnce(t *testing.T, h *harness, fc *fakeConnect, a func()) {
	t.Helper()
	recs := h.waitAudit(1)
	r := recs[0]
	if r.Outcome != OutcomeInterrupted || r.Decision != DecisionAct || r.Action != "restart_task" || r.Target == "" {
		t.Fatalf("audit record after the crash: %+v", r)
	}
	a() // Alertmanager's repeat of the same episode
	h.settle()
	if recs, _ := h.store.Audit(context.Background(), store.AuditQuery{Limit: 10}); len(recs) != 1 {
		t.Fatalf("audit after the repeat: %v", outcomes(recs))
	}
	if calls := fc.Calls(); len(calls) != 1 {
		t.Fatalf("the action was sent %d times: %v", len(calls), calls)
	}
}

func TestCrashAfterSendingIsInterruptedNotRepeatedBolt(t *testing.T) {
	fc := newFakeConnect()
	fc.stayFailed = true // a second restart would look just as needed
	fc.set("sink", connect.StateRunning, failedTask("boom"))
	h := newHarness(t, restartTaskRule, fc)
	h.stop()
	sent := make(chan struct{})
	h.afterSend = dieAfterSend(sent)
	h.start()
	start := h.clock.Now().Add(-time.Minute)
	a := firing(start, taskAlert(start)...)
	h.notify(a)
	waitSent(t, sent)

	// The process is gone; a new one starts on the same files.
	h.stop()
	h.afterSend = nil
	h.start()
	checkInterruptedOnce(t, h, fc, func() { h.notify(a) })

	// The interrupted action counted as an attempt: the next episode,
	// within the cooldown, is suppressed.
	next := h.clock.Now().Add(time.Second)
	h.clock.Advance(2 * time.Second)
	h.notify(firing(next, taskAlert(next)...))
	recs := h.waitAudit(2)
	if recs[1].Outcome != OutcomeSuppressedCooldown {
		t.Fatalf("the next episode within the cooldown: %+v", recs[1])
	}
	if calls := fc.Calls(); len(calls) != 1 {
		t.Fatalf("calls: %v", calls)
	}
}

// Two replicas on one PostgreSQL store: the one that sent dies, and the
// survivor takes the job when its lease has run out.
func TestCrashAfterSendingIsInterruptedNotRepeatedPostgres(t *testing.T) {
	dsn := testenv.TempDatabase(t, "rem_crash")
	fc := newFakeConnect()
	fc.stayFailed = true
	fc.set("sink", connect.StateRunning, failedTask("boom"))
	replica := func(afterSend func(*store.Job)) *harness {
		s, err := store.OpenPostgres(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		h := &harness{t: t, cfg: parseConfig(t, restartTaskRule), conn: fc, store: s, clusterName: "main",
			clock: &clock{now: time.Now().Add(-24 * time.Hour)}, afterSend: afterSend}
		h.metrics, _ = NewMetrics(nil)
		h.start()
		t.Cleanup(h.stop)
		return h
	}
	sent := make(chan struct{})
	dying := replica(dieAfterSend(sent))
	start := dying.clock.Now().Add(-time.Minute)
	a := firing(start, taskAlert(start)...)
	dying.notify(a)
	waitSent(t, sent)
	dying.stop()

	// Its lease runs out (made to, on the database's clock), and the
	// other replica takes the job.
	expireLeases(t, dsn)
	survivor := replica(nil)
	checkInterruptedOnce(t, survivor, fc, func() { survivor.notify(a) })
}

// expireLeases makes every lease on the PostgreSQL store at dsn run out
// now, as waiting for it would, without racing the wall clock.
func expireLeases(t *testing.T, dsn string) {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), `UPDATE cdc_sentinel_remediation_jobs
		SET lease_until = now() - interval '1 second' WHERE state = 'running'`); err != nil {
		t.Fatal(err)
	}
}

// A firing action interrupted after its send may have taken effect: the
// episode's on_resolved still follows it (a pause is undone).
func TestOnResolvedFollowsAnInterruptedFiringAction(t *testing.T) {
	fc := newFakeConnect()
	fc.set("sink", connect.StateRunning, connect.TaskInfo{ID: 0, State: connect.StateRunning})
	h := newHarness(t, dlqRule, fc)
	h.stop()
	sent := make(chan struct{})
	h.afterSend = dieAfterSend(sent)
	h.start()
	start := h.clock.Now().Add(-time.Minute)
	a := firing(start, "alertname", "CDCSinkDeadLetterQueueGrowing", "connector", "sink")
	h.notify(a)
	waitSent(t, sent)
	h.stop()
	h.afterSend = nil
	h.start()
	if recs := h.waitAudit(1); recs[0].Outcome != OutcomeInterrupted {
		t.Fatalf("after the crash: %v", outcomes(recs))
	}
	h.clock.Advance(5 * time.Minute)
	h.notify(resolved(a, h.clock.Now()))
	recs := h.waitAudit(2)
	if got := outcomes(recs); got[1] != "pause-on-dlq:resume_connector:success" {
		t.Fatalf("outcomes %v", got)
	}
	if calls := fc.Calls(); len(calls) != 2 || calls[0] != "pause sink" || calls[1] != "resume sink" {
		t.Fatalf("calls: %v", calls)
	}
}
