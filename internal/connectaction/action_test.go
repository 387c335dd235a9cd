package connectaction_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect/connecttest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectaction"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectaction/actionkind"
)

const sink = "io.debezium.connector.jdbc.JdbcSinkConnector"

var fast = connectaction.Options{Timeout: 3 * time.Second, PollInterval: 2 * time.Millisecond, Settle: 2, FailedGrace: 200 * time.Millisecond}

// The actions the connectors command does not offer as such (restart one
// task, stop) and the restart variants, from every starting state.
func TestRunFromEveryState(t *testing.T) {
	failTask := func(c *connecttest.Connector) {
		c.Status.Tasks[1].State, c.Status.Tasks[1].Trace = connect.StateFailed, "boom"
	}
	cases := []struct {
		action connectaction.Action
		from   string
		setup  func(c *connecttest.Connector)
		state  string
		note   string
		err    string
	}{
		{connectaction.Action{Kind: actionkind.RestartTask, Task: 1}, connect.StateRunning, failTask, "connector RUNNING, 2 tasks RUNNING", "", ""},
		// A task restarted while its connector is paused comes back
		// PAUSED: Connect keeps the target state.
		{connectaction.Action{Kind: actionkind.RestartTask, Task: 1}, connect.StatePaused, failTask, "connector PAUSED, 2 tasks PAUSED", "", ""},
		{connectaction.Action{Kind: actionkind.RestartTask, Task: 5}, connect.StateRunning, nil, "", "", "connector sink has no task 5 (tasks: 0, 1)"},
		{connectaction.Action{Kind: actionkind.RestartTask, Task: 0}, connect.StateStopped, nil, "", "", "connector sink has no task 0 (tasks: none)"},
		// Restarting only the connector instance leaves a FAILED task
		// FAILED, and says so.
		{connectaction.Action{Kind: actionkind.Restart}, connect.StateRunning, failTask, "connector RUNNING, tasks 0 RUNNING, 1 FAILED", "task 1 (boom) still FAILED (the restart did not include it", ""},
		{connectaction.Action{Kind: actionkind.Restart, Restart: connect.RestartOptions{IncludeTasks: true, OnlyFailed: true}}, connect.StatePaused, failTask, "connector PAUSED, 2 tasks PAUSED", "", ""},
		{connectaction.Action{Kind: actionkind.Stop}, connect.StateRunning, failTask, "connector STOPPED, no tasks", "", ""},
		{connectaction.Action{Kind: actionkind.Stop}, connect.StatePaused, nil, "connector STOPPED, no tasks", "", ""},
		{connectaction.Action{Kind: actionkind.Stop}, connect.StateFailed, nil, "connector STOPPED, no tasks", "", ""},
		{connectaction.Action{Kind: actionkind.Resume}, connect.StateStopped, nil, "connector RUNNING, 2 tasks RUNNING", "", ""},
		// A STOPPED connector runs nothing: pausing it would start it, so
		// nothing is sent and it stays STOPPED.
		{connectaction.Action{Kind: actionkind.Pause}, connect.StateStopped, nil, "connector STOPPED, no tasks", "not sent: connector is STOPPED: it runs no tasks, and pausing it would start it", ""},
	}
	for _, tc := range cases {
		t.Run(tc.action.String()+" from "+tc.from, func(t *testing.T) {
			f, c := connecttest.New(t)
			f.Lag = 2
			conn := f.Add("sink", sink, tc.from, 2)
			if tc.setup != nil {
				tc.setup(conn)
			}
			a := tc.action
			a.Connector = "sink"
			r := connectaction.Run(context.Background(), c, a, fast)
			if tc.err != "" {
				if r.OK || r.Err == nil || !strings.Contains(r.Err.Error(), tc.err) || r.Sent {
					t.Fatalf("result %+v, want a refusal %q with nothing sent", r, tc.err)
				}
				return
			}
			if !r.OK || r.State != tc.state || !strings.Contains(r.Note, tc.note) || (tc.note == "") != (r.Note == "") {
				t.Errorf("result OK=%v state %q note %q err %v; want %q, note %q", r.OK, r.State, r.Note, r.Err, tc.state, tc.note)
			}
		})
	}
}

// scripted answers status reads from a script, one status per read,
// then the last one for ever.
type scripted struct {
	connecttest.NopActions
	script []connect.Status
	reads  int
}

func (s *scripted) Status(context.Context, string) (*connect.Status, error) {
	st := s.script[min(s.reads, len(s.script)-1)]
	s.reads++
	return &st, nil
}

func status(conn string, tasks ...string) connect.Status {
	s := connect.Status{Name: "sink", Connector: connect.Instance{State: conn}}
	for i, t := range tasks {
		s.Tasks = append(s.Tasks, connect.TaskInfo{ID: i, State: t, Trace: map[bool]string{true: "java.sql.SQLException: gone"}[t == connect.StateFailed]})
	}
	return s
}

// A task that holds the wanted state for a read and then fails again
// fails the action at once; one that stays FAILED past the grace fails
// it before the timeout.
func TestWaitFailsOnAnInstanceThatFailsAgain(t *testing.T) {
	before := status(connect.StateRunning, connect.StateFailed)
	e := connectaction.Decide(connectaction.Action{Kind: actionkind.RestartTask, Connector: "sink", Task: 0}, &before)
	if e.Verdict != connectaction.Act {
		t.Fatalf("restart of a FAILED task: %s (%s)", e.Verdict, e.Reason)
	}
	c := &scripted{script: []connect.Status{before, status(connect.StateRunning, connect.StateRunning), status(connect.StateRunning, connect.StateFailed)}}
	r := connectaction.Wait(context.Background(), c, e, connectaction.Options{Timeout: time.Minute, PollInterval: time.Millisecond, Settle: 3, FailedGrace: time.Minute})
	if r.OK || r.Err == nil || !strings.Contains(r.Err.Error(), "task 0 FAILED (java.sql.SQLException: gone) right after the restart_task took effect: it failed again") {
		t.Errorf("failing again: %+v", r)
	}
	c = &scripted{script: []connect.Status{before}}
	r = connectaction.Wait(context.Background(), c, e, connectaction.Options{Timeout: time.Minute, PollInterval: time.Millisecond, Settle: 2, FailedGrace: 20 * time.Millisecond})
	if r.OK || r.Err == nil || !strings.Contains(r.Err.Error(), "task 0 FAILED (java.sql.SQLException: gone): restart_task did not bring it back") {
		t.Errorf("staying failed: %+v", r)
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
		if got := connectaction.DescribeState(&tc.status); got != tc.want {
			t.Errorf("DescribeState = %q, want %q", got, tc.want)
		}
	}
}

// notYetStarted is a connector that is defined but whose status the
// worker writes only after a few reads, as right after it was created;
// until then Connect answers the status with a 404.
type notYetStarted struct {
	connecttest.NopActions
	defined  bool
	unknowns int
	reads    int
}

func (n *notYetStarted) Status(_ context.Context, name string) (*connect.Status, error) {
	n.reads++
	if n.reads <= n.unknowns {
		return nil, &connect.APIError{Cluster: "local", Method: "GET", Path: "/connectors/" + name + "/status", Status: 404, Message: "No status found for connector " + name}
	}
	st := status(connect.StateRunning, connect.StateRunning)
	return &st, nil
}

func (n *notYetStarted) Info(_ context.Context, name string) (*connect.Info, error) {
	if !n.defined {
		return nil, &connect.APIError{Cluster: "local", Method: "GET", Path: "/connectors/" + name, Status: 404, Message: "Connector " + name + " not found"}
	}
	return &connect.Info{Name: name}, nil
}

// Connect answers "No status found" both for an unknown connector and for
// one it has not started yet. An action on a new connector waits for its
// status; one on an unknown connector fails at once.
func TestAnActionOnANewConnectorWaitsForItsStatus(t *testing.T) {
	c := &notYetStarted{defined: true, unknowns: 3}
	r := connectaction.Run(context.Background(), c, connectaction.Action{Kind: actionkind.Resume, Connector: "sink"}, fast)
	if !r.OK || r.State != "connector RUNNING, 1 task RUNNING" {
		t.Fatalf("resume of a new connector: %+v", r)
	}

	c = &notYetStarted{defined: false, unknowns: 1 << 30}
	r = connectaction.Run(context.Background(), c, connectaction.Action{Kind: actionkind.Resume, Connector: "sink"}, fast)
	if r.OK || r.Sent || !errors.Is(r.Err, connect.ErrNotFound) || c.reads != 1 {
		t.Fatalf("resume of an unknown connector: %+v after %d reads", r, c.reads)
	}
}

// A connector that never gets a status is given up on at the timeout,
// saying why.
func TestAConnectorThatNeverReportsAStatusTimesOut(t *testing.T) {
	c := &notYetStarted{defined: true, unknowns: 1 << 30}
	o := fast
	o.Timeout = 50 * time.Millisecond
	r := connectaction.Run(context.Background(), c, connectaction.Action{Kind: actionkind.Pause, Connector: "sink"}, o)
	if r.OK || r.Sent || !errors.Is(r.Err, connectaction.ErrNoStatusYet) || !strings.Contains(r.Err.Error(), "no worker has reported its status yet") {
		t.Fatalf("got %+v", r)
	}
}
