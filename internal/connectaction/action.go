// Package connectaction is the one home of a Kafka Connect connector
// action (pause, resume, restart, stop, restart one task, scale): its
// name (actionkind), whether it is needed given the live status
// (Decide), how it is sent (Send, Operator.Scale) and when it has taken effect
// (Wait). The connectors command and the remediator both act through it
// and compare no Connect state themselves, so they agree on what every
// action does in every state, following Connect's own semantics:
//
//   - Pause, resume and restart keep or change the connector's target
//     state; a restarted instance comes back in that state, so a PAUSED
//     connector restarts into PAUSED.
//   - A FAILED instance does not follow pause or resume: it stays FAILED
//     until it is restarted. Such instances are reported, not waited for.
//   - A STOPPED connector has no tasks, so it has nothing to pause:
//     pausing it would start it, in PAUSED, which no one asking to pause
//     wants; it is not needed.
//
// Every request is accepted asynchronously and the status arrives late
// through the status topic, so an action has taken effect only when
// several consecutive status reads show it.
package connectaction

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectaction/actionkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
)

// Action is one action on one connector.
type Action struct {
	Kind      actionkind.Kind
	Connector string
	// Task is the task RestartTask restarts.
	Task int
	// Restart says which instances Restart restarts; for RestartTask,
	// OnlyFailed restarts the task only when it is FAILED.
	Restart connect.RestartOptions
	// TasksMax is the tasks.max Scale sets.
	TasksMax int
}

func (a Action) String() string {
	switch a.Kind {
	case actionkind.RestartTask:
		return fmt.Sprintf("restart task %d of %s", a.Task, a.Connector)
	case actionkind.Restart:
		return fmt.Sprintf("restart %s (includeTasks=%t, onlyFailed=%t)", a.Connector, a.Restart.IncludeTasks, a.Restart.OnlyFailed)
	case actionkind.Scale:
		return fmt.Sprintf("scale %s to tasks.max=%d", a.Connector, a.TasksMax)
	}
	return string(a.Kind) + " " + a.Connector
}

// Client is what the actions need from a Connect cluster;
// *connect.Client implements it.
type Client interface {
	Status(ctx context.Context, name string) (*connect.Status, error)
	Pause(ctx context.Context, name string) error
	Resume(ctx context.Context, name string) error
	Stop(ctx context.Context, name string) error
	RestartConnector(ctx context.Context, name string, opts connect.RestartOptions) (*connect.Status, error)
	RestartTask(ctx context.Context, name string, task int) error
}

// InfoReader reads a connector's definition; Scale's verification needs
// it to see the new tasks.max applied.
type InfoReader interface {
	Info(ctx context.Context, name string) (*connect.Info, error)
}

// Refusal is an action that cannot do anything in the connector's
// current state; nothing is sent.
type Refusal struct {
	Action Action
	Reason string
}

func (r *Refusal) Error() string { return r.Reason }

// expectation is the state an action leads to, decided from the status
// read before it.
type expectation struct {
	Action Action
	// State is what the connector and the instances the action affects
	// reach; "" when only the configuration is awaited (scaling a
	// STOPPED connector).
	State    string
	minTasks int
	noTasks  bool
	// tasksMax, when set, also waits for the definition to carry it and
	// the status to list as many tasks as the definition.
	tasksMax string
	// stuckConnector and stuckTasks are instances FAILED before the
	// action that it does not restart: they stay FAILED.
	stuckConnector bool
	stuckTasks     map[int]bool
}

// expect decides what a leads to from before, the connector's status
// read right before acting. It refuses an action that cannot do anything
// in that state.
func expect(a Action, before *connect.Status) (expectation, error) {
	e := expectation{Action: a, stuckTasks: map[int]bool{}}
	prior := before.Connector.State
	// keepFailed marks the FAILED instances as staying FAILED.
	keepFailed := func(connector bool, task func(id int) bool) {
		e.stuckConnector = connector && prior == connect.StateFailed
		for _, t := range before.Tasks {
			if t.State == connect.StateFailed && task(t.ID) {
				e.stuckTasks[t.ID] = true
			}
		}
	}
	all := func(int) bool { return true }
	switch a.Kind {
	case actionkind.Pause:
		e.State = connect.StatePaused
		keepFailed(true, all)
	case actionkind.Resume:
		e.State, e.minTasks = connect.StateRunning, 1
		keepFailed(true, all)
	case actionkind.Stop:
		e.State, e.noTasks = connect.StateStopped, true
	case actionkind.Restart:
		if prior == connect.StateStopped {
			return e, &Refusal{a, "connector is STOPPED: a stopped connector has no tasks to restart; resume it instead"}
		}
		e.State = restartedState(prior)
		if e.State == connect.StateRunning && len(before.Tasks) > 0 {
			e.minTasks = 1
		}
		// Instances the request leaves alone keep their state: the
		// connector unless it is restarted, tasks unless includeTasks.
		restartsConnector := !a.Restart.OnlyFailed || prior == connect.StateFailed
		keepFailed(!restartsConnector, func(int) bool { return !a.Restart.IncludeTasks })
	case actionkind.RestartTask:
		task := before.Task(a.Task)
		if task == nil {
			return e, &Refusal{a, fmt.Sprintf("connector %s has no task %d (tasks: %s)", a.Connector, a.Task, taskIDs(before))}
		}
		e.State = restartedState(prior)
		// Only the restarted task is awaited; the others keep their
		// state, FAILED ones included.
		keepFailed(true, func(id int) bool { return id != a.Task })
	case actionkind.Scale:
		if a.TasksMax < 1 {
			return e, &Refusal{a, fmt.Sprintf("tasks.max must be at least 1, got %d", a.TasksMax)}
		}
		e.tasksMax = strconv.Itoa(a.TasksMax)
		switch prior {
		case connect.StateStopped:
			// A stopped connector has no tasks to count: only the
			// definition shows the change.
			e.State = ""
		case connect.StatePaused:
			e.State = connect.StatePaused
		default:
			// New task configurations restart every task, FAILED ones
			// included, so anything else comes back running.
			e.State, e.minTasks = connect.StateRunning, 1
		}
	default:
		return e, &Refusal{a, fmt.Sprintf("unknown action %q", a.Kind)}
	}
	return e, nil
}

// restartedState is the state a restarted instance comes back in:
// Connect keeps the target state across restarts.
func restartedState(prior string) string {
	if prior == connect.StatePaused {
		return connect.StatePaused
	}
	return connect.StateRunning
}

// Send makes the request. Scale's request is the new configuration,
// which the caller puts (it must send back every other setting as read).
func Send(ctx context.Context, c Client, a Action) error {
	var err error
	switch a.Kind {
	case actionkind.Pause:
		err = c.Pause(ctx, a.Connector)
	case actionkind.Resume:
		err = c.Resume(ctx, a.Connector)
	case actionkind.Stop:
		err = c.Stop(ctx, a.Connector)
	case actionkind.Restart:
		_, err = c.RestartConnector(ctx, a.Connector, a.Restart)
	case actionkind.RestartTask:
		err = c.RestartTask(ctx, a.Connector, a.Task)
	default:
		return fmt.Errorf("%s is not sent by Send", a.Kind)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", verb(a.Kind), err)
	}
	return nil
}

func verb(k actionkind.Kind) string {
	switch k {
	case actionkind.Pause:
		return "pausing"
	case actionkind.Resume:
		return "resuming"
	case actionkind.Stop:
		return "stopping"
	case actionkind.Restart:
		return "restarting"
	case actionkind.RestartTask:
		return "restarting the task"
	}
	return string(k)
}

// Describe is what the expectation waits for: "connector and tasks PAUSED".
func (e expectation) Describe() string {
	switch {
	case e.State == "":
		return "tasks.max=" + e.tasksMax + " in the definition"
	case e.noTasks:
		return fmt.Sprintf("connector %s with no tasks", e.State)
	case e.Action.Kind == actionkind.RestartTask:
		return fmt.Sprintf("task %d %s", e.Action.Task, e.State)
	case e.tasksMax != "":
		return fmt.Sprintf("tasks.max=%s applied, connector and tasks %s", e.tasksMax, e.State)
	}
	return fmt.Sprintf("connector and tasks %s", e.State)
}

// reached reports whether st (and info, when the expectation needs the
// definition) shows the action's effect; when not, why.
func (e expectation) reached(st *connect.Status, info *connect.Info) (bool, string) {
	if e.tasksMax != "" && info != nil {
		if got := info.Config[connectorkind.KeyTasksMax]; got != e.tasksMax {
			return false, "configuration not applied yet (tasks.max=" + got + ")"
		}
	}
	if e.State == "" {
		return true, ""
	}
	if e.Action.Kind == actionkind.RestartTask {
		return e.taskReached(st)
	}
	if c := st.Connector.State; c != e.State && !(e.stuckConnector && c == connect.StateFailed) {
		return false, "connector is " + c
	}
	if e.noTasks && len(st.Tasks) > 0 {
		return false, fmt.Sprintf("%d tasks still listed", len(st.Tasks))
	}
	if len(st.Tasks) < e.minTasks {
		return false, "no tasks yet"
	}
	for _, t := range st.Tasks {
		if t.State != e.State && !(e.stuckTasks[t.ID] && t.State == connect.StateFailed) {
			return false, fmt.Sprintf("task %d is %s", t.ID, t.State)
		}
	}
	if e.tasksMax != "" && info != nil && len(info.Tasks) != len(st.Tasks) {
		return false, fmt.Sprintf("%d tasks defined, %d in the status", len(info.Tasks), len(st.Tasks))
	}
	return true, ""
}

// taskReached reports whether the one task a task restart acts on is in
// the expected state; when not, why.
func (e expectation) taskReached(st *connect.Status) (bool, string) {
	t := st.Task(e.Action.Task)
	if t == nil {
		return false, fmt.Sprintf("task %d not listed", e.Action.Task)
	}
	if t.State != e.State {
		return false, fmt.Sprintf("task %d is %s", t.ID, t.State)
	}
	return true, ""
}

// unexpectedFailure names the FAILED instances the action should have
// brought to its state, with the first line of their trace.
func (e expectation) unexpectedFailure(st *connect.Status) string {
	var parts []string
	if st.Connector.State == connect.StateFailed && !e.stuckConnector {
		parts = append(parts, "connector FAILED"+traceSuffix(st.Connector.Trace))
	}
	for _, t := range sortedTasks(st) {
		if t.State != connect.StateFailed || e.stuckTasks[t.ID] {
			continue
		}
		if e.Action.Kind == actionkind.RestartTask && t.ID != e.Action.Task {
			continue
		}
		parts = append(parts, fmt.Sprintf("task %d FAILED%s", t.ID, traceSuffix(t.Trace)))
	}
	return strings.Join(parts, "; ")
}

// stillFailed names the instances that stayed FAILED through the action,
// as expected, and why they did: the result and the audit detail say so.
func (e expectation) stillFailed(st *connect.Status) string {
	var names []string
	if e.stuckConnector && st.Connector.State == connect.StateFailed {
		names = append(names, "the connector")
	}
	for _, t := range sortedTasks(st) {
		if e.stuckTasks[t.ID] && t.State == connect.StateFailed {
			names = append(names, fmt.Sprintf("task %d%s", t.ID, traceSuffix(t.Trace)))
		}
	}
	if len(names) == 0 {
		return ""
	}
	why := "a FAILED instance stays FAILED until it is restarted"
	switch e.Action.Kind {
	case actionkind.Pause:
		why = "a FAILED instance does not pause; it stays FAILED until it is restarted"
	case actionkind.Resume:
		why = "resume does not restart FAILED instances"
	case actionkind.Restart:
		why = "the restart did not include it"
	}
	return fmt.Sprintf("%s still FAILED (%s: restart with onlyFailed to bring it back)", strings.Join(names, ", "), why)
}

func traceSuffix(trace string) string {
	if trace == "" {
		return ""
	}
	return " (" + connect.RootCause(trace) + ")"
}

func sortedTasks(s *connect.Status) []connect.TaskInfo {
	tasks := append([]connect.TaskInfo(nil), s.Tasks...)
	sort.Slice(tasks, func(i, j int) bool { return tasks[i].ID < tasks[j].ID })
	return tasks
}

func taskIDs(st *connect.Status) string {
	if len(st.Tasks) == 0 {
		return "none"
	}
	ids := make([]string, 0, len(st.Tasks))
	for _, t := range sortedTasks(st) {
		ids = append(ids, strconv.Itoa(t.ID))
	}
	return strings.Join(ids, ", ")
}

// DescribeState summarises a status: "connector RUNNING, tasks 0 RUNNING, 1 FAILED".
func DescribeState(s *connect.Status) string {
	var b strings.Builder
	b.WriteString("connector ")
	b.WriteString(s.Connector.State)
	if len(s.Tasks) == 0 {
		b.WriteString(", no tasks")
		return b.String()
	}
	tasks := sortedTasks(s)
	same := true
	for _, t := range tasks {
		same = same && t.State == tasks[0].State
	}
	if same {
		noun := "task"
		if len(tasks) > 1 {
			noun = "tasks"
		}
		fmt.Fprintf(&b, ", %d %s %s", len(tasks), noun, tasks[0].State)
		return b.String()
	}
	b.WriteString(", tasks")
	for i, t := range tasks {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, " %d %s", t.ID, t.State)
	}
	return b.String()
}
