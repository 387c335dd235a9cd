package remediate

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect/connecttest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/ops"
)

// The connectors command and the remediator act on a connector through
// the same code: for every action and starting state, both reach the
// same verdict against a fake worker that follows Connect's REST
// semantics (FAILED instances stay FAILED through pause and resume, a
// restart keeps the target state, a stopped connector has no tasks).
// The remediator may decide not to act (its precheck); then the command,
// which always acts, must succeed or refuse: acting was not needed.
func TestCommandAndRemediatorAgreeOnEveryActionAndState(t *testing.T) {
	const sink = "io.debezium.connector.jdbc.JdbcSinkConnector"
	failTask := func(c *connecttest.Connector) {
		c.Status.Tasks[1].State, c.Status.Tasks[1].Trace = connect.StateFailed, "org.apache.kafka.connect.errors.ConnectException: boom\n\tat X"
	}
	states := []struct {
		name  string
		state string
		setup func(c *connecttest.Connector)
	}{
		{"running", connect.StateRunning, nil},
		{"running, task 1 failed", connect.StateRunning, failTask},
		{"paused", connect.StatePaused, nil},
		{"paused, task 1 failed", connect.StatePaused, failTask},
		{"stopped", connect.StateStopped, nil},
		{"connector failed", connect.StateFailed, func(c *connecttest.Connector) {
			connecttest.SetAll(&c.Status, connect.StateRunning)
			c.Status.Connector.State, c.Status.Connector.Trace = connect.StateFailed, "java.lang.RuntimeException: connector boom"
		}},
		{"all failed", connect.StateFailed, nil},
	}
	task1 := 1
	actions := []struct {
		name       string
		cli        ops.Action
		onlyFailed bool
		task       *int
		rule       string
	}{
		{"pause", ops.Pause, false, nil, ActionPauseConnector},
		{"resume", ops.Resume, false, nil, ActionResumeConnector},
		{"restart", ops.Restart, false, nil, ActionRestartConnector},
		{"restart --only-failed", ops.Restart, true, nil, ActionRestartConnector},
		{"restart --task=1", ops.Restart, false, &task1, ActionRestartTask},
	}
	// want is the verdict the table expects from the command: "ok",
	// "ok, naming <what stays FAILED>" or "refused: <reason>".
	want := map[string]string{
		"pause/running, task 1 failed":      "ok, naming task 1",
		"pause/paused, task 1 failed":       "ok, naming task 1",
		"pause/connector failed":            "ok, naming the connector",
		"pause/all failed":                  "ok, naming the connector, task 0",
		"resume/running, task 1 failed":     "ok, naming task 1",
		"resume/paused, task 1 failed":      "ok, naming task 1",
		"resume/connector failed":           "ok, naming the connector",
		"resume/all failed":                 "ok, naming the connector, task 0",
		"restart/stopped":                   "refused: connector is STOPPED: a stopped connector has no tasks to restart; resume it instead",
		"restart --only-failed/stopped":     "refused: connector is STOPPED: a stopped connector has no tasks to restart; resume it instead",
		"restart --task=1/stopped":          "refused: connector sink has no task 1 (tasks: none)",
		"restart --task=1/connector failed": "ok, naming the connector",
		"restart --task=1/all failed":       "ok, naming the connector, task 0",
	}
	opts := ops.Options{Timeout: 3 * time.Second, PollInterval: 2 * time.Millisecond, Settle: 2, FailedGrace: time.Second}
	start := func(t *testing.T, s int) (*connecttest.Fake, *connect.Client) {
		f, c := connecttest.New(t)
		f.Lag = 2
		conn := f.Add("sink", sink, states[s].state, 2)
		if states[s].setup != nil {
			states[s].setup(conn)
		}
		return f, c
	}
	for _, a := range actions {
		for s, st := range states {
			key := a.name + "/" + st.name
			t.Run(key, func(t *testing.T) {
				// The command.
				_, cc := start(t, s)
				o := opts
				o.OnlyFailed, o.Task = a.onlyFailed, a.task
				op := ops.New(cc, o)
				targets, err := op.Resolve(context.Background(), []string{"sink"}, false)
				if err != nil {
					t.Fatal(err)
				}
				cli := op.Do(context.Background(), a.cli, targets)[0]

				// The remediator.
				_, rc := start(t, s)
				e := &Engine{cfg: config.Remediation{VerifyTimeout: opts.Timeout}, verifyInterval: opts.PollInterval, metrics: &Metrics{}}
				tg := &target{action: a.rule, cluster: "fake", client: rc, connector: "sink", task: task1,
					restart: connect.RestartOptions{IncludeTasks: true, OnlyFailed: a.onlyFailed}}
				outcome, detail, err := e.precheck(context.Background(), tg)
				if err != nil {
					// The remediator retries a task that is not listed
					// (a rebalance may bring it back); the command
					// refuses it with the same reason.
					if !strings.Contains(verdict(cli), err.Error()) {
						t.Errorf("remediator could not act (%v) but the command: %s", err, cli)
					}
					return
				}
				acted := outcome == ""
				if acted {
					if _, err = e.perform(context.Background(), tg); err == nil {
						detail, err = e.verify(context.Background(), tg)
					}
					outcome = OutcomeSuccess
					if err != nil {
						outcome, detail = OutcomeFailure, err.Error()
					}
				}

				cliVerdict := verdict(cli)
				if w := want[key]; w == "" && cliVerdict != "ok" || w != "" && !strings.HasPrefix(cliVerdict, w) {
					t.Errorf("command: %s (%s), want %s", cliVerdict, cli, firstNonEmpty(w, "ok"))
				}
				switch {
				case acted && (outcome == OutcomeSuccess) != cli.OK:
					t.Errorf("remediator %s (%s) but command %s", outcome, detail, cli)
				case acted && cli.OK && detail != joinDetail(cli.State, cli.Note):
					t.Errorf("remediator detail %q, command %q", detail, joinDetail(cli.State, cli.Note))
				case !acted && outcome != OutcomeNotNeeded:
					t.Errorf("remediator decided %s (%s) without acting", outcome, detail)
				case !acted && !cli.OK && !strings.HasSuffix(cliVerdict, detail):
					t.Errorf("remediator found it not needed (%s) but the command failed: %s", detail, cli)
				}
			})
		}
	}
}

// verdict sums a command result up for comparison: "ok", "ok, naming
// task 1 ...", "refused: reason" or "failed: error".
func verdict(r ops.Result) string {
	switch {
	case r.OK && r.Note != "":
		return "ok, naming " + r.Note
	case r.OK:
		return "ok"
	case r.Err != nil && !strings.Contains(r.Err.Error(), "not reached") && !strings.Contains(r.Err.Error(), "FAILED"):
		return "refused: " + r.Err.Error()
	}
	return fmt.Sprintf("failed: %v", r.Err)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
