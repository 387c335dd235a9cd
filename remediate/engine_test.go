package remediate

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

const restartTaskRule = `
  rules:
    - name: restart-failed-task
      match: ['alertname="CDCConnectorTaskFailed"', 'severity=~"critical|warning"']
      action: restart_task
      args: {connector: '{{ .Labels.connector }}', task: '{{ .Labels.task }}'}
      cooldown: 10m
      max_attempts: 3
`

func failedTask(trace string) connect.TaskInfo {
	return connect.TaskInfo{ID: 0, State: connect.StateFailed, WorkerID: "w1:8083", Trace: trace}
}

func taskAlert(start time.Time) []string {
	return []string{"alertname", "CDCConnectorTaskFailed", "severity", "critical", "connector", "sink", "task", "0"}
}

func TestDuplicatesOfOneEpisodeActOnce(t *testing.T) {
	fc := newFakeConnect()
	fc.set("sink", connect.StateRunning, failedTask("java.lang.RuntimeException: boom"))
	h := newHarness(t, restartTaskRule, fc)
	start := h.clock.Now().Add(-time.Minute)
	a := firing(start, taskAlert(start)...)
	for i := 0; i < 5; i++ { // repeats, group changes, an HA peer
		h.notify(a)
	}
	h.waitAudit(1)
	h.settle()
	recs := h.waitAudit(1)
	if len(recs) != 1 || recs[0].Outcome != OutcomeSuccess {
		t.Fatalf("records: %v", outcomes(recs))
	}
	if got := fc.Calls(); !reflect.DeepEqual(got, []string{"restart_task sink/0"}) {
		t.Fatalf("calls: %v", got)
	}
	r := recs[0]
	if r.Decision != DecisionAct || r.Target != "connect/main/sink/task/0" || r.Arguments["connector"] != "sink" ||
		r.Arguments["task"] != "0" || r.Arguments["connect_cluster"] != "main" || !strings.Contains(r.Detail, "RUNNING") {
		t.Errorf("record: %+v", r)
	}
	if got := testutil.ToFloat64(h.metrics.alertsReceived.WithLabelValues("firing")); got != 5 {
		t.Errorf("alerts received firing = %v, want 5", got)
	}
	if got := testutil.ToFloat64(h.metrics.actions.WithLabelValues("restart-failed-task", "restart_task", "success", "main", "sink", "")); got != 1 {
		t.Errorf("actions success on connector sink of cluster main = %v, want 1", got)
	}
}

func TestResolvedAlertNeverRunsTheFiringAction(t *testing.T) {
	fc := newFakeConnect()
	fc.set("sink", connect.StateRunning, failedTask("boom"))
	h := newHarness(t, restartTaskRule, fc)
	start := h.clock.Now().Add(-time.Hour)
	h.notify(resolved(firing(start, taskAlert(start)...), h.clock.Now().Add(-time.Minute)))
	h.settle()
	if calls := fc.Calls(); len(calls) != 0 {
		t.Fatalf("a resolved alert acted: %v", calls)
	}
	if recs, _ := h.store.Audit(context.Background(), store.AuditQuery{Limit: 10}); len(recs) != 0 {
		t.Fatalf("records: %v", outcomes(recs))
	}
	if got := testutil.ToFloat64(h.metrics.alertsReceived.WithLabelValues("resolved")); got != 1 {
		t.Errorf("alerts received resolved = %v", got)
	}
}

const dlqRule = `
  rules:
    - name: pause-on-dlq
      match: ['alertname="CDCSinkDeadLetterQueueGrowing"']
      action: pause_connector
      on_resolved: resume_connector
      cooldown: 1m
`

func TestDLQSpikePausesThenResumesWhenResolved(t *testing.T) {
	fc := newFakeConnect()
	fc.set("sink", connect.StateRunning, connect.TaskInfo{ID: 0, State: connect.StateRunning})
	h := newHarness(t, dlqRule, fc)
	start := h.clock.Now().Add(-time.Minute)
	a := firing(start, "alertname", "CDCSinkDeadLetterQueueGrowing", "connector", "sink")
	// The group also holds an alert no rule matches: handled on its own.
	other := firing(start, "alertname", "CDCSinkDeadLetterQueueGrowing", "connector", "sink", "extra", "x")
	_ = other
	h.notify(a)
	h.waitAudit(1)
	h.clock.Advance(5 * time.Minute)
	h.notify(resolved(a, h.clock.Now()))
	recs := h.waitAudit(2)
	want := []string{"pause-on-dlq:pause_connector:success", "pause-on-dlq:resume_connector:success"}
	if got := outcomes(recs); !reflect.DeepEqual(got, want) {
		t.Fatalf("outcomes %v, want %v", got, want)
	}
	if got := fc.Calls(); !reflect.DeepEqual(got, []string{"pause sink", "resume sink"}) {
		t.Fatalf("calls: %v", got)
	}
}

func TestOnResolvedLeavesAloneWhatThisEpisodeDidNotDo(t *testing.T) {
	fc := newFakeConnect()
	// Paused by an operator before the alert: the firing pause is
	// not_needed, so resolving must not resume it.
	fc.set("sink", connect.StatePaused, connect.TaskInfo{ID: 0, State: connect.StatePaused})
	h := newHarness(t, dlqRule, fc)
	start := h.clock.Now().Add(-time.Minute)
	a := firing(start, "alertname", "CDCSinkDeadLetterQueueGrowing", "connector", "sink")
	h.notify(a)
	h.waitAudit(1)
	h.clock.Advance(time.Minute)
	h.notify(resolved(a, h.clock.Now()))
	recs := h.waitAudit(2)
	want := []string{"pause-on-dlq:pause_connector:not_needed", "pause-on-dlq:resume_connector:not_needed"}
	if got := outcomes(recs); !reflect.DeepEqual(got, want) {
		t.Fatalf("outcomes %v, want %v", got, want)
	}
	if calls := fc.Calls(); len(calls) != 0 {
		t.Fatalf("calls: %v", calls)
	}
}

func TestFlappingAlertIsANewEpisodeUnderCooldownAndBackoff(t *testing.T) {
	fc := newFakeConnect()
	h := newHarness(t, "\n  healthy_reset: 30m"+restartTaskRule, fc)
	var want []string
	step := func(advance, age time.Duration, outcome string) {
		t.Helper()
		h.clock.Advance(advance)
		fc.set("sink", connect.StateRunning, failedTask("boom"))
		start := h.clock.Now().Add(-age) // a new startsAt: a new episode
		h.notify(firing(start, taskAlert(start)...))
		want = append(want, "restart-failed-task:restart_task:"+outcome)
		if got := outcomes(h.waitAudit(len(want))); !reflect.DeepEqual(got, want) {
			t.Fatalf("outcomes %v, want %v", got, want)
		}
	}
	step(0, 10*time.Second, OutcomeSuccess)
	step(time.Minute, 10*time.Second, OutcomeSuppressedCooldown) // inside the 10m cooldown
	step(10*time.Minute, 10*time.Second, OutcomeSuccess)         // second attempt (backoff after 1: 2m)
	step(11*time.Minute, 10*time.Second, OutcomeSuccess)         // third (backoff after 2: 6m)
	// Failed again a minute after the third restart (healthy for less
	// than healthy_reset), delivered an hour later: max_attempts 3.
	step(61*time.Minute, 60*time.Minute, OutcomeSuppressedMaxAttempts)
	// Healthy for 20 minutes before failing again: the count restarts.
	step(30*time.Minute, 10*time.Second, OutcomeSuccess)
	if n := len(fc.Calls()); n != 4 {
		t.Fatalf("%d restarts, want 4: %v", n, fc.Calls())
	}
}

func TestStaleAlertIsSuppressed(t *testing.T) {
	fc := newFakeConnect()
	fc.set("sink", connect.StateRunning, failedTask("boom"))
	h := newHarness(t, restartTaskRule, fc)
	start := h.clock.Now().Add(-7 * time.Hour) // max_alert_age defaults to 6h
	h.notify(firing(start, taskAlert(start)...))
	recs := h.waitAudit(1)
	if recs[0].Outcome != OutcomeSuppressedStale || !strings.Contains(recs[0].Detail, "max_alert_age 6h0m0s") {
		t.Fatalf("record: %+v", recs[0])
	}
	if len(fc.Calls()) != 0 {
		t.Fatal("acted on a stale alert")
	}
}

func TestLiveStateDecidesBeforeActing(t *testing.T) {
	jdbcMissingColumn := `org.apache.kafka.connect.errors.ConnectException: Exiting WorkerSinkTask due to unrecoverable exception.
	at org.apache.kafka.connect.runtime.WorkerSinkTask.deliverMessages(WorkerSinkTask.java:636)
Caused by: org.apache.kafka.connect.errors.ConnectException: JDBC sink connector failure
	at io.debezium.connector.jdbc.JdbcSinkConnectorTask.put(JdbcSinkConnectorTask.java:121)
Caused by: org.postgresql.util.PSQLException: ERROR: column "loyalty_tier" of relation "customers" does not exist
  Position: 45`
	cases := []struct {
		name    string
		task    connect.TaskInfo
		outcome string
		calls   int
	}{
		{"running again", connect.TaskInfo{ID: 0, State: connect.StateRunning}, OutcomeNotNeeded, 0},
		{"missing column", failedTask(jdbcMissingColumn), OutcomeNotRetryable, 0},
		{"transient", failedTask("org.apache.kafka.connect.errors.ConnectException: java.net.SocketTimeoutException: connect timed out"), OutcomeSuccess, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fc := newFakeConnect()
			fc.set("sink", connect.StateRunning, c.task)
			h := newHarness(t, restartTaskRule, fc)
			start := h.clock.Now().Add(-time.Minute)
			h.notify(firing(start, taskAlert(start)...))
			recs := h.waitAudit(1)
			if recs[0].Outcome != c.outcome || len(fc.Calls()) != c.calls {
				t.Fatalf("outcome %s (%s), calls %v; want %s, %d", recs[0].Outcome, recs[0].Detail, fc.Calls(), c.outcome, c.calls)
			}
			if c.outcome == OutcomeNotRetryable && !strings.Contains(recs[0].Detail, `column "loyalty_tier" of relation "customers" does not exist`) {
				t.Errorf("detail does not name the cause: %s", recs[0].Detail)
			}
		})
	}
}

func TestMissingArgumentsAreInvalidArgs(t *testing.T) {
	fc := newFakeConnect()
	h := newHarness(t, restartTaskRule, fc)
	start := h.clock.Now().Add(-time.Minute)
	h.notify(firing(start, "alertname", "CDCConnectorTaskFailed", "severity", "warning", "connector", "sink"))
	recs := h.waitAudit(1)
	if recs[0].Outcome != OutcomeInvalidArgs || !strings.Contains(recs[0].Error, "no task") {
		t.Fatalf("record: %+v", recs[0])
	}
}

func TestVerificationFailureIsRecorded(t *testing.T) {
	fc := newFakeConnect()
	fc.stayFailed = true
	fc.set("sink", connect.StateRunning, failedTask("boom"))
	h := newHarness(t, restartTaskRule, fc)
	start := h.clock.Now().Add(-time.Minute)
	h.notify(firing(start, taskAlert(start)...))
	recs := h.waitAudit(1)
	if recs[0].Outcome != OutcomeFailure || !strings.Contains(recs[0].Error, "not reached within 2s: wanted task 0 RUNNING, but task 0 is FAILED") {
		t.Fatalf("record: %+v", recs[0])
	}
}

func TestCircuitBreakerStopsAllActions(t *testing.T) {
	fc := newFakeConnect()
	h := newHarness(t, `
  max_actions_per_hour: 2
`+restartTaskRule[1:], fc)
	for i := 0; i < 3; i++ {
		name := []string{"a", "b", "c"}[i]
		fc.set(name, connect.StateRunning, failedTask("boom"))
		start := h.clock.Now().Add(-time.Minute)
		h.notify(firing(start, "alertname", "CDCConnectorTaskFailed", "severity", "critical", "connector", name, "task", "0"))
		h.waitAudit(i + 1)
	}
	recs := h.waitAudit(3)
	if recs[2].Outcome != OutcomeSuppressedCircuitOpen {
		t.Fatalf("outcomes: %v", outcomes(recs))
	}
	if open, err := h.eng.CircuitOpen(context.Background()); err != nil || !open {
		t.Fatalf("circuit open = %v, %v; want open", open, err)
	}
	// The hour passes: the breaker closes by itself, with no action and
	// no timer, as the next scrape reads it.
	h.clock.Advance(61 * time.Minute)
	if open, err := h.eng.CircuitOpen(context.Background()); err != nil || open {
		t.Fatalf("circuit open = %v, %v an hour later; want closed", open, err)
	}
}

func TestDryRunRecordsWhatWouldBeDone(t *testing.T) {
	fc := newFakeConnect()
	fc.set("sink", connect.StateRunning, failedTask("boom"))
	h := newHarness(t, "\n  dry_run: true"+restartTaskRule, fc)
	start := h.clock.Now().Add(-time.Minute)
	h.notify(firing(start, taskAlert(start)...))
	recs := h.waitAudit(1)
	r := recs[0]
	if r.Outcome != OutcomeDryRun || !r.DryRun || r.Decision != DecisionDryRun ||
		r.Detail != "dry run: would restart task 0 of sink on main" || r.Arguments["task"] != "0" {
		t.Fatalf("record: %+v", r)
	}
	if len(fc.Calls()) != 0 {
		t.Fatalf("dry run acted: %v", fc.Calls())
	}
}

func TestQueuedAlertsSurviveARestart(t *testing.T) {
	fc := newFakeConnect()
	fc.set("sink", connect.StateRunning, failedTask("boom"))
	h := newHarness(t, restartTaskRule, fc)
	start := h.clock.Now().Add(-time.Minute)
	a := firing(start, taskAlert(start)...)
	h.notify(a)
	h.waitAudit(1)
	h.stop() // process exit
	h.start()
	fc.set("sink", connect.StateRunning, failedTask("boom")) // failed again, same episode
	h.notify(a)                                              // Alertmanager's repeat
	h.settle()
	if got := fc.Calls(); len(got) != 1 {
		t.Fatalf("acted again on the same episode after a restart: %v", got)
	}

	// A job recorded but not yet run when the process died runs after
	// the restart.
	h.stop()
	s, err := store.OpenBolt(h.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	start2 := h.clock.Now().Add(-5 * time.Second)
	a2 := firing(start2, "alertname", "CDCConnectorTaskFailed", "severity", "critical", "connector", "sink", "task", "0", "pod", "x")
	job := &store.Job{Key: store.JobKey(a2.Fingerprint().String(), start2, "restart-failed-task", store.PhaseFiring), Fingerprint: a2.Fingerprint().String(),
		StartsAt: start2, Labels: map[string]string{"alertname": "CDCConnectorTaskFailed", "connector": "sink", "task": "0"},
		Rule: "restart-failed-task", Phase: store.PhaseFiring, ReceivedAt: h.clock.Now()}
	if _, err := s.Enqueue(context.Background(), []*store.Job{job}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(context.Background(), "dead-process", 1, h.clock.Now(), time.Hour); err != nil {
		t.Fatal(err)
	}
	s.Close()
	h.clock.Advance(11 * time.Minute) // past the cooldown
	h.start()
	recs := h.waitAudit(2)
	if recs[1].Outcome != OutcomeSuccess || len(fc.Calls()) != 2 {
		t.Fatalf("claimed-but-unrun job after restart: %v, calls %v", outcomes(recs), fc.Calls())
	}
}
