package connectaction

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectaction/actionkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
)

// Wants says, for the help text, what each command's action waits for.
func Wants(k actionkind.Kind) string {
	switch k {
	case actionkind.Pause:
		return "the connector and every task PAUSED (a FAILED task stays FAILED until restarted, and is named; a STOPPED connector is left STOPPED)"
	case actionkind.Resume:
		return "the connector and at least one task RUNNING (a FAILED task stays FAILED until restarted, and is named)"
	case actionkind.Restart:
		return "the connector and every task back in the state they had before (RUNNING, or PAUSED for a paused connector), none RESTARTING"
	case actionkind.Stop:
		return "the connector STOPPED with no tasks"
	}
	return ""
}

// CommandAction is the action a connectors subcommand asks for: a
// restart includes the tasks, restarts only the FAILED instances with
// onlyFailed, and only the task named when task is set (then onlyFailed
// restarts it only when it is FAILED).
func CommandAction(k actionkind.Kind, onlyFailed bool, task *int) Action {
	a := Action{Kind: k}
	switch {
	case k != actionkind.Restart:
	case task != nil:
		a.Kind, a.Task, a.Restart.OnlyFailed = actionkind.RestartTask, *task, onlyFailed
	default:
		a.Restart = connect.RestartOptions{IncludeTasks: true, OnlyFailed: onlyFailed}
	}
	return a
}

// Operator acts on one Connect cluster.
type Operator struct {
	client *connect.Client
	opts   Options
}

// NewOperator returns an Operator; zero fields of opts take the defaults.
func NewOperator(c *connect.Client, opts Options) *Operator {
	return &Operator{client: c, opts: opts.withDefaults()}
}

// UnknownConnectorsError names connectors the cluster does not have.
type UnknownConnectorsError struct {
	Cluster string
	Names   []string
	Known   []string
}

func (e *UnknownConnectorsError) Error() string {
	known := "it has none"
	if len(e.Known) > 0 {
		known = "it has: " + strings.Join(e.Known, ", ")
	}
	noun := "connector"
	if len(e.Names) > 1 {
		noun = "connectors"
	}
	return fmt.Sprintf("unknown %s %s on connect cluster %s (%s)", noun, quoteAll(e.Names), e.Cluster, known)
}

// Is makes errors.Is(err, connect.ErrNotFound) hold.
func (e *UnknownConnectorsError) Is(target error) bool { return target == connect.ErrNotFound }

// UnknownTaskError names a task id the connector does not run.
type UnknownTaskError struct {
	Cluster   string
	Connector string
	Task      int
	Known     []int
}

func (e *UnknownTaskError) Error() string {
	known := "it has none running"
	if len(e.Known) > 0 {
		ids := make([]string, len(e.Known))
		for i, id := range e.Known {
			ids[i] = strconv.Itoa(id)
		}
		known = "it has: " + strings.Join(ids, ", ")
	}
	return fmt.Sprintf("unknown task %d of connector %s on connect cluster %s (%s)", e.Task, e.Connector, e.Cluster, known)
}

// Is makes errors.Is(err, connect.ErrNotFound) hold, as for an unknown
// connector.
func (e *UnknownTaskError) Is(target error) bool { return target == connect.ErrNotFound }

// CheckTask says whether each of the connectors runs task id, by the
// status Resolve read, before anything is sent. A connector whose status
// has not arrived yet (created a moment ago) is not judged.
func (o *Operator) CheckTask(conns []connect.Connector, id int) error {
	for _, c := range conns {
		if c.Status.Connector.State == "" {
			continue
		}
		if d := Decide(Action{Kind: actionkind.RestartTask, Connector: c.Name(), Task: id}, &c.Status); d.Verdict != NoTask {
			continue
		}
		var known []int
		for _, t := range sortedTasks(&c.Status) {
			known = append(known, t.ID)
		}
		return &UnknownTaskError{Cluster: o.client.Name(), Connector: c.Name(), Task: id, Known: known}
	}
	return nil
}

// Resolve turns the command line's names (or --all) into the connectors
// to act on. Every name is checked before anything is changed, so a typo
// in the third of five names does not leave two connectors paused.
func (o *Operator) Resolve(ctx context.Context, names []string, all bool) ([]connect.Connector, error) {
	if all && len(names) > 0 {
		return nil, errors.New("name connectors or pass --all, not both")
	}
	if !all && len(names) == 0 {
		return nil, errors.New("name at least one connector, or pass --all")
	}
	// A name Connect's REST API cannot address would reach another URL
	// ("..": /connectors/../pause is /pause): refuse it before anything
	// is read or changed.
	for _, n := range names {
		if err := connectorkind.ValidateName(n); err != nil {
			return nil, err
		}
	}
	conns, err := o.client.Connectors(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing connectors: %w", err)
	}
	if all {
		return conns, nil
	}
	byName := make(map[string]connect.Connector, len(conns))
	known := make([]string, 0, len(conns))
	for _, c := range conns {
		byName[c.Name()] = c
		known = append(known, c.Name())
	}
	var out []connect.Connector
	var unknown []string
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		c, ok := byName[n]
		if !ok {
			// The expanded listing leaves out a connector created a
			// moment ago, until its first status arrives through the
			// status topic: ask for its definition by name before
			// calling it unknown.
			info, err := o.client.Info(ctx, n)
			switch {
			case errors.Is(err, connect.ErrNotFound):
				unknown = append(unknown, n)
				continue
			case err != nil:
				return nil, fmt.Errorf("reading connector %s: %w", n, err)
			}
			c = connect.Connector{Info: *info, Status: connect.Status{Name: n}}
		}
		out = append(out, c)
	}
	if len(unknown) > 0 {
		sort.Strings(known)
		return nil, &UnknownConnectorsError{Cluster: o.client.Name(), Names: unknown, Known: known}
	}
	return out, nil
}

// Do runs action on each connector (its Connector is set to each
// target's name), all at once within Concurrency. Results come back in
// the order of targets.
func (o *Operator) Do(ctx context.Context, action Action, targets []connect.Connector) []Result {
	results := make([]Result, len(targets))
	var wg sync.WaitGroup
	sem := make(chan struct{}, o.opts.Concurrency)
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = o.do(ctx, action, t.Name())
		}()
	}
	wg.Wait()
	return results
}

func (o *Operator) do(ctx context.Context, action Action, name string) Result {
	// --all takes names from the listing, which may hold one the REST
	// API cannot address; it is reported, never acted on.
	if err := connectorkind.ValidateName(name); err != nil {
		return Result{Connector: name, Err: fmt.Errorf("not acted on: %w", err)}
	}
	action.Connector = name
	return Run(ctx, o.client, action, o.opts)
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
