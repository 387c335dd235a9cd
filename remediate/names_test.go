package remediate

import (
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
)

// Alert labels naming a connector Connect cannot have are invalid_args
// and never reach Connect, whether a template or the label itself gives
// the argument.
func TestConnectorNamesConnectCannotHaveAreInvalidArgs(t *testing.T) {
	for _, rules := range []struct{ name, yaml, alertname string }{
		{"templated", restartTaskRule, "CDCConnectorTaskFailed"},
		{"from the label", dlqRule, "CDCSinkDeadLetterQueueGrowing"},
	} {
		for _, name := range []string{"..", ".", "a/b", "../pause", "sink\x01", "si\u0085nk", "\x7f"} {
			t.Run(rules.name+"/"+name, func(t *testing.T) {
				fc := newFakeConnect()
				// A connector by that name looks FAILED, so only the
				// name check can stop the action.
				fc.set(name, connect.StateRunning, failedTask("boom"))
				h := newHarness(t, rules.yaml, fc)
				start := h.clock.Now().Add(-time.Minute)
				h.notify(firing(start, "alertname", rules.alertname, "severity", "critical", "connector", name, "task", "0"))
				recs := h.waitAudit(1)
				r := recs[0]
				if r.Outcome != OutcomeInvalidArgs || !strings.Contains(r.Error, "connector name") {
					t.Fatalf("record: outcome %s, error %q", r.Outcome, r.Error)
				}
				if calls := fc.Calls(); len(calls) != 0 {
					t.Fatalf("reached Connect: %v", calls)
				}
			})
		}
	}
}
