package remediate

import (
	"context"
	"errors"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
)

// unreachableConnect fails status reads while down is set, as a Connect
// worker restarting does.
type unreachableConnect struct {
	*fakeConnect
	down atomic.Bool
}

func (u *unreachableConnect) Status(ctx context.Context, name string) (*connect.Status, error) {
	if u.down.Load() {
		return nil, errors.New("dial tcp: connection refused")
	}
	return u.fakeConnect.Status(ctx, name)
}

// An on_resolved whose status read fails (Connect briefly unreachable)
// is requeued by the engine; the retry must resume the connector, not
// audit the requeued job as an interrupted send.
func TestOnResolvedRequeuedAfterConnectUnreachableStillResumes(t *testing.T) {
	fc := newFakeConnect()
	fc.set("sink", connect.StateRunning, connect.TaskInfo{ID: 0, State: connect.StateRunning})
	uc := &unreachableConnect{fakeConnect: fc}
	h := newHarness(t, dlqRule, uc)
	start := h.clock.Now().Add(-time.Minute)
	a := firing(start, "alertname", "CDCSinkDeadLetterQueueGrowing", "connector", "sink")
	h.notify(a)
	h.waitAudit(1)
	h.clock.Advance(5 * time.Minute)
	uc.down.Store(true)
	h.notify(resolved(a, h.clock.Now()))
	if r := h.waitAudit(2)[1]; r.Outcome != OutcomeFailure {
		t.Fatalf("the resume with Connect unreachable: %+v", r)
	}
	uc.down.Store(false)
	deadline := time.Now().Add(time.Minute)
	for {
		recs := h.waitAudit(3)
		last := recs[len(recs)-1]
		if last.Action == "resume_connector" && last.Outcome == OutcomeSuccess {
			break
		}
		if last.Outcome == OutcomeInterrupted || time.Now().After(deadline) {
			t.Fatalf("resume never retried: outcomes %v, last %+v", outcomes(recs), last)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if calls := fc.Calls(); !reflect.DeepEqual(calls, []string{"pause sink", "resume sink"}) {
		t.Fatalf("calls: %v", calls)
	}
}
