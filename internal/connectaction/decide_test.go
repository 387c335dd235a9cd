package connectaction

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectaction/actionkind"
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
		{"only the failed connector, which runs", status(connect.StateRunning, failed(0, transient)), connect.RestartOptions{OnlyFailed: true}, NotNeeded, []string{"the connector is not FAILED and the restart leaves its tasks alone"}},
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

// Decide against a truth computed directly from the status, over random
// statuses: an action is not needed exactly when the connector already
// is where it leads (its own state shows the target state, every task
// follows it or stays FAILED), or, for a pause, when it is STOPPED; a
// restart of failed instances is not needed exactly when none it would
// restart has failed. What Decide finds not needed, the verification
// already accepts. A failure prints its seed.
func TestDecideAgainstTheStatusItself(t *testing.T) {
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	states := []string{connect.StateRunning, connect.StatePaused, connect.StateStopped, connect.StateFailed, connect.StateUnassigned, connect.StateRestarting}
	traces := []string{"", "java.net.SocketTimeoutException: Read timed out", `column "x" does not exist`}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	for i := 0; i < 5000; i++ {
		st := &connect.Status{Name: "s", Connector: connect.Instance{State: pick(states)}}
		if st.Connector.State == connect.StateFailed {
			st.Connector.Trace = pick(traces)
		}
		if st.Connector.State != connect.StateStopped {
			for id := range rng.IntN(4) {
				task := connect.TaskInfo{ID: id, State: pick(states[:5])}
				if task.State == connect.StateFailed {
					task.Trace = pick(traces)
				}
				st.Tasks = append(st.Tasks, task)
			}
		}
		every := func(allowed ...string) bool {
			for _, task := range st.Tasks {
				if !slices.Contains(allowed, task.State) {
					return false
				}
			}
			return true
		}
		c := st.Connector.State
		anyTaskFailed := !every(connect.StateRunning, connect.StatePaused, connect.StateStopped, connect.StateUnassigned, connect.StateRestarting)
		task := rng.IntN(4)
		opts := connect.RestartOptions{IncludeTasks: rng.IntN(2) == 0, OnlyFailed: true}
		truth := map[actionkind.Kind]bool{
			actionkind.Pause:  c == connect.StateStopped || c == connect.StatePaused && every(connect.StatePaused, connect.StateFailed),
			actionkind.Resume: c == connect.StateRunning && len(st.Tasks) > 0 && every(connect.StateRunning, connect.StateFailed),
			actionkind.Stop:   c == connect.StateStopped && len(st.Tasks) == 0,
			actionkind.Restart: c != connect.StateStopped && c != connect.StateFailed &&
				!(opts.IncludeTasks && anyTaskFailed),
			actionkind.RestartTask: st.Task(task) != nil && st.Task(task).State != connect.StateFailed,
		}
		for kind, notNeeded := range truth {
			a := Action{Kind: kind, Connector: "s", Task: task, Restart: opts}
			d := Decide(a, st)
			if got := d.Verdict == NotNeeded; got != notNeeded {
				t.Fatalf("seed %d: %s from %s: %s (%s), want not needed %t", seed, a, DescribeState(st), d.Verdict, d.Reason, notNeeded)
			}
			if ok, _ := d.expect.reached(st, nil); d.Verdict == NotNeeded && kind != actionkind.Restart && kind != actionkind.RestartTask && c != connect.StateStopped && !ok {
				t.Fatalf("seed %d: %s from %s is not needed, but its verification would still wait", seed, a, DescribeState(st))
			}
		}
	}
}
