package ops

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectaction"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
)

// Action is a state change the operator can make.
type Action string

// The actions `connectors` offers.
const (
	Pause   Action = "pause"
	Resume  Action = "resume"
	Restart Action = "restart"
	Stop    Action = "stop"
)

// Actions lists them in the order the help shows them.
var Actions = []Action{Pause, Resume, Restart, Stop}

// Wants says, for the help text, what each action waits for.
func (a Action) Wants() string {
	switch a {
	case Pause:
		return "the connector and every task PAUSED (a FAILED task stays FAILED until restarted, and is named)"
	case Resume:
		return "the connector and at least one task RUNNING (a FAILED task stays FAILED until restarted, and is named)"
	case Restart:
		return "the connector and every task back in the state they had before (RUNNING, or PAUSED for a paused connector), none RESTARTING"
	case Stop:
		return "the connector STOPPED with no tasks"
	}
	return ""
}

// Options tune an Operator.
type Options struct {
	// Timeout bounds the wait for each connector to reach its wanted state.
	Timeout time.Duration
	// PollInterval is the time between two status reads.
	PollInterval time.Duration
	// Settle is how many consecutive reads must show the wanted state:
	// Connect's status travels through the status topic, and a task that
	// starts RUNNING and fails a second later is not a success.
	Settle int
	// FailedGrace is how long an instance may stay FAILED before waiting
	// stops early: a FAILED task does not recover by itself, but right
	// after a restart the status may still show the failure being fixed.
	FailedGrace time.Duration
	// OnlyFailed makes restart touch only the FAILED instances.
	OnlyFailed bool
	// Task, when set, makes restart restart only this task.
	Task *int
	// Concurrency bounds the connectors acted on and polled at once, so
	// that --all on a large cluster does not flood the workers.
	Concurrency int
	// OnState, when set, is told each state a connector is seen in while
	// it is waited for, and each failed read that is retried; calls for
	// different connectors may come at once.
	OnState func(connector, state string)
}

// DefaultOptions are what the command uses unless told otherwise.
var DefaultOptions = Options{
	Timeout: connectaction.DefaultOptions.Timeout, PollInterval: connectaction.DefaultOptions.PollInterval,
	Settle: connectaction.DefaultOptions.Settle, FailedGrace: connectaction.DefaultOptions.FailedGrace, Concurrency: 8,
}

// Operator acts on one Connect cluster.
type Operator struct {
	client *connect.Client
	opts   Options
}

// New returns an Operator; zero fields of opts take DefaultOptions.
func New(c *connect.Client, opts Options) *Operator {
	// connectaction fills in the zero wait options.
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultOptions.Concurrency
	}
	return &Operator{client: c, opts: opts}
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
		var known []int
		found := false
		for _, t := range c.Status.Tasks {
			known = append(known, t.ID)
			found = found || t.ID == id
		}
		if !found {
			sort.Ints(known)
			return &UnknownTaskError{Cluster: o.client.Name(), Connector: c.Name(), Task: id, Known: known}
		}
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

// Result is the outcome for one connector.
type Result struct {
	Connector string
	// OK is true when the wanted state was reached.
	OK bool
	// State describes the last status read: "connector PAUSED, 2 tasks PAUSED".
	State string
	// Note names instances that stayed FAILED through the action, as
	// Connect leaves them; they do not make it fail.
	Note    string
	Elapsed time.Duration
	// Err says why the wanted state was not reached.
	Err error
}

func (r Result) String() string {
	if r.OK {
		s := fmt.Sprintf("%s: %s (%s)", r.Connector, r.State, r.Elapsed.Round(10*time.Millisecond))
		if r.Note != "" {
			s += "; " + r.Note
		}
		return s
	}
	return fmt.Sprintf("%s: %v", r.Connector, r.Err)
}

// Do applies action to each connector, then waits for all of them at
// once. Results come back in the order of targets.
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
	a := connectaction.Action{Kind: connectaction.Kind(action), Connector: name,
		Restart: connect.RestartOptions{IncludeTasks: true, OnlyFailed: o.opts.OnlyFailed}}
	if action == Restart && o.opts.Task != nil {
		a.Kind, a.Task = connectaction.RestartTask, *o.opts.Task
	}
	return result(name, connectaction.Run(ctx, o.client, a, o.waitOptions(name)))
}

func (o *Operator) waitOptions(name string) connectaction.Options {
	opts := connectaction.Options{Timeout: o.opts.Timeout, PollInterval: o.opts.PollInterval, Settle: o.opts.Settle, FailedGrace: o.opts.FailedGrace}
	if o.opts.OnState != nil {
		opts.OnState = func(state string) { o.opts.OnState(name, state) }
	}
	return opts
}

func result(name string, r connectaction.Result) Result {
	return Result{Connector: name, OK: r.OK, State: r.State, Note: r.Note, Elapsed: r.Elapsed, Err: r.Err}
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
