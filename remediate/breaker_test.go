package remediate

import (
	"context"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

// heldConnect holds the status read of one connector until release is
// closed, as a slow Connect answer would.
type heldConnect struct {
	*fakeConnect
	hold    string
	reading chan struct{}
	release chan struct{}
}

func (c *heldConnect) Status(ctx context.Context, name string) (*connect.Status, error) {
	if name == c.hold {
		select {
		case c.reading <- struct{}{}:
		default:
		}
		<-c.release
	}
	return c.fakeConnect.Status(ctx, name)
}

// An action the live state finds not needed must not use up the
// circuit breaker while its status is read: another target's needed
// action, decided meanwhile, is suppressed by an attempt that is given
// back a moment later.
func TestAReservationGivenBackDoesNotSuppressANeededActionMeanwhile(t *testing.T) {
	fc := newFakeConnect()
	fc.set("healthy", connect.StateRunning, connect.TaskInfo{ID: 0, State: connect.StateRunning, WorkerID: "w1:8083"})
	fc.set("broken", connect.StateRunning, failedTask("boom"))
	hc := &heldConnect{fakeConnect: fc, hold: "healthy", reading: make(chan struct{}, 1), release: make(chan struct{})}
	h := newHarness(t, "\n  max_actions_per_hour: 1"+restartTaskRule, hc)
	start := h.clock.Now().Add(-time.Minute)
	h.notify(firing(start, "alertname", "CDCConnectorTaskFailed", "severity", "critical", "connector", "healthy", "task", "0"))
	select {
	case <-hc.reading:
	case <-time.After(30 * time.Second):
		t.Fatal("the healthy connector's status was never read")
	}
	h.notify(firing(start, "alertname", "CDCConnectorTaskFailed", "severity", "critical", "connector", "broken", "task", "0"))
	h.waitAudit(1)
	close(hc.release)
	recs := h.waitAudit(2)
	var broken *store.Record
	for i := range recs {
		if recs[i].Arguments["connector"] == "broken" {
			broken = &recs[i]
		}
	}
	if broken == nil || broken.Outcome != OutcomeSuccess {
		t.Fatalf("the broken connector's restart, decided while a not-needed one held the breaker: %+v (all: %v)", broken, outcomes(recs))
	}
}
