package remediate

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

func TestBelievedTimeClampsWhatCannotHaveHappened(t *testing.T) {
	received := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name    string
		sent    time.Time
		want    time.Time
		clamped bool
	}{
		{"a second ago", received.Add(-time.Second), received.Add(-time.Second), false},
		{"within the clock skew ahead", received.Add(maxClockSkew), received.Add(maxClockSkew), false},
		{"20 minutes ahead", received.Add(20 * time.Minute), received, true},
		{"10 years ahead", received.AddDate(10, 0, 0), received, true},
		{"a week ago", received.AddDate(0, 0, -7), received.AddDate(0, 0, -7), false},
		{"10 years ago", received.AddDate(-10, 0, 0), received.Add(-store.Retention), true},
		{"year 1", time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC), received.Add(-store.Retention), true},
		{"unset", time.Time{}, time.Time{}, false},
	} {
		got, clamped := believedTime(c.sent, received)
		if !got.Equal(c.want) || clamped != c.clamped {
			t.Errorf("%s: believed %s (clamped %t), want %s (clamped %t)", c.name, got, clamped, c.want, c.clamped)
		}
	}
}

// syncBuffer is a log sink the engine's goroutines may write to while a
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

const twoAttemptsRule = `
  healthy_reset: 30m
  rules:
    - name: restart-failed-task
      match: ['alertname="CDCConnectorTaskFailed"']
      action: restart_task
      args: {connector: '{{ .Labels.connector }}', task: '{{ .Labels.task }}'}
      cooldown: 1m
      max_attempts: 2
`

// A startsAt 20 minutes ahead would make the target look healthy for
// longer than healthy_reset and restart its attempt count: a third
// restart where max_attempts is two. Believed as the receipt, it does not.
func TestAStartsAtInTheFutureDoesNotResetTheAttemptCount(t *testing.T) {
	fc := newFakeConnect()
	logs := &syncBuffer{}
	h := newHarnessWith(t, twoAttemptsRule, fc, func(h *harness) {
		h.logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	var want []string
	episode := func(advance, startOffset time.Duration, outcome string) {
		t.Helper()
		h.clock.Advance(advance)
		fc.set("sink", connect.StateRunning, failedTask("boom"))
		start := h.clock.Now().Add(startOffset)
		h.notify(firing(start, taskAlert(start)...))
		want = append(want, "restart-failed-task:restart_task:"+outcome)
		if got := outcomes(h.waitAudit(len(want))); !reflect.DeepEqual(got, want) {
			t.Fatalf("outcomes %v, want %v", got, want)
		}
	}
	episode(0, -10*time.Second, OutcomeSuccess)
	episode(10*time.Minute, -10*time.Second, OutcomeSuccess)
	episode(11*time.Minute, 20*time.Minute, OutcomeSuppressedMaxAttempts)
	if n := len(fc.Calls()); n != 2 {
		t.Fatalf("%d restarts with max_attempts 2: %v", n, fc.Calls())
	}
	if !strings.Contains(logs.String(), "alert time not believed") || !strings.Contains(logs.String(), "field=startsAt") {
		t.Fatalf("no warning about the future startsAt in the log:\n%s", logs)
	}
}

// A resolved alert whose endsAt is ten years ahead would mark its target
// healthy since then, so a later episode never counts as after a healthy
// spell and max_attempts suppresses the target for ten years. Believed as
// the receipt, the target is healthy from then, and once healthy_reset
// has passed the count starts again.
func TestAnEndsAtYearsAheadDoesNotSuppressTheTargetForEver(t *testing.T) {
	fc := newFakeConnect()
	h := newHarness(t, strings.Replace(twoAttemptsRule, "max_attempts: 2", "max_attempts: 1", 1), fc)
	fc.set("sink", connect.StateRunning, failedTask("boom"))
	start := h.clock.Now().Add(-10 * time.Second)
	h.notify(firing(start, taskAlert(start)...))
	h.waitAudit(1)

	// Alertmanager never sends this (it calls an alert whose endsAt is
	// ahead firing), so it is posted as anyone on the network could.
	h.clock.Advance(time.Minute)
	body := fmt.Sprintf(`{"version":"4","status":"resolved","alerts":[{"status":"resolved","labels":{"alertname":"CDCConnectorTaskFailed","severity":"critical","connector":"sink","task":"0"},"startsAt":%q,"endsAt":%q}]}`,
		start.Format(time.RFC3339Nano), h.clock.Now().AddDate(10, 0, 0).Format(time.RFC3339Nano))
	if code := call(t, http.MethodPost, h.srv.URL+"/alerts", body); code != http.StatusOK {
		t.Fatalf("POST the resolved alert: %d", code)
	}
	h.settle()

	h.clock.Advance(2 * time.Hour)
	fc.set("sink", connect.StateRunning, failedTask("boom"))
	start = h.clock.Now().Add(-10 * time.Second)
	h.notify(firing(start, taskAlert(start)...))
	want := []string{"restart-failed-task:restart_task:success", "restart-failed-task:restart_task:success"}
	if got := outcomes(h.waitAudit(2)); !reflect.DeepEqual(got, want) {
		t.Fatalf("outcomes %v, want %v: the endsAt years ahead still suppresses the target", got, want)
	}
}
