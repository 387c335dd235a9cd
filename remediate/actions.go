package remediate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/template"

	amtemplate "github.com/prometheus/alertmanager/template"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectaction"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

// Connect is what the actions need from a Kafka Connect cluster;
// *connect.Client implements it.
type Connect interface {
	connectaction.Client
}

// Reconciler starts a table's full reconcile (the drift package's runner
// implements it) and returns the run's id.
type Reconciler interface {
	Start(ctx context.Context, table string, repair bool) (string, error)
}

// Action names, as rules spell them.
const (
	ActionRestartTask      = "restart_task"
	ActionRestartConnector = "restart_connector"
	ActionPauseConnector   = "pause_connector"
	ActionResumeConnector  = "resume_connector"
	ActionReconcile        = "reconcile"
)

// labelArgs are the arguments taken from the alert's labels of the same
// name when a rule does not set them.
var labelArgs = []string{"connect_cluster", "connector", "task", "table"}

// argsFor lists the arguments each action uses, in audit order.
var argsFor = map[string][]string{
	ActionRestartTask:      {"connect_cluster", "connector", "task"},
	ActionRestartConnector: {"connect_cluster", "connector", "includeTasks", "onlyFailed"},
	ActionPauseConnector:   {"connect_cluster", "connector"},
	ActionResumeConnector:  {"connect_cluster", "connector"},
	ActionReconcile:        {"table", "repair"},
}

// Defaults follow Strimzi's auto-restart, which restarts a connector with
// includeTasks=true&onlyFailed=true.
var argDefaults = map[string]string{"includeTasks": "true", "onlyFailed": "true", "repair": "false"}

// target is an action with its arguments resolved and checked.
type target struct {
	action    string
	args      map[string]string
	cluster   string
	client    Connect
	connector string
	task      int
	table     string
	restart   connect.RestartOptions
	repair    bool
	// expect is what the action leads to, decided by connectaction from
	// the status the precheck read.
	expect connectaction.Expectation
}

// connectAction is the connector action t stands for.
func (t *target) connectAction() connectaction.Action {
	a := connectaction.Action{Connector: t.connector, Task: t.task, Restart: t.restart}
	switch t.action {
	case ActionRestartTask:
		a.Kind = connectaction.RestartTask
	case ActionRestartConnector:
		a.Kind = connectaction.Restart
	case ActionPauseConnector:
		a.Kind = connectaction.Pause
	case ActionResumeConnector:
		a.Kind = connectaction.Resume
	}
	return a
}

// key names what an action touches, for cooldowns and attempt counts.
func (t *target) key() string {
	switch t.action {
	case ActionRestartTask:
		return fmt.Sprintf("connect/%s/%s/task/%d", t.cluster, t.connector, t.task)
	case ActionReconcile:
		return "table/" + t.table
	}
	return fmt.Sprintf("connect/%s/%s", t.cluster, t.connector)
}

// argError is an argument that is missing or wrong: outcome invalid_args.
type argError struct{ msg string }

func (e *argError) Error() string { return e.msg }

func compileArgs(args map[string]string) (map[string]*template.Template, error) {
	out := make(map[string]*template.Template, len(args))
	for k, v := range args {
		t, err := template.New(k).Option("missingkey=zero").Parse(v)
		if err != nil {
			return nil, fmt.Errorf("argument %s: %w", k, err)
		}
		out[k] = t
	}
	return out, nil
}

// resolve works out an action's arguments for one alert: the rule's
// templates first, then the alert's labels, then the action's defaults.
func (e *Engine) resolve(action string, tmpls map[string]*template.Template, j *store.Job) (*target, error) {
	data := amtemplate.Alert{
		Status: j.Phase, Labels: j.Labels, Annotations: j.Annotations,
		StartsAt: j.StartsAt, EndsAt: j.EndsAt, Fingerprint: j.Fingerprint,
	}
	if data.Annotations == nil {
		data.Annotations = amtemplate.KV{}
	}
	args := map[string]string{}
	for _, name := range argsFor[action] {
		if t := tmpls[name]; t != nil {
			var b strings.Builder
			if err := t.Execute(&b, data); err != nil {
				return &target{action: action, args: args}, &argError{fmt.Sprintf("argument %s: %v", name, err)}
			}
			args[name] = strings.TrimSpace(b.String())
			continue
		}
		if v, ok := j.Labels[name]; ok && contains(labelArgs, name) {
			// Trimmed like a template's output: both are names.
			args[name] = strings.TrimSpace(v)
			continue
		}
		if v, ok := argDefaults[name]; ok {
			args[name] = v
		}
	}
	t := &target{action: action, args: args}
	bad := func(format string, a ...any) (*target, error) {
		return t, &argError{fmt.Sprintf(format, a...)}
	}
	switch action {
	case ActionReconcile:
		if t.table = args["table"]; t.table == "" {
			return bad("no table: set args.table or give the alert a table label")
		}
		r, err := strconv.ParseBool(args["repair"])
		if err != nil {
			return bad("repair %q is not a boolean", args["repair"])
		}
		t.repair = r
		return t, nil
	}
	t.cluster = args["connect_cluster"]
	if t.cluster == "" {
		if len(e.clusterNames) != 1 {
			return bad("no connect_cluster: set args.connect_cluster or give the alert a connect_cluster label (%d clusters configured)", len(e.clusterNames))
		}
		t.cluster = e.clusterNames[0]
		args["connect_cluster"] = t.cluster
	}
	if t.client = e.clusters[t.cluster]; t.client == nil {
		return bad("connect cluster %q is not configured (known: %s)", t.cluster, strings.Join(e.clusterNames, ", "))
	}
	if t.connector = args["connector"]; t.connector == "" {
		return bad("no connector: set args.connector or give the alert a connector label")
	}
	// A name Connect cannot have would reach another URL than the
	// connector's (/connectors/../pause is /pause): never sent.
	if err := connectorkind.ValidateName(t.connector); err != nil {
		return bad("%v", err)
	}
	switch action {
	case ActionRestartTask:
		n, err := strconv.Atoi(args["task"])
		if err != nil || n < 0 {
			if args["task"] == "" {
				return bad("no task: set args.task or give the alert a task label")
			}
			return bad("task %q is not a task id", args["task"])
		}
		t.task = n
	case ActionRestartConnector:
		var err error
		if t.restart.IncludeTasks, err = strconv.ParseBool(args["includeTasks"]); err != nil {
			return bad("includeTasks %q is not a boolean", args["includeTasks"])
		}
		if t.restart.OnlyFailed, err = strconv.ParseBool(args["onlyFailed"]); err != nil {
			return bad("onlyFailed %q is not a boolean", args["onlyFailed"])
		}
	}
	return t, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// precheck reads the live state before acting. It returns not_needed or
// not_retryable with the reason, or "" to go ahead. An error means the
// state could not be read; nothing was done.
func (e *Engine) precheck(ctx context.Context, t *target) (string, string, error) {
	switch t.action {
	case ActionReconcile:
		return "", "", nil
	}
	st, err := connectaction.ReadStatus(ctx, t.client, t.connector)
	if err != nil {
		return "", "", fmt.Errorf("reading the status of %s: %w", t.connector, err)
	}
	e.metrics.live.add(t.cluster, t.connector)
	if t.action == ActionRestartTask && st.Task(t.task) == nil {
		// Not refused: the task may be listed again after a rebalance.
		return "", "", fmt.Errorf("connector %s has no task %d (tasks: %s)", t.connector, t.task, taskList(st))
	}
	// What the action leads to from this state, and whether it can do
	// anything at all, is connectaction's to decide, the same for the
	// remediator and the connectors command.
	expect, err := connectaction.Expect(t.connectAction(), st)
	var refused *connectaction.Refusal
	if errors.As(err, &refused) {
		return OutcomeNotNeeded, refused.Reason, nil
	}
	if err != nil {
		return "", "", err
	}
	t.expect = expect
	switch t.action {
	case ActionRestartTask:
		outcome, reason := taskRestartNeeded(st, t.task)
		return outcome, reason, nil
	case ActionRestartConnector:
		outcome, reason := connectorRestartNeeded(st, t.restart)
		return outcome, reason, nil
	case ActionPauseConnector:
		switch st.Connector.State {
		case connect.StatePaused, connect.StateStopped:
			return OutcomeNotNeeded, "connector is " + st.Connector.State, nil
		}
	case ActionResumeConnector:
		switch st.Connector.State {
		case connect.StatePaused, connect.StateStopped:
		default:
			return OutcomeNotNeeded, "connector is " + st.Connector.State, nil
		}
	}
	return "", "", nil
}

// taskRestartNeeded says whether restarting task id can help: not when it
// has not failed, nor when its failure is one a restart cannot fix.
func taskRestartNeeded(st *connect.Status, id int) (outcome, reason string) {
	task := st.Task(id)
	if task.State != connect.StateFailed {
		return OutcomeNotNeeded, fmt.Sprintf("task %d is %s", id, task.State)
	}
	if class := classifyTrace(task.Trace); class != "" {
		return OutcomeNotRetryable, fmt.Sprintf("task %d failed on %s, which a restart cannot fix: %s", id, class, connect.RootCause(task.Trace))
	}
	return "", ""
}

// connectorRestartNeeded says whether a connector restart of this kind
// can help: not when nothing it restarts has failed and all runs, nor
// when every failure it would restart is one a restart cannot fix.
func connectorRestartNeeded(st *connect.Status, o connect.RestartOptions) (outcome, reason string) {
	var failed, traces []string
	if st.Connector.State == connect.StateFailed {
		failed = append(failed, "connector")
		traces = append(traces, st.Connector.Trace)
	}
	for _, task := range st.Tasks {
		if task.State == connect.StateFailed && o.IncludeTasks {
			failed = append(failed, fmt.Sprintf("task %d", task.ID))
			traces = append(traces, task.Trace)
		}
	}
	if len(failed) == 0 {
		if st.Connector.State == connect.StateRunning && (o.OnlyFailed || allTasks(st, connect.StateRunning)) {
			return OutcomeNotNeeded, "connector and tasks are " + connectaction.DescribeState(st)
		}
		if o.OnlyFailed {
			return OutcomeNotNeeded, "nothing is FAILED: " + connectaction.DescribeState(st)
		}
	}
	if classes := unfixableFailures(traces); classes != nil {
		return OutcomeNotRetryable, "failed on " + strings.Join(classes, "; ")
	}
	return "", ""
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

// perform takes the action. It returns a detail for the audit record.
func (e *Engine) perform(ctx context.Context, t *target) (string, error) {
	if t.action == ActionReconcile {
		if e.reconciler == nil {
			return "", errors.New("reconcile not configured")
		}
		id, err := e.reconciler.Start(ctx, t.table, t.repair)
		if err != nil {
			return "", fmt.Errorf("starting the reconcile of %s: %w", t.table, err)
		}
		return "reconcile started: " + id, nil
	}
	return "", connectaction.Send(ctx, t.client, t.connectAction())
}

// verifyReads is how many consecutive status reads must show an action's
// effect before it counts as verified.
const verifyReads = 3

// verify waits, through connectaction, until the action shows its
// effect or the verify timeout passes. The detail names instances that
// stayed FAILED through it, as Connect leaves them.
func (e *Engine) verify(ctx context.Context, t *target) (string, error) {
	if t.action == ActionReconcile {
		return "", nil // the reconcile reports on its own run
	}
	r := connectaction.Wait(ctx, t.client, t.expect, connectaction.Options{Timeout: e.cfg.VerifyTimeout, PollInterval: e.verifyInterval, Settle: verifyReads})
	if !r.OK {
		return "", r.Err
	}
	return r.Detail(), nil
}

func taskList(st *connect.Status) string {
	ids := make([]string, 0, len(st.Tasks))
	for _, t := range st.Tasks {
		ids = append(ids, strconv.Itoa(t.ID))
	}
	sort.Strings(ids)
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}

func allTasks(st *connect.Status, state string) bool {
	for _, t := range st.Tasks {
		if t.State != state {
			return false
		}
	}
	return true
}
