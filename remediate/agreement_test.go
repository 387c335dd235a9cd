package remediate

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect/connecttest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectaction"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectaction/actionkind"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

// The connectors command and the remediator decide through the same
// connectaction.Decide: for every action both can take and every
// connector and task state, against a stand-in worker that follows
// Connect's REST semantics, both reach the verdict the table states, send
// the same request or none, and give the same reason. Each maps the
// verdict to its own vocabulary:
//
//	verdict     command                          remediator
//	act         sent, ok when it took effect     sent, success or failure
//	not_needed  ok, nothing sent, "not sent: …"  not_needed, nothing sent
//	refused     error, nothing sent              not_needed (no task: failure, retried)
//	unfixable   sent, "sent although …"          not_retryable, nothing sent
//
// An unfixable failure is the one place they act differently, on
// purpose: the remediator does not repeat what a restart cannot fix,
// while a person at the command line may have fixed the cause.
func TestCommandAndRemediatorAgreeOnEveryActionAndState(t *testing.T) {
	const sink = "io.debezium.connector.jdbc.JdbcSinkConnector"
	failTask := func(trace string) func(c *connecttest.Connector) {
		return func(c *connecttest.Connector) {
			c.Status.Tasks[1].State, c.Status.Tasks[1].Trace = connect.StateFailed, trace
		}
	}
	const boom = "org.apache.kafka.connect.errors.ConnectException: boom\n\tat X"
	const login = "org.postgresql.util.PSQLException: FATAL: password authentication failed for user \"cdc\""
	states := []struct {
		name  string
		state string
		setup func(c *connecttest.Connector)
	}{
		{"running", connect.StateRunning, nil},
		{"running, task 1 failed", connect.StateRunning, failTask(boom)},
		{"running, task 1 failed on login", connect.StateRunning, failTask(login)},
		{"paused", connect.StatePaused, nil},
		{"paused, task 1 failed", connect.StatePaused, failTask(boom)},
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
		kind       actionkind.Kind
		onlyFailed bool
		task       *int
	}{
		{"pause", actionkind.Pause, false, nil},
		{"resume", actionkind.Resume, false, nil},
		{"restart", actionkind.Restart, false, nil},
		{"restart --only-failed", actionkind.Restart, true, nil},
		{"restart --task=1 --only-failed", actionkind.Restart, true, &task1},
	}
	// verdicts, one letter per state in the order above: a act, n
	// not_needed, r refused, u unfixable.
	verdicts := map[string]string{
		"pause":                          "aaannnaa",
		"resume":                         "nnnaaaaa",
		"restart":                        "aauaaraa",
		"restart --only-failed":          "naunaraa",
		"restart --task=1 --only-failed": "naunarna",
	}
	letters := map[byte]connectaction.Verdict{'a': connectaction.Act, 'n': connectaction.NotNeeded, 'r': connectaction.Refused, 'u': connectaction.Unfixable}
	opts := connectaction.Options{Timeout: 3 * time.Second, PollInterval: 2 * time.Millisecond, Settle: 2, FailedGrace: time.Second}
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
			t.Run(a.name+"/"+st.name, func(t *testing.T) {
				want := letters[verdicts[a.name][s]]
				action := connectaction.CommandAction(a.kind, a.onlyFailed, a.task)
				action.Connector = "sink"
				if task := action.Kind == actionkind.RestartTask; want == connectaction.Refused && task {
					want = connectaction.NoTask
				}

				// The command.
				cf, cc := start(t, s)
				op := connectaction.NewOperator(cc, opts)
				targets, err := op.Resolve(context.Background(), []string{"sink"}, false)
				if err != nil {
					t.Fatal(err)
				}
				cli := op.Do(context.Background(), action, targets)[0]
				cliSent := len(cf.Requests("PUT /connectors/sink/"))+len(cf.Requests("POST /connectors/sink/")) > 0

				// The remediator, from a rule naming the same action.
				rf, rc := start(t, s)
				metrics, err := NewMetrics(prometheus.NewRegistry())
				if err != nil {
					t.Fatal(err)
				}
				e := &Engine{cfg: config.Remediation{VerifyTimeout: opts.Timeout}, verifyInterval: opts.PollInterval, metrics: metrics,
					clusters: map[string]Connect{"fake": rc}, clusterNames: []string{"fake"}}
				args := map[string]string{"connect_cluster": "fake", "connector": "sink", "task": "1",
					"includeTasks": "true", "onlyFailed": map[bool]string{true: "true", false: "false"}[a.onlyFailed]}
				tg := resolveFor(t, e, a.kind.RuleName(), args)
				if a.task != nil {
					tg = resolveFor(t, e, actionkind.RestartTask.RuleName(), args)
				}
				if tg.connector != action {
					t.Fatalf("the rule asks for %+v, the command for %+v", tg.connector, action)
				}
				e.now = time.Now
				// The remediator's two steps, without the store's
				// admission between them.
				rec := &store.Record{}
				if d, r, send := connectaction.Check(context.Background(), tg.client, tg.connector, e.actionOptions()); !send {
					judgeUnsent(r, rec)
				} else {
					e.perform(context.Background(), tg, d, &store.Job{}, rec, "target")
				}
				outcome, detail := rec.Outcome, rec.Detail
				if rec.Outcome == OutcomeFailure {
					detail = rec.Error
				}
				remSent := len(rf.Requests("PUT /connectors/sink/"))+len(rf.Requests("POST /connectors/sink/")) > 0

				// Both against the table.
				var refusal *connectaction.Refusal
				switch want {
				case connectaction.Act:
					if !cliSent || !remSent || cli.OK != (outcome == OutcomeSuccess) || !cli.OK {
						t.Fatalf("want both to act and succeed: command sent=%t %s; remediator sent=%t %s (%s)", cliSent, cli, remSent, outcome, detail)
					}
					if detail != joinDetail(cli.State, cli.Note) {
						t.Errorf("remediator detail %q, command %q", detail, joinDetail(cli.State, cli.Note))
					}
				case connectaction.NotNeeded:
					if cliSent || remSent || !cli.OK || outcome != OutcomeNotNeeded || !strings.HasPrefix(cli.Note, "not sent: "+detail) {
						t.Errorf("want neither to act: command sent=%t %s; remediator sent=%t %s (%s)", cliSent, cli, remSent, outcome, detail)
					}
				case connectaction.Refused, connectaction.NoTask:
					remWant := OutcomeNotNeeded
					if want == connectaction.NoTask {
						remWant = OutcomeFailure
					}
					if cliSent || remSent || cli.OK || !errors.As(cli.Err, &refusal) || outcome != remWant || cli.Err.Error() != detail {
						t.Errorf("want both to refuse: command sent=%t %s; remediator sent=%t %s (%s)", cliSent, cli, remSent, outcome, detail)
					}
				case connectaction.Unfixable:
					if !cliSent || remSent || outcome != OutcomeNotRetryable || !strings.HasPrefix(cli.Note, "sent although "+detail) {
						t.Errorf("want the command to act, naming the failure, and the remediator not to: command sent=%t %s; remediator sent=%t %s (%s)", cliSent, cli, remSent, outcome, detail)
					}
				}
			})
		}
	}
}

// resolveFor resolves a rule's action against an alert carrying args.
func resolveFor(t *testing.T, e *Engine, action string, args map[string]string) *target {
	t.Helper()
	tmpls, err := compileArgs(args)
	if err != nil {
		t.Fatal(err)
	}
	tg, err := e.resolve(action, tmpls, &store.Job{})
	if err != nil {
		t.Fatalf("resolving %s: %v", action, err)
	}
	return tg
}
