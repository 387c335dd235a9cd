package connectaction

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectaction/actionkind"
)

const jdbcSink = "io.debezium.connector.jdbc.JdbcSinkConnector"

func TestActionsReachTheWantedStateDespiteALaggingStatus(t *testing.T) {
	cases := []struct {
		action actionkind.Kind
		from   string
		want   string
	}{
		{actionkind.Pause, connect.StateRunning, "connector PAUSED, 2 tasks PAUSED"},
		{actionkind.Resume, connect.StatePaused, "connector RUNNING, 2 tasks RUNNING"},
		{actionkind.Resume, connect.StateStopped, "connector RUNNING, 2 tasks RUNNING"},
		{actionkind.Stop, connect.StateRunning, "connector STOPPED, no tasks"},
		{actionkind.Restart, connect.StateRunning, "connector RUNNING, 2 tasks RUNNING"},
		{actionkind.Restart, connect.StatePaused, "connector PAUSED, 2 tasks PAUSED"},
		{actionkind.Restart, connect.StateFailed, "connector RUNNING, 2 tasks RUNNING"},
	}
	for _, tc := range cases {
		t.Run(string(tc.action)+" from "+tc.from, func(t *testing.T) {
			f, c := newFake(t)
			f.Lag = 3
			conn := f.Add("sink-a", jdbcSink, tc.from, 2)
			if tc.from == connect.StateStopped {
				conn.Status.Tasks = nil
			}
			op := NewOperator(c, fastOptions)
			targets, err := op.Resolve(context.Background(), []string{"sink-a"}, false)
			if err != nil {
				t.Fatal(err)
			}
			res := op.Do(context.Background(), CommandAction(tc.action, false, nil), targets)
			if len(res) != 1 || !res[0].OK {
				t.Fatalf("result %+v, want success", res)
			}
			if res[0].State != tc.want {
				t.Errorf("state %q, want %q", res[0].State, tc.want)
			}
			// Three stale reads, then two agreeing ones: success must not
			// be declared on the stale reads.
			if n := len(f.Requests("GET /connectors/sink-a/status")); n < 5 {
				t.Errorf("declared success after %d status reads; the first 3 were stale", n)
			}
		})
	}
}

func TestRestartIncludesTasks(t *testing.T) {
	for _, onlyFailed := range []bool{false, true} {
		f, c := newFake(t)
		conn := f.Add("sink-a", jdbcSink, connect.StateRunning, 1)
		// With onlyFailed a restart is sent only when something failed.
		conn.Status.Tasks[0].State = connect.StateFailed
		op := NewOperator(c, fastOptions)
		targets, _ := op.Resolve(context.Background(), []string{"sink-a"}, false)
		if res := op.Do(context.Background(), CommandAction(actionkind.Restart, onlyFailed, nil), targets); !res[0].OK {
			t.Fatalf("restart: %v", res[0].Err)
		}
		reqs := f.Requests("POST /connectors/sink-a/restart")
		want := "includeTasks=true&onlyFailed=false"
		if onlyFailed {
			want = "includeTasks=true&onlyFailed=true"
		}
		if len(reqs) != 1 || !strings.HasSuffix(reqs[0], want) {
			t.Errorf("restart requests %v, want one ending in %s", reqs, want)
		}
	}
}

func TestActionFailures(t *testing.T) {
	cases := []struct {
		name    string
		action  actionkind.Kind
		setup   func(f *fakeConnect)
		wantErr string
	}{
		{
			name:   "a restarted task fails again",
			action: actionkind.Restart,
			setup: func(f *fakeConnect) {
				f.Add("sink-a", jdbcSink, connect.StateFailed, 1)
				f.After = func(c *fakeConnector, _ string) {
					c.Status.Tasks[0].State = connect.StateFailed
					c.Status.Tasks[0].Trace = "java.sql.SQLException: password authentication failed"
				}
			},
			wantErr: "task 0 FAILED (java.sql.SQLException: password authentication failed): restart did not bring it back",
		},
		{
			name:   "a stopped connector is not restarted",
			action: actionkind.Restart,
			setup: func(f *fakeConnect) {
				c := f.Add("sink-a", jdbcSink, connect.StateStopped, 0)
				c.Status.Tasks = nil
			},
			wantErr: "is STOPPED: a stopped connector has no tasks to restart; resume it instead",
		},
		{
			name:   "the state is never reached",
			action: actionkind.Pause,
			setup: func(f *fakeConnect) {
				f.Add("sink-a", jdbcSink, connect.StateRunning, 1)
				f.After = func(c *fakeConnector, _ string) { setAll(&c.Status, connect.StateRunning) }
			},
			wantErr: "not reached within 200ms: wanted connector and tasks PAUSED, but connector is RUNNING (last seen: connector RUNNING, 1 task RUNNING)",
		},
		{
			name:   "the connector is deleted while waiting",
			action: actionkind.Stop,
			setup: func(f *fakeConnect) {
				f.Add("sink-a", jdbcSink, connect.StateRunning, 1)
				f.After = func(c *fakeConnector, _ string) { c.Deleted = true }
			},
			wantErr: "was deleted while waiting for connector STOPPED with no tasks",
		},
		{
			name:   "the worker refuses the request",
			action: actionkind.Pause,
			setup: func(f *fakeConnect) {
				f.Add("sink-a", jdbcSink, connect.StateRunning, 1)
				f.Fail["/connectors/sink-a/pause"] = true
			},
			wantErr: "pausing: connect cluster fake: PUT /connectors/sink-a/pause: 500: worker on fire",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, c := newFake(t)
			tc.setup(f)
			opts := fastOptions
			opts.Timeout = 200 * time.Millisecond
			op := NewOperator(c, opts)
			targets, err := op.Resolve(context.Background(), []string{"sink-a"}, false)
			if err != nil {
				t.Fatal(err)
			}
			res := op.Do(context.Background(), CommandAction(tc.action, false, nil), targets)[0]
			if res.OK {
				t.Fatalf("succeeded with %q, want error %q", res.State, tc.wantErr)
			}
			if !strings.Contains(res.Err.Error(), tc.wantErr) {
				t.Errorf("error\n  %v\nwant it to contain\n  %s", res.Err, tc.wantErr)
			}
			if !strings.HasPrefix(res.String(), "sink-a: ") {
				t.Errorf("result %q does not name the connector", res)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	f, c := newFake(t)
	f.Add("sink-a", jdbcSink, connect.StateRunning, 1)
	f.Add("sink-b", jdbcSink, connect.StateRunning, 1)
	f.Add("just-created", jdbcSink, connect.StateRunning, 1).Unlisted = true
	op := NewOperator(c, fastOptions)
	ctx := context.Background()

	if got, err := op.Resolve(ctx, []string{"just-created"}, false); err != nil || len(got) != 1 || got[0].Name() != "just-created" {
		t.Errorf("a connector missing from the listing but known by name resolved to %v, %v", names(got), err)
	}
	got, err := op.Resolve(ctx, []string{"sink-b", "sink-a", "sink-b"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name() != "sink-b" || got[1].Name() != "sink-a" {
		t.Errorf("resolved %v, want sink-b, sink-a once each in the order given", names(got))
	}
	if got, _ := op.Resolve(ctx, nil, true); len(got) != 2 {
		t.Errorf("--all resolved %v, want the two listed connectors", names(got))
	}

	errCases := []struct {
		names []string
		all   bool
		want  string
	}{
		{[]string{"sink-a", "typo"}, false, `unknown connector "typo" on connect cluster fake (it has: sink-a, sink-b)`},
		{[]string{"x", "y"}, false, `unknown connectors "x", "y" on connect cluster fake`},
		{nil, false, "name at least one connector, or pass --all"},
		{[]string{"sink-a"}, true, "name connectors or pass --all, not both"},
		{[]string{"sink-a", ".."}, false, `connector name ".." is a URL dot segment`},
		{[]string{"."}, false, `connector name "." is a URL dot segment`},
		{[]string{"a/b"}, false, `connector name "a/b" contains '/'`},
		{[]string{"tab\there"}, false, "control character U+0009"},
	}
	for _, tc := range errCases {
		_, err := op.Resolve(ctx, tc.names, tc.all)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Resolve(%v, %v) = %v, want %q", tc.names, tc.all, err, tc.want)
		}
	}
	_, err = op.Resolve(ctx, []string{"typo"}, false)
	if !errors.Is(err, connect.ErrNotFound) {
		t.Errorf("unknown connector error %v does not match connect.ErrNotFound", err)
	}
	// Nothing may change when one name is wrong.
	if reqs := f.Requests("PUT "); len(reqs) > 0 {
		t.Errorf("requests sent despite an unknown name: %v", reqs)
	}

	f.Fail["/connectors"] = true
	if _, err := op.Resolve(ctx, []string{"sink-a"}, false); err == nil || !strings.Contains(err.Error(), "listing connectors: connect cluster fake: GET /connectors: 500: worker on fire") {
		t.Errorf("listing failure gave %v", err)
	}
}

func TestDoActsOnEveryTargetAndReportsEachInOrder(t *testing.T) {
	f, c := newFake(t)
	f.Lag = 1
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		f.Add(n, jdbcSink, connect.StateRunning, 1)
	}
	f.Conn["c"].Status.Tasks[0].State = connect.StateFailed
	op := NewOperator(c, Options{Timeout: time.Second, PollInterval: 5 * time.Millisecond, FailedGrace: 50 * time.Millisecond, Concurrency: 2})
	targets, err := op.Resolve(context.Background(), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	res := op.Do(context.Background(), CommandAction(actionkind.Pause, false, nil), targets)
	for i, want := range []string{"a", "b", "c", "d", "e"} {
		if res[i].Connector != want {
			t.Errorf("result %d is %s, want %s", i, res[i].Connector, want)
		}
		// c's FAILED task stays FAILED: the pause still succeeds, and
		// says so.
		if !res[i].OK || (want == "c") != (res[i].Note != "") {
			t.Errorf("%s: OK=%v note %q (%v)", want, res[i].OK, res[i].Note, res[i].Err)
		}
	}
}

func names(cs []connect.Connector) []string {
	out := make([]string, len(cs))
	for i := range cs {
		out[i] = cs[i].Name()
	}
	return out
}

// A listed connector whose name the REST API cannot address is reported
// and left alone by --all; the others are acted on.
func TestDoNeverActsOnAnUnaddressableName(t *testing.T) {
	f, c := newFake(t)
	f.Add("good", jdbcSink, connect.StateRunning, 1)
	f.Add("..", jdbcSink, connect.StateRunning, 1)
	op := NewOperator(c, fastOptions)
	targets, err := op.Resolve(context.Background(), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	res := op.Do(context.Background(), CommandAction(actionkind.Pause, false, nil), targets)
	for _, r := range res {
		switch r.Connector {
		case "good":
			if !r.OK {
				t.Errorf("good: %v", r.Err)
			}
		case "..":
			if r.OK || r.Err == nil || !strings.Contains(r.Err.Error(), "not acted on: connector name \"..\" is a URL dot segment") {
				t.Errorf("..: OK=%v err=%v, want a refusal", r.OK, r.Err)
			}
		}
	}
	for _, req := range f.Requests("PUT ") {
		if req != "PUT /connectors/good/pause?" {
			t.Errorf("unexpected request %s", req)
		}
	}
}

// Connect leaves a FAILED task FAILED through pause and resume: the
// action succeeds and names the task, with the first line of its trace.
func TestPauseAndResumeNameTheTaskThatStaysFailed(t *testing.T) {
	for _, tc := range []struct {
		action actionkind.Kind
		from   string
		state  string
		note   string
	}{
		{actionkind.Pause, connect.StateRunning, "connector PAUSED, tasks 0 PAUSED, 1 FAILED",
			"task 1 (org.apache.kafka.connect.errors.ConnectException: boom) still FAILED (a FAILED instance does not pause; it stays FAILED until it is restarted"},
		{actionkind.Resume, connect.StatePaused, "connector RUNNING, tasks 0 RUNNING, 1 FAILED",
			"task 1 (org.apache.kafka.connect.errors.ConnectException: boom) still FAILED (resume does not restart FAILED instances"},
	} {
		t.Run(string(tc.action), func(t *testing.T) {
			f, c := newFake(t)
			f.Lag = 2
			conn := f.Add("sink-a", jdbcSink, tc.from, 2)
			conn.Status.Tasks[1].State = connect.StateFailed
			conn.Status.Tasks[1].Trace = "org.apache.kafka.connect.errors.ConnectException: boom\n\tat Foo.bar"
			op := NewOperator(c, fastOptions)
			targets, err := op.Resolve(context.Background(), []string{"sink-a"}, false)
			if err != nil {
				t.Fatal(err)
			}
			res := op.Do(context.Background(), CommandAction(tc.action, false, nil), targets)[0]
			if !res.OK {
				t.Fatalf("%s failed: %v", tc.action, res.Err)
			}
			if res.State != tc.state || !strings.Contains(res.Note, tc.note) {
				t.Errorf("state %q note %q, want %q and %q", res.State, res.Note, tc.state, tc.note)
			}
			if !strings.Contains(res.String(), "task 1") {
				t.Errorf("output %q does not name the failed task", res)
			}
		})
	}
}
