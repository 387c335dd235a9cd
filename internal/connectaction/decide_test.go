package connectaction

import (
	"strings"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
)

// Whether a connector restart can help, from the live status: every
// branch of the decision, which the action tests reach only in part.
func TestConnectorRestartNeed(t *testing.T) {
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
		verdict     Verdict
		reasonParts []string
	}{
		// A full restart is asked for a connector that may be stuck
		// while it reports RUNNING: it is sent.
		{"all running, whole restart", status(connect.StateRunning, running), all, Act, nil},
		{"all running, only failed", status(connect.StateRunning, running), onlyFailed, NotNeeded, []string{"nothing is FAILED"}},
		{"only failed, nothing failed", status(connect.StatePaused, running), onlyFailed, NotNeeded, []string{"nothing is FAILED"}},
		{"paused, whole restart", status(connect.StatePaused, running), all, Act, nil},
		{"failed task, restartable", status(connect.StateRunning, failed(0, transient)), all, Act, nil},
		{"failed task, unfixable", status(connect.StateRunning, failed(0, missingColumn)), all, Unfixable, []string{"failed on missing column"}},
		{"one restartable failure among unfixable ones", status(connect.StateRunning, failed(0, missingColumn), failed(1, transient)), all, Act, nil},
		{"failed tasks not restarted without include_tasks", status(connect.StateRunning, failed(0, missingColumn)), connect.RestartOptions{}, Act, nil},
		{"failed connector, unfixable", &connect.Status{Connector: connect.Instance{State: connect.StateFailed, Trace: missingColumn}}, connect.RestartOptions{}, Unfixable, []string{"missing column"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			verdict, reason := restartNeed(tc.st, tc.o)
			if verdict != tc.verdict {
				t.Fatalf("verdict %q (%s), want %q", verdict, reason, tc.verdict)
			}
			for _, p := range tc.reasonParts {
				if !strings.Contains(reason, p) {
					t.Errorf("reason %q does not say %q", reason, p)
				}
			}
		})
	}
}
