package remediate

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
)

func pauseRule(beforeDataLoss string) string {
	r := `
  rules:
    - name: pause-on-dlq
      match: ['alertname="CDCDeadLetterQueueSpike"']
      action: pause_connector
      on_resolved: resume_connector
`
	if beforeDataLoss != "" {
		r += "      before_data_loss: " + beforeDataLoss + "\n"
	}
	return r
}

func imminent(start time.Time, connector string) []string {
	return []string{"alertname", "CDCDataLossImminent", "stage", "sink", "connect_cluster", "main", "connector", connector, "topic", "sql.dbo.orders"}
}

func TestAPauseIsResumedBeforeItsTopicDeletesWhatTheSinkHasNotConsumed(t *testing.T) {
	fc := newFakeConnect()
	fc.set("sink", connect.StateRunning, connect.TaskInfo{ID: 0, State: connect.StateRunning})
	h := newHarness(t, pauseRule(""), fc) // resume is the default
	start := h.clock.Now().Add(-time.Hour)
	h.notify(firing(start, "alertname", "CDCDeadLetterQueueSpike", "connector", "sink"))
	h.waitAudit(1)
	h.clock.Advance(50 * time.Minute)
	h.notify(firing(h.clock.Now(), imminent(h.clock.Now(), "sink")...))
	recs := h.waitAudit(2)
	want := []string{"pause-on-dlq:pause_connector:success", "pause-on-dlq/before-data-loss:resume_connector:success"}
	if got := outcomes(recs); !reflect.DeepEqual(got, want) {
		t.Fatalf("outcomes %v, want %v", got, want)
	}
	if got := fc.Calls(); !reflect.DeepEqual(got, []string{"pause sink", "resume sink"}) {
		t.Fatalf("calls: %v", got)
	}
}

func TestAPauseRuleThatEscalatesKeepsTheConnectorPausedAndSaysSoLoudly(t *testing.T) {
	fc := newFakeConnect()
	fc.set("sink", connect.StateRunning, connect.TaskInfo{ID: 0, State: connect.StateRunning})
	h := newHarness(t, pauseRule("escalate"), fc)
	h.notify(firing(h.clock.Now().Add(-time.Hour), "alertname", "CDCDeadLetterQueueSpike", "connector", "sink"))
	h.waitAudit(1)
	h.notify(firing(h.clock.Now(), imminent(h.clock.Now(), "sink")...))
	recs := h.waitAudit(2)
	want := []string{"pause-on-dlq:pause_connector:success", "pause-on-dlq/before-data-loss:resume_connector:escalated"}
	if got := outcomes(recs); !reflect.DeepEqual(got, want) {
		t.Fatalf("outcomes %v, want %v", got, want)
	}
	if got := fc.Calls(); !reflect.DeepEqual(got, []string{"pause sink"}) {
		t.Fatalf("calls: %v (must stay paused)", got)
	}
	var esc string
	for _, r := range recs {
		if r.Outcome == OutcomeEscalated {
			esc = r.Detail
		}
	}
	if !strings.Contains(esc, "keeps connector sink paused") {
		t.Fatalf("escalation detail %q does not say what is held", esc)
	}
}

func TestAConnectorPausedByHandIsNotResumedBeforeDataLoss(t *testing.T) {
	fc := newFakeConnect()
	fc.set("sink", connect.StatePaused, connect.TaskInfo{ID: 0, State: connect.StatePaused})
	h := newHarness(t, pauseRule("resume"), fc)
	h.notify(firing(h.clock.Now(), imminent(h.clock.Now(), "sink")...))
	rec := h.waitAudit(1)[0]
	if rec.Outcome != OutcomeNotNeeded || !strings.Contains(rec.Detail, "does not hold connector sink paused") || len(fc.Calls()) != 0 {
		t.Fatalf("outcome %s detail %q calls %v; want not_needed and no call", rec.Outcome, rec.Detail, fc.Calls())
	}
}

func TestAPauseAlreadyUndoneIsNotResumedAgain(t *testing.T) {
	fc := newFakeConnect()
	fc.set("sink", connect.StateRunning, connect.TaskInfo{ID: 0, State: connect.StateRunning})
	h := newHarness(t, pauseRule("resume"), fc)
	a := firing(h.clock.Now().Add(-time.Hour), "alertname", "CDCDeadLetterQueueSpike", "connector", "sink")
	h.notify(a)
	h.waitAudit(1)
	h.clock.Advance(time.Minute)
	h.notify(resolved(a, h.clock.Now()))
	h.waitAudit(2)
	// Then paused by hand: the rule's pause is over, the hand's stays.
	fc.set("sink", connect.StatePaused, connect.TaskInfo{ID: 0, State: connect.StatePaused})
	h.notify(firing(h.clock.Now(), imminent(h.clock.Now(), "sink")...))
	recs := h.waitAudit(3)
	if got := outcomes(recs)[2]; got != "pause-on-dlq/before-data-loss:resume_connector:not_needed" {
		t.Fatalf("third decision %s, want not_needed (outcomes %v)", got, outcomes(recs))
	}
	if got := fc.Calls(); !reflect.DeepEqual(got, []string{"pause sink", "resume sink"}) {
		t.Fatalf("calls: %v", got)
	}
}
