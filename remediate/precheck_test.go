package remediate

import (
	"strings"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
)

// Whether a connector restart can help, from the live status: every
// branch of the decision, which the engine tests reach only in part.
func TestConnectorRestartNeeded(t *testing.T) {
	const (
		missingColumn = `org.apache.kafka.connect.errors.ConnectException: column "x" does not exist`
		transient     = "java.net.SocketTimeoutException: Read timed out"
	)
	status := func(conn string, tasks ...connect.TaskInfo) *connect.Status {
		return &connect.Status{Name: "s", Connector: connect.Instance{State: conn}, Tasks: tasks}
	}
	failed := func(id int, trace string) connect.TaskInfo {
		return connect.TaskInfo{ID: id, State: connect.StateFailed, Trace: trace}
	}
	running := connect.TaskInfo{ID: 1, State: connect.StateRunning}
	all := connect.RestartOptions{IncludeTasks: true}
	onlyFailed := connect.RestartOptions{IncludeTasks: true, OnlyFailed: true}
	cases := []struct {
		name        string
		st          *connect.Status
		o           connect.RestartOptions
		outcome     string
		reasonParts []string
	}{
		{"all running", status(connect.StateRunning, running), all, OutcomeNotNeeded, []string{"connector and tasks are"}},
		{"only failed, nothing failed", status(connect.StatePaused, running), onlyFailed, OutcomeNotNeeded, []string{"nothing is FAILED"}},
		{"paused, whole restart", status(connect.StatePaused, running), all, "", nil},
		{"failed task, restartable", status(connect.StateRunning, failed(0, transient)), all, "", nil},
		{"failed task, unfixable", status(connect.StateRunning, failed(0, missingColumn)), all, OutcomeNotRetryable, []string{"failed on missing column"}},
		{"one restartable failure among unfixable ones", status(connect.StateRunning, failed(0, missingColumn), failed(1, transient)), all, "", nil},
		{"failed tasks not restarted without include_tasks", status(connect.StateRunning, failed(0, missingColumn)), connect.RestartOptions{}, "", nil},
		{"failed connector, unfixable", &connect.Status{Connector: connect.Instance{State: connect.StateFailed, Trace: missingColumn}}, connect.RestartOptions{}, OutcomeNotRetryable, []string{"missing column"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			outcome, reason := connectorRestartNeeded(tc.st, tc.o)
			if outcome != tc.outcome {
				t.Fatalf("outcome %q (%s), want %q", outcome, reason, tc.outcome)
			}
			for _, p := range tc.reasonParts {
				if !strings.Contains(reason, p) {
					t.Errorf("reason %q does not say %q", reason, p)
				}
			}
		})
	}
}
