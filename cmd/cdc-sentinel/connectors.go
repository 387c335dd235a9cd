package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectaction"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectaction/actionkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorlist"
)

// connectorsCmd holds what every `connectors` subcommand shares. The
// subcommands live here, except `validate`, which connectors_validate.go
// registers through addConnectorsValidate.
type connectorsCmd struct {
	sayMu   sync.Mutex
	g       *globals
	cluster string
	timeout time.Duration
}

func addConnectors(a *kingpin.Application, g *globals) {
	cmd := a.Command("connectors", "Operate Kafka Connect connectors: list them, pause, resume, restart, stop or scale them, each change verified by reading the status back."+exitHelp)
	cc := &connectorsCmd{g: g}
	cmd.Flag("connect-cluster", "Name of the connect_clusters entry to act on; required when several are configured.").StringVar(&cc.cluster)

	addConnectorsList(cmd, cc)
	for _, action := range actionkind.Commands() {
		addConnectorsAction(cmd, cc, action)
	}
	addConnectorsScale(cmd, cc)
	addConnectorsValidate(cmd, g, cc)
}

// timeoutFlag is on the commands that wait for a state, and only there.
func (cc *connectorsCmd) timeoutFlag(cmd *kingpin.CmdClause) {
	cmd.Flag("timeout", "How long to wait for each connector to reach the wanted state.").Default("60s").DurationVar(&cc.timeout)
}

// context is cancelled on Ctrl-C, so an interrupted wait still reports
// where each connector got to.
func (cc *connectorsCmd) context() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// config loads the configuration file.
func (cc *connectorsCmd) config() (*config.Config, error) {
	return config.Load(cc.g.configFile)
}

// client builds a client for the chosen cluster.
func (cc *connectorsCmd) client() (*connect.Client, error) {
	cfg, err := cc.config()
	if err != nil {
		return nil, err
	}
	cluster, err := cfg.PickConnectCluster(cc.cluster)
	if err != nil {
		return nil, usageErr{fmt.Errorf("%s: %w", cc.g.configFile, err)}
	}
	opts := []connect.Option{connect.WithUserAgent("cdc-sentinel/" + version.Version)}
	if isTerminal(cc.g.stderr) {
		// A worker that is rebalancing answers 409 for a while: say why
		// nothing seems to happen.
		opts = append(opts, connect.WithRetryNotify(func(method, path string, err error, wait time.Duration) {
			cc.say("%s %s: %v; retrying in %s", method, path, err, wait)
		}))
	}
	return connect.New(cluster, opts...)
}

func (cc *connectorsCmd) operator() (*connectaction.Operator, *connect.Client, error) {
	c, err := cc.client()
	if err != nil {
		return nil, nil, err
	}
	return connectaction.NewOperator(c, connectaction.Options{Timeout: cc.timeout, OnState: cc.progress()}), c, nil
}

// fail reports err: a bad configuration or cluster choice is a
// configuration error (2), anything else a failed operation (1).
func (cc *connectorsCmd) fail(err error) int {
	if errors.Is(err, config.ErrInvalid) || errors.Is(err, errUsage) {
		return cc.g.usageError(err)
	}
	return cc.g.failed(err)
}

// errUsage marks errors in what the user asked for (exit 2).
var errUsage = errors.New("usage")

type usageErr struct{ error }

func (e usageErr) Unwrap() error        { return e.error }
func (e usageErr) Is(target error) bool { return target == errUsage }

// progress prints each state a connector passes through while it is
// waited for, on a terminal only: piped output stays the final result.
func (cc *connectorsCmd) progress() func(connector, state string) {
	if !isTerminal(cc.g.stderr) {
		return nil
	}
	return func(connector, state string) { cc.say("%s: %s", connector, state) }
}

// say writes one timestamped progress line to stderr; calls may come from
// several connectors' waits at once.
func (cc *connectorsCmd) say(format string, args ...any) {
	cc.sayMu.Lock()
	defer cc.sayMu.Unlock()
	fmt.Fprintf(cc.g.stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func addConnectorsList(parent *kingpin.CmdClause, cc *connectorsCmd) {
	cmd := parent.Command("list", "List connectors with their tasks, states and workers; a failed one with the root cause of its trace (--output=json keeps the whole trace)."+exitHelp)
	var output string
	outputFlag(cmd, &output)
	cc.g.handle(cmd, func() int {
		c, err := cc.client()
		if err != nil {
			return cc.fail(err)
		}
		ctx, stop := cc.context()
		defer stop()
		l, err := connectorlist.List(ctx, c)
		if err != nil {
			return cc.fail(err)
		}
		if output == "json" {
			err = l.WriteJSON(cc.g.stdout)
		} else {
			err = l.WriteTable(cc.g.stdout)
		}
		if err != nil {
			return cc.fail(err)
		}
		return exitOK
	})
}

// actionResult is one connector's outcome in --output=json.
type actionResult struct {
	Connector string `json:"connector"`
	OK        bool   `json:"ok"`
	State     string `json:"state,omitempty"`
	// Note names instances that stayed FAILED through the action (a
	// FAILED task does not pause or resume until it is restarted).
	Note           string  `json:"note,omitempty"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	Error          string  `json:"error,omitempty"`
}

func newActionResult(r connectaction.Result) actionResult {
	out := actionResult{Connector: r.Connector, OK: r.OK, State: r.State, Note: r.Note, ElapsedSeconds: r.Elapsed.Seconds()}
	if r.Err != nil {
		out.Error = r.Err.Error()
	}
	return out
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// checkTargets refuses, before anything is read or changed, what the
// user got wrong on the command line (exit 2).
func checkTargets(names []string, all bool) error {
	switch {
	case all && len(names) > 0:
		return usageErr{errors.New("name connectors or pass --all, not both")}
	case !all && len(names) == 0:
		return usageErr{errors.New("name at least one connector, or pass --all")}
	}
	for _, n := range names {
		if err := connectorkind.ValidateName(n); err != nil {
			return usageErr{err}
		}
	}
	return nil
}

func addConnectorsAction(parent *kingpin.CmdClause, cc *connectorsCmd, action actionkind.Kind) {
	verb := strings.ToUpper(string(action[:1])) + string(action[1:])
	help := fmt.Sprintf("%s connectors, then wait for %s; on a terminal, each state they pass through is shown.", verb, connectaction.Wants(action))
	cmd := parent.Command(string(action), help+exitHelp)
	names := cmd.Arg("name", "Connectors to act on.").Strings()
	all := cmd.Flag("all", "Act on every connector of the cluster.").Bool()
	cc.timeoutFlag(cmd)
	var output string
	outputFlag(cmd, &output)
	var onlyFailed *bool
	var task *int
	var taskSet bool
	if action == actionkind.Restart {
		onlyFailed = cmd.Flag("only-failed", "Restart only the FAILED connector instance and tasks (includeTasks=true&onlyFailed=true); with --task, the task only when it is FAILED.").Bool()
		task = cmd.Flag("task", "Restart only this task (POST /connectors/NAME/tasks/ID/restart); it comes back in the connector's state, PAUSED for a paused connector.").PlaceHolder("ID").IsSetByUser(&taskSet).Int()
	}
	cc.g.handle(cmd, func() int {
		if err := checkTargets(*names, *all); err != nil {
			return cc.fail(err)
		}
		if taskSet && (*all || *task < 0) {
			return cc.fail(usageErr{fmt.Errorf("--task needs named connectors and a task id of 0 or more (got --task=%d)", *task)})
		}
		op, c, err := cc.operator()
		if err != nil {
			return cc.fail(err)
		}
		var taskID *int
		if taskSet {
			taskID = task
		}
		act := connectaction.CommandAction(action, onlyFailed != nil && *onlyFailed, taskID)
		ctx, stop := cc.context()
		defer stop()
		targets, err := resolveTargets(ctx, op, *names, *all, taskID)
		if err != nil {
			return cc.fail(err)
		}
		return cc.report(action, output, c.Name(), len(targets), op.Do(ctx, act, targets))
	})
}

// resolveTargets are the connectors named (or all of the cluster's),
// each holding the task when one is given; one that does not exist is a
// usage error.
func resolveTargets(ctx context.Context, op *connectaction.Operator, names []string, all bool, task *int) ([]connect.Connector, error) {
	targets, err := op.Resolve(ctx, names, all)
	if err == nil && task != nil {
		err = op.CheckTask(targets, *task)
	}
	if errors.Is(err, connect.ErrNotFound) {
		err = usageErr{err}
	}
	return targets, err
}

// report prints an action's results, as JSON or one line each, and
// returns the exit code: failed when any did.
func (cc *connectorsCmd) report(action actionkind.Kind, output, cluster string, targets int, results []connectaction.Result) int {
	code := exitOK
	for _, r := range results {
		if !r.OK {
			code = exitFailed
		}
	}
	if output == "json" {
		out := make([]actionResult, 0, len(results))
		for _, r := range results {
			out = append(out, newActionResult(r))
		}
		if err := writeJSON(cc.g.stdout, out); err != nil {
			return cc.fail(err)
		}
		return code
	}
	if targets == 0 {
		fmt.Fprintf(cc.g.stdout, "no connectors on connect cluster %s\n", cluster)
	}
	for _, r := range results {
		if r.OK {
			fmt.Fprintln(cc.g.stdout, r)
		} else {
			fmt.Fprintf(cc.g.stderr, "cdc-sentinel: %s %s\n", action, r)
		}
	}
	return code
}

// scaleResult is scale's --output=json.
type scaleResult struct {
	actionResult
	TasksMax         int      `json:"tasks_max"`
	PreviousTasksMax int      `json:"previous_tasks_max"`
	Unchanged        bool     `json:"unchanged"`
	Warnings         []string `json:"warnings"`
}

func addConnectorsScale(parent *kingpin.CmdClause, cc *connectorsCmd) {
	cmd := parent.Command("scale", "Set a connector's tasks.max, leaving the rest of its configuration unchanged, and wait until the worker runs the new tasks."+exitHelp)
	name := cmd.Arg("name", "Connector to scale.").Required().String()
	tasks := cmd.Flag("tasks", "New tasks.max (at least 1).").Required().Int()
	cc.timeoutFlag(cmd)
	force := cmd.Flag("force", "Set tasks.max even above what the connector can run (one task per database for the SQL Server source, at most 8; one for the other Debezium sources; 32 for a JDBC sink into PostgreSQL).").Bool()
	var output string
	outputFlag(cmd, &output)
	cc.g.handle(cmd, func() int {
		if *tasks < 1 {
			return cc.fail(usageErr{fmt.Errorf("--tasks must be at least 1, got %d", *tasks)})
		}
		if err := connectorkind.ValidateName(*name); err != nil {
			return cc.fail(usageErr{err})
		}
		op, _, err := cc.operator()
		if err != nil {
			return cc.fail(err)
		}
		ctx, stop := cc.context()
		defer stop()
		// An unknown name is answered as every command answers it: exit 2
		// with the names the cluster has.
		_, err = op.Resolve(ctx, []string{*name}, false)
		var res *connectaction.ScaleResult
		if err == nil {
			res, err = op.Scale(ctx, *name, *tasks, *force)
		}
		var above *connectaction.TasksAboveLimitError
		if errors.Is(err, connect.ErrNotFound) || errors.As(err, &above) {
			err = usageErr{err}
		}
		if err != nil {
			return cc.fail(err)
		}
		code := exitOK
		if !res.Unchanged && !res.OK {
			code = exitFailed
		}
		if output == "json" {
			out := scaleResult{actionResult: newActionResult(res.Result), TasksMax: *tasks, PreviousTasksMax: res.Previous, Unchanged: res.Unchanged, Warnings: res.Warnings}
			out.Connector = *name
			if out.Warnings == nil {
				out.Warnings = []string{}
			}
			if err := writeJSON(cc.g.stdout, out); err != nil {
				return cc.fail(err)
			}
			return code
		}
		for _, w := range res.Warnings {
			fmt.Fprintf(cc.g.stderr, "cdc-sentinel: warning: %s\n", w)
		}
		switch {
		case res.Unchanged:
			fmt.Fprintf(cc.g.stdout, "%s: tasks.max is already %d, nothing to do\n", *name, *tasks)
		case res.OK:
			fmt.Fprintf(cc.g.stdout, "%s: tasks.max %d -> %d: %s\n", *name, res.Previous, *tasks, res.Result)
		default:
			fmt.Fprintf(cc.g.stderr, "cdc-sentinel: scale %s\n", res.Result)
		}
		return code
	})
}
