package connectaction

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectaction/actionkind"
)

// Verdict is what an action can do from a connector's live status.
type Verdict string

// The verdicts.
const (
	// Act: the action changes something; it is sent and its effect
	// awaited.
	Act Verdict = "act"
	// NotNeeded: the connector already is where the action leads, or
	// the action would change nothing (a pause of a STOPPED connector,
	// a restart of failed instances when none has failed).
	NotNeeded Verdict = "not_needed"
	// Unfixable: every failure the action would restart is one a
	// restart cannot fix (a configuration error, a missing table or
	// column, a refused login). The remediator does not send it; the
	// connectors command, asked by a person who may have fixed the
	// cause, sends it and says so.
	Unfixable Verdict = "unfixable"
	// Refused: the action cannot be carried out in this state; nothing
	// is sent.
	Refused Verdict = "refused"
	// NoTask: the task to restart is not listed. Nothing is sent; a
	// rebalance may list it again.
	NoTask Verdict = "no_task"
)

// Decision is what an action can do from one status.
type Decision struct {
	Action  Action
	Verdict Verdict
	// Reason says why the verdict is not Act.
	Reason string
	// Status is the status it was decided from.
	Status *connect.Status
	expect expectation
}

// Decide says what a can do from st, the connector's live status.
func Decide(a Action, st *connect.Status) Decision {
	d := Decision{Action: a, Verdict: Act, Status: st}
	if a.Kind == actionkind.RestartTask && st.Task(a.Task) == nil {
		d.Verdict, d.Reason = NoTask, fmt.Sprintf("connector %s has no task %d (tasks: %s)", a.Connector, a.Task, taskIDs(st))
		return d
	}
	e, err := expect(a, st)
	var refused *Refusal
	if errors.As(err, &refused) {
		d.Verdict, d.Reason = Refused, refused.Reason
		return d
	}
	d.expect = e
	d.Verdict, d.Reason = need(a, st, e)
	return d
}

// Err is the refusal of an action that is refused or whose task is not
// listed; nil otherwise.
func (d Decision) Err() error {
	switch d.Verdict {
	case Refused, NoTask:
		return &Refusal{Action: d.Action, Reason: d.Reason}
	}
	return nil
}

// need says whether an action the state allows changes anything. A
// pause, resume or stop is not needed when the status already shows its
// effect, read by the same check that verifies it, unless the connector
// is FAILED or not yet assigned: its state then hides the target state
// the action sets, which a restart brings it back in.
func need(a Action, st *connect.Status, e expectation) (Verdict, string) {
	state := st.Connector.State
	switch a.Kind {
	case actionkind.Pause, actionkind.Resume, actionkind.Stop:
		if a.Kind == actionkind.Pause && state == connect.StateStopped {
			return NotNeeded, "connector is STOPPED: it runs no tasks, and pausing it would start it"
		}
		if shows := state == connect.StateRunning || state == connect.StatePaused || state == connect.StateStopped; !shows {
			return Act, ""
		}
		if ok, _ := e.reached(st, nil); ok {
			return NotNeeded, "already there: " + DescribeState(st)
		}
	case actionkind.Restart:
		return restartNeed(st, a.Restart)
	case actionkind.RestartTask:
		task := st.Task(a.Task)
		if task.State != connect.StateFailed {
			if a.Restart.OnlyFailed {
				return NotNeeded, fmt.Sprintf("task %d is %s", a.Task, task.State)
			}
			return Act, ""
		}
		if class := classifyTrace(task.Trace); class != "" {
			return Unfixable, fmt.Sprintf("task %d failed on %s, which a restart cannot fix: %s", a.Task, class, connect.RootCause(task.Trace))
		}
	}
	return Act, ""
}

// restartNeed says whether a connector restart of this kind changes
// anything: not with onlyFailed when nothing it restarts has FAILED. It
// cannot help when every failure it restarts is one a restart cannot fix.
func restartNeed(st *connect.Status, o connect.RestartOptions) (Verdict, string) {
	var traces []string
	if st.Connector.State == connect.StateFailed {
		traces = append(traces, st.Connector.Trace)
	}
	for _, task := range st.Tasks {
		if task.State == connect.StateFailed && o.IncludeTasks {
			traces = append(traces, task.Trace)
		}
	}
	if len(traces) == 0 {
		switch {
		case !o.OnlyFailed:
			return Act, ""
		case anyTask(st, connect.StateFailed):
			return NotNeeded, "the connector is not FAILED and the restart leaves its tasks alone: " + DescribeState(st)
		}
		return NotNeeded, "nothing is FAILED: " + DescribeState(st)
	}
	if classes := unfixableFailures(traces); classes != nil {
		return Unfixable, "failed on " + strings.Join(classes, "; ")
	}
	return Act, ""
}

// unfixableFailures classifies each trace; nil unless every one is a
// failure a restart cannot fix (one restartable failure is worth the
// restart).
func unfixableFailures(traces []string) []string {
	var classes []string
	for _, tr := range traces {
		c := classifyTrace(tr)
		if c == "" {
			return nil
		}
		classes = append(classes, c+": "+connect.RootCause(tr))
	}
	return classes
}

func anyTask(st *connect.Status, state string) bool {
	for _, t := range st.Tasks {
		if t.State == state {
			return true
		}
	}
	return false
}
