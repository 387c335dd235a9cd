package remediate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/template"

	amtemplate "github.com/prometheus/alertmanager/template"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connectaction"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectaction/actionkind"
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

// TablesFed lists the configured tables whose changes went through a
// source connector (topic empty) or a topic: what a data loss names
// (connectorkind.TablesFed decides it).
type TablesFed func(ctx context.Context, connector, topic string) ([]string, error)

// labelArgs are the arguments taken from the alert's labels of the same
// name when a rule does not set them.
var labelArgs = []string{"connect_cluster", "connector", "task", "table", "topic"}

// argsFor lists the arguments the action a rule names uses, in audit
// order.
func argsFor(action string) []string {
	if action == actionkind.Reconcile {
		// Without a table, the tables fed through the connector or topic
		// a data loss names.
		return []string{"table", "connector", "topic", "repair"}
	}
	switch k, _ := actionkind.FromRule(action); k {
	case actionkind.RestartTask:
		return []string{"connect_cluster", "connector", "task"}
	case actionkind.Restart:
		return []string{"connect_cluster", "connector", "includeTasks", "onlyFailed"}
	}
	return []string{"connect_cluster", "connector"}
}

// Defaults follow Strimzi's auto-restart, which restarts a connector with
// includeTasks=true&onlyFailed=true.
var argDefaults = map[string]string{"includeTasks": "true", "onlyFailed": "true", "repair": "false"}

// target is an action with its arguments resolved and checked.
type target struct {
	// action is the action as the rule names it.
	action  string
	args    map[string]string
	cluster string
	client  Connect
	// connector is the connector action, unless the action reconciles.
	connector connectaction.Action
	table     string
	repair    bool
	// lostConnector and lostTopic name what a data loss went through,
	// for a reconcile without a table: its tables are found when it runs.
	lostConnector, lostTopic string
}

func (t *target) reconciles() bool { return t.action == actionkind.Reconcile }

// key names what an action touches, for cooldowns and attempt counts.
func (t *target) key() string {
	switch {
	case t.reconciles() && t.table == "":
		return "fed/" + t.lostConnector + "/" + t.lostTopic
	case t.reconciles():
		return "table/" + t.table
	case t.connector.Kind == actionkind.RestartTask:
		return fmt.Sprintf("connect/%s/%s/task/%d", t.cluster, t.connector.Connector, t.connector.Task)
	}
	return fmt.Sprintf("connect/%s/%s", t.cluster, t.connector.Connector)
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
	args, err := alertArgs(action, tmpls, j)
	t := &target{action: action, args: args}
	if err != nil {
		return t, err
	}
	if t.reconciles() {
		return t, t.resolveTables()
	}
	return t, e.resolveConnector(t)
}

// alertArgs are the action's arguments for the alert of j, each from
// the rule's template, else the alert's label, else the default.
func alertArgs(action string, tmpls map[string]*template.Template, j *store.Job) (map[string]string, error) {
	data := amtemplate.Alert{
		Status: j.Phase, Labels: j.Labels, Annotations: j.Annotations,
		StartsAt: j.StartsAt, EndsAt: j.EndsAt, Fingerprint: j.Fingerprint,
	}
	if data.Annotations == nil {
		data.Annotations = amtemplate.KV{}
	}
	args := map[string]string{}
	for _, name := range argsFor(action) {
		if t := tmpls[name]; t != nil {
			var b strings.Builder
			if err := t.Execute(&b, data); err != nil {
				return args, argErrorf("argument %s: %v", name, err)
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
	return args, nil
}

func argErrorf(format string, a ...any) error { return &argError{fmt.Sprintf(format, a...)} }

// resolveTables reads what a reconcile action works on: a table, or the
// connector or topic whose tables it reconciles, and whether to repair.
func (t *target) resolveTables() error {
	args := t.args
	t.table, t.lostConnector, t.lostTopic = args["table"], args["connector"], args["topic"]
	if t.table != "" {
		delete(args, "connector")
		delete(args, "topic")
	}
	if t.table == "" && t.lostConnector == "" && t.lostTopic == "" {
		return argErrorf("no table: set args.table or give the alert a table label, or a connector or topic label for the tables fed through them")
	}
	r, err := strconv.ParseBool(args["repair"])
	if err != nil {
		return argErrorf("repair %q is not a boolean", args["repair"])
	}
	t.repair = r
	return nil
}

// resolveConnector reads what a connector action works on: the cluster
// (the only one when the alert names none), a connector name Connect
// can have, and the task or restart options of its kind.
func (e *Engine) resolveConnector(t *target) error {
	args := t.args
	t.connector.Kind, _ = actionkind.FromRule(t.action)
	t.cluster = args["connect_cluster"]
	if t.cluster == "" {
		if len(e.clusterNames) != 1 {
			return argErrorf("no connect_cluster: set args.connect_cluster or give the alert a connect_cluster label (%d clusters configured)", len(e.clusterNames))
		}
		t.cluster = e.clusterNames[0]
		args["connect_cluster"] = t.cluster
	}
	if t.client = e.clusters[t.cluster]; t.client == nil {
		return argErrorf("connect cluster %q is not configured (known: %s)", t.cluster, strings.Join(e.clusterNames, ", "))
	}
	c := &t.connector
	if c.Connector = args["connector"]; c.Connector == "" {
		return argErrorf("no connector: set args.connector or give the alert a connector label")
	}
	// A name Connect cannot have would reach another URL than the
	// connector's (/connectors/../pause is /pause): never sent.
	if err := connectorkind.ValidateName(c.Connector); err != nil {
		return argErrorf("%v", err)
	}
	switch c.Kind {
	case actionkind.RestartTask:
		n, err := strconv.Atoi(args["task"])
		if err != nil || n < 0 {
			if args["task"] == "" {
				return argErrorf("no task: set args.task or give the alert a task label")
			}
			return argErrorf("task %q is not a task id", args["task"])
		}
		// An alert's task restart is for a FAILED task.
		c.Task, c.Restart.OnlyFailed = n, true
	case actionkind.Restart:
		var err error
		if c.Restart.IncludeTasks, err = strconv.ParseBool(args["includeTasks"]); err != nil {
			return argErrorf("includeTasks %q is not a boolean", args["includeTasks"])
		}
		if c.Restart.OnlyFailed, err = strconv.ParseBool(args["onlyFailed"]); err != nil {
			return argErrorf("onlyFailed %q is not a boolean", args["onlyFailed"])
		}
	}
	return nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// reconcile starts the reconcile of the target's table, or of every
// table fed through the connector or topic it names; the detail lists
// each run, whose progress and audit are the reconciler's.
func (e *Engine) reconcile(ctx context.Context, t *target) (string, error) {
	if e.reconciler == nil {
		return "", errors.New("reconcile not configured")
	}
	tables := []string{t.table}
	if t.table == "" {
		what := "connector " + t.lostConnector
		if t.lostTopic != "" {
			what = "topic " + t.lostTopic
		}
		if e.tablesFed == nil {
			return "", fmt.Errorf("no table and no way to find the tables fed through %s", what)
		}
		fed, err := e.tablesFed(ctx, t.lostConnector, t.lostTopic)
		if err != nil {
			return "", fmt.Errorf("finding the tables fed through %s: %w", what, err)
		}
		if len(fed) == 0 {
			return "", fmt.Errorf("no configured table is fed through %s: nothing to repair automatically", what)
		}
		tables = fed
	}
	var started []string
	var errs []error
	for _, tb := range tables {
		id, err := e.reconciler.Start(ctx, tb, t.repair)
		if err != nil {
			errs = append(errs, fmt.Errorf("starting the reconcile of %s: %w", tb, err))
			continue
		}
		if t.table != "" {
			started = append(started, id)
		} else {
			started = append(started, tb+" "+id)
		}
	}
	detail := ""
	if len(started) > 0 {
		detail = "reconcile started: " + strings.Join(started, ", ")
	}
	return detail, errors.Join(errs...)
}

func describeAction(t *target) string {
	if t.reconciles() {
		return fmt.Sprintf("reconcile %s (repair=%t)", t.table, t.repair)
	}
	switch c := t.connector; c.Kind {
	case actionkind.RestartTask:
		return fmt.Sprintf("restart task %d of %s on %s", c.Task, c.Connector, t.cluster)
	case actionkind.Restart:
		return fmt.Sprintf("restart %s on %s (includeTasks=%t, onlyFailed=%t)", c.Connector, t.cluster, c.Restart.IncludeTasks, c.Restart.OnlyFailed)
	default:
		return fmt.Sprintf("%s %s on %s", c.Kind, c.Connector, t.cluster)
	}
}
