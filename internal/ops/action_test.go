package ops

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
)

const jdbcSink = "io.debezium.connector.jdbc.JdbcSinkConnector"

func TestActionsReachTheWantedStateDespiteALaggingStatus(t *testing.T) {
	cases := []struct {
		action Action
		from   string
		want   string
	}{
		{Pause, connect.StateRunning, "connector PAUSED, 2 tasks PAUSED"},
		{Resume, connect.StatePaused, "connector RUNNING, 2 tasks RUNNING"},
		{Resume, connect.StateStopped, "connector RUNNING, 2 tasks RUNNING"},
		{Stop, connect.StateRunning, "connector STOPPED, no tasks"},
		{Restart, connect.StateRunning, "connector RUNNING, 2 tasks RUNNING"},
		{Restart, connect.StatePaused, "connector PAUSED, 2 tasks PAUSED"},
		{Restart, connect.StateFailed, "connector RUNNING, 2 tasks RUNNING"},
	}
	for _, tc := range cases {
		t.Run(string(tc.action)+" from "+tc.from, func(t *testing.T) {
			f, c := newFake(t)
			f.lag = 3
			conn := f.add("sink-a", jdbcSink, tc.from, 2)
			if tc.from == connect.StateStopped {
				conn.status.Tasks = nil
			}
			op := New(c, fastOptions)
			targets, err := op.Resolve(context.Background(), []string{"sink-a"}, false)
			if err != nil {
				t.Fatal(err)
			}
			res := op.Do(context.Background(), tc.action, targets)
			if len(res) != 1 || !res[0].OK {
				t.Fatalf("result %+v, want success", res)
			}
			if res[0].State != tc.want {
				t.Errorf("state %q, want %q", res[0].State, tc.want)
			}
			// Three stale reads, then two agreeing ones: success must not
			// be declared on the stale reads.
			if n := len(f.requestsMatching("GET /connectors/sink-a/status")); n < 5 {
				t.Errorf("declared success after %d status reads; the first 3 were stale", n)
			}
		})
	}
}

func TestRestartIncludesTasks(t *testing.T) {
	for _, onlyFailed := range []bool{false, true} {
		f, c := newFake(t)
		f.add("sink-a", jdbcSink, connect.StateRunning, 1)
		opts := fastOptions
		opts.OnlyFailed = onlyFailed
		op := New(c, opts)
		targets, _ := op.Resolve(context.Background(), []string{"sink-a"}, false)
		if res := op.Do(context.Background(), Restart, targets); !res[0].OK {
			t.Fatalf("restart: %v", res[0].Err)
		}
		reqs := f.requestsMatching("POST /connectors/sink-a/restart")
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
		action  Action
		setup   func(f *fakeConnect)
		wantErr string
	}{
		{
			name:   "a failed task never pauses",
			action: Pause,
			setup: func(f *fakeConnect) {
				c := f.add("sink-a", jdbcSink, connect.StateRunning, 2)
				c.status.Tasks[1].State = connect.StateFailed
				c.status.Tasks[1].Trace = "org.apache.kafka.connect.errors.ConnectException: boom\n\tat Foo.bar"
			},
			wantErr: "task 1 FAILED (org.apache.kafka.connect.errors.ConnectException: boom): pause cannot complete: a FAILED task does not pause until it is restarted",
		},
		{
			name:   "resume leaves a failed task failed",
			action: Resume,
			setup: func(f *fakeConnect) {
				c := f.add("sink-a", jdbcSink, connect.StatePaused, 1)
				c.status.Tasks[0].State = connect.StateFailed
			},
			wantErr: "task 0 FAILED: resume cannot complete: resume does not restart FAILED tasks",
		},
		{
			name:   "a restarted task fails again",
			action: Restart,
			setup: func(f *fakeConnect) {
				f.add("sink-a", jdbcSink, connect.StateFailed, 1)
				f.after = func(c *fakeConnector, _ string) {
					c.status.Tasks[0].State = connect.StateFailed
					c.status.Tasks[0].Trace = "java.sql.SQLException: password authentication failed"
				}
			},
			wantErr: "task 0 FAILED (java.sql.SQLException: password authentication failed): restart did not bring it back",
		},
		{
			name:   "a stopped connector is not restarted",
			action: Restart,
			setup: func(f *fakeConnect) {
				c := f.add("sink-a", jdbcSink, connect.StateStopped, 0)
				c.status.Tasks = nil
			},
			wantErr: "is STOPPED: a stopped connector has no tasks to restart; resume it instead",
		},
		{
			name:   "the state is never reached",
			action: Pause,
			setup: func(f *fakeConnect) {
				f.add("sink-a", jdbcSink, connect.StateRunning, 1)
				f.after = func(c *fakeConnector, _ string) { setAll(&c.status, connect.StateRunning) }
			},
			wantErr: "not reached after 200ms: wanted connector and tasks PAUSED, but connector is RUNNING (last seen: connector RUNNING, 1 task RUNNING)",
		},
		{
			name:   "the connector is deleted while waiting",
			action: Stop,
			setup: func(f *fakeConnect) {
				f.add("sink-a", jdbcSink, connect.StateRunning, 1)
				f.after = func(c *fakeConnector, _ string) { c.deleted = true }
			},
			wantErr: "was deleted while waiting for connector STOPPED with no tasks",
		},
		{
			name:   "the worker refuses the request",
			action: Pause,
			setup: func(f *fakeConnect) {
				f.add("sink-a", jdbcSink, connect.StateRunning, 1)
				f.fail["/connectors/sink-a/pause"] = true
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
			op := New(c, opts)
			targets, err := op.Resolve(context.Background(), []string{"sink-a"}, false)
			if err != nil {
				t.Fatal(err)
			}
			res := op.Do(context.Background(), tc.action, targets)[0]
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
	f.add("sink-a", jdbcSink, connect.StateRunning, 1)
	f.add("sink-b", jdbcSink, connect.StateRunning, 1)
	f.add("just-created", jdbcSink, connect.StateRunning, 1).unlisted = true
	op := New(c, fastOptions)
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
	if reqs := f.requestsMatching("PUT "); len(reqs) > 0 {
		t.Errorf("requests sent despite an unknown name: %v", reqs)
	}

	f.fail["/connectors"] = true
	if _, err := op.Resolve(ctx, []string{"sink-a"}, false); err == nil || !strings.Contains(err.Error(), "listing connectors: connect cluster fake: GET /connectors: 500: worker on fire") {
		t.Errorf("listing failure gave %v", err)
	}
}

func TestDoActsOnEveryTargetAndReportsEachInOrder(t *testing.T) {
	f, c := newFake(t)
	f.lag = 1
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		f.add(n, jdbcSink, connect.StateRunning, 1)
	}
	f.conn["c"].status.Tasks[0].State = connect.StateFailed
	op := New(c, Options{Timeout: time.Second, PollInterval: 5 * time.Millisecond, FailedGrace: 50 * time.Millisecond, Concurrency: 2})
	targets, err := op.Resolve(context.Background(), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	res := op.Do(context.Background(), Pause, targets)
	for i, want := range []string{"a", "b", "c", "d", "e"} {
		if res[i].Connector != want {
			t.Errorf("result %d is %s, want %s", i, res[i].Connector, want)
		}
		if ok := want != "c"; res[i].OK != ok {
			t.Errorf("%s: OK=%v, want %v (%v)", want, res[i].OK, ok, res[i].Err)
		}
	}
}

func TestDescribeState(t *testing.T) {
	cases := []struct {
		status connect.Status
		want   string
	}{
		{connect.Status{Connector: connect.Instance{State: "STOPPED"}}, "connector STOPPED, no tasks"},
		{connect.Status{Connector: connect.Instance{State: "RUNNING"}, Tasks: []connect.TaskInfo{{ID: 0, State: "RUNNING"}}}, "connector RUNNING, 1 task RUNNING"},
		{connect.Status{Connector: connect.Instance{State: "RUNNING"}, Tasks: []connect.TaskInfo{{ID: 1, State: "FAILED"}, {ID: 0, State: "RUNNING"}}}, "connector RUNNING, tasks 0 RUNNING, 1 FAILED"},
	}
	for _, tc := range cases {
		if got := describeState(&tc.status); got != tc.want {
			t.Errorf("describeState = %q, want %q", got, tc.want)
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
	f.add("good", jdbcSink, connect.StateRunning, 1)
	f.add("..", jdbcSink, connect.StateRunning, 1)
	op := New(c, fastOptions)
	targets, err := op.Resolve(context.Background(), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	res := op.Do(context.Background(), Pause, targets)
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
	for _, req := range f.requestsMatching("PUT ") {
		if req != "PUT /connectors/good/pause?" {
			t.Errorf("unexpected request %s", req)
		}
	}
}
