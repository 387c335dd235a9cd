package ops

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
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
		return "the connector and every task PAUSED"
	case Resume:
		return "the connector and at least one task RUNNING, no task in another state"
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
	// Concurrency bounds the connectors acted on and polled at once, so
	// that --all on a large cluster does not flood the workers.
	Concurrency int
	// OnState, when set, is told each state a connector is seen in while
	// it is waited for, and each failed read that is retried; calls for
	// different connectors may come at once.
	OnState func(connector, state string)
}

// DefaultOptions are what the command uses unless told otherwise.
var DefaultOptions = Options{Timeout: 60 * time.Second, PollInterval: 500 * time.Millisecond, Settle: 2, FailedGrace: 5 * time.Second, Concurrency: 8}

// Operator acts on one Connect cluster.
type Operator struct {
	client *connect.Client
	opts   Options
}

// New returns an Operator; zero fields of opts take DefaultOptions.
func New(c *connect.Client, opts Options) *Operator {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultOptions.Timeout
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultOptions.PollInterval
	}
	if opts.Settle <= 0 {
		opts.Settle = DefaultOptions.Settle
	}
	if opts.FailedGrace <= 0 {
		opts.FailedGrace = DefaultOptions.FailedGrace
	}
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
	State   string
	Elapsed time.Duration
	// Err says why the wanted state was not reached.
	Err error
}

func (r Result) String() string {
	if r.OK {
		return fmt.Sprintf("%s: %s (%s)", r.Connector, r.State, r.Elapsed.Round(10*time.Millisecond))
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
			results[i] = o.do(ctx, action, t)
		}()
	}
	wg.Wait()
	return results
}

func (o *Operator) do(ctx context.Context, action Action, before connect.Connector) Result {
	name := before.Name()
	start := time.Now()
	// --all takes names from the listing, which may hold one the REST
	// API cannot address; it is reported, never acted on.
	if err := connectorkind.ValidateName(name); err != nil {
		return Result{Connector: name, Err: fmt.Errorf("not acted on: %w", err)}
	}
	want, err := o.request(ctx, action, before)
	if err != nil {
		return Result{Connector: name, Err: err, Elapsed: time.Since(start)}
	}
	return o.wait(ctx, name, want, start)
}

// request sends the action and returns the state to wait for.
func (o *Operator) request(ctx context.Context, action Action, before connect.Connector) (target, error) {
	name := before.Name()
	prior := before.Status.Connector.State
	switch action {
	case Pause:
		if err := o.client.Pause(ctx, name); err != nil {
			return target{}, fmt.Errorf("pausing: %w", err)
		}
		return target{state: connect.StatePaused, what: "pause"}, nil
	case Resume:
		if err := o.client.Resume(ctx, name); err != nil {
			return target{}, fmt.Errorf("resuming: %w", err)
		}
		return target{state: connect.StateRunning, minTasks: 1, what: "resume"}, nil
	case Stop:
		if err := o.client.Stop(ctx, name); err != nil {
			return target{}, fmt.Errorf("stopping: %w", err)
		}
		return target{state: connect.StateStopped, noTasks: true, what: "stop"}, nil
	case Restart:
		if prior == connect.StateStopped {
			return target{}, fmt.Errorf("is STOPPED: a stopped connector has no tasks to restart; resume it instead")
		}
		want := connect.StateRunning
		if prior == connect.StatePaused {
			// A restarted paused connector comes back paused: Connect
			// keeps the target state across restarts.
			want = connect.StatePaused
		}
		if _, err := o.client.RestartConnector(ctx, name, connect.RestartOptions{IncludeTasks: true, OnlyFailed: o.opts.OnlyFailed}); err != nil {
			return target{}, fmt.Errorf("restarting: %w", err)
		}
		t := target{state: want, what: "restart"}
		if want == connect.StateRunning {
			t.minTasks = 1
		}
		return t, nil
	}
	return target{}, fmt.Errorf("unknown action %q", action)
}

// target is the state an action waits for.
type target struct {
	state    string
	minTasks int
	noTasks  bool
	// tasksMax, when set, also waits for the definition to carry this
	// tasks.max and the status to list as many tasks as the definition.
	tasksMax string
	what     string
}

func (t target) describe() string {
	switch {
	case t.noTasks:
		return fmt.Sprintf("connector %s with no tasks", t.state)
	case t.tasksMax != "":
		return fmt.Sprintf("tasks.max=%s applied, connector and tasks %s", t.tasksMax, t.state)
	default:
		return fmt.Sprintf("connector and tasks %s", t.state)
	}
}

// reached reports whether the connector is where the target wants it.
// When it is not, the reason is a short explanation.
func (t target) reached(c *connect.Connector) (bool, string) {
	s := &c.Status
	if s.Connector.State != t.state {
		return false, "connector is " + s.Connector.State
	}
	if t.noTasks && len(s.Tasks) > 0 {
		return false, fmt.Sprintf("%d tasks still listed", len(s.Tasks))
	}
	if len(s.Tasks) < t.minTasks {
		return false, "no tasks yet"
	}
	for _, task := range s.Tasks {
		if task.State != t.state {
			return false, fmt.Sprintf("task %d is %s", task.ID, task.State)
		}
	}
	if t.tasksMax != "" {
		if got := c.Info.Config["tasks.max"]; got != t.tasksMax {
			return false, "configuration not applied yet (tasks.max=" + got + ")"
		}
		if len(c.Info.Tasks) != len(s.Tasks) {
			return false, fmt.Sprintf("%d tasks defined, %d in the status", len(c.Info.Tasks), len(s.Tasks))
		}
	}
	return true, ""
}

// wait polls the connector's status until the target holds for Settle
// consecutive reads, an instance stays FAILED past FailedGrace, or the
// timeout passes.
func (o *Operator) wait(ctx context.Context, name string, want target, start time.Time) Result {
	ctx, cancel := context.WithTimeout(ctx, o.opts.Timeout)
	defer cancel()
	var (
		streak      int
		failedSince time.Time
		last        string
		why         string
	)
	tick := time.NewTicker(o.opts.PollInterval)
	defer tick.Stop()
	for {
		c, err := o.read(ctx, name, want.tasksMax != "")
		switch {
		case errors.Is(err, connect.ErrNotFound):
			return Result{Connector: name, Elapsed: time.Since(start), Err: fmt.Errorf("was deleted while waiting for %s", want.describe())}
		case err != nil && ctx.Err() == nil:
			// A worker restarting or a rebalance: keep reading until the
			// timeout rather than give up on one failed read.
			why = err.Error()
			o.report(name, "reading the status failed, retrying: "+why)
		case err == nil:
			if now := describeState(&c.Status); now != last {
				o.report(name, now)
			}
			last = describeState(&c.Status)
			ok, reason := want.reached(c)
			if ok {
				streak++
				if streak >= o.opts.Settle {
					return Result{Connector: name, OK: true, State: last, Elapsed: time.Since(start)}
				}
			} else {
				streak, why = 0, reason
			}
			if f := failed(&c.Status); f != "" && want.state != connect.StateFailed {
				if failedSince.IsZero() {
					failedSince = time.Now()
				} else if time.Since(failedSince) >= o.opts.FailedGrace {
					return Result{Connector: name, State: last, Elapsed: time.Since(start),
						Err: fmt.Errorf("%s: %s%s", f, want.what, failedHint(want))}
				}
			} else {
				failedSince = time.Time{}
			}
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("not reached after %s: wanted %s", o.opts.Timeout, want.describe())
			if why != "" {
				msg += ", but " + why
			}
			if last != "" {
				msg += " (last seen: " + last + ")"
			}
			return Result{Connector: name, State: last, Elapsed: time.Since(start), Err: errors.New(msg)}
		case <-tick.C:
		}
	}
}

func (o *Operator) report(connector, state string) {
	if o.opts.OnState != nil {
		o.opts.OnState(connector, state)
	}
}

func failedHint(want target) string {
	switch want.what {
	case "pause":
		return " cannot complete: a FAILED task does not pause until it is restarted (connectors restart NAME)"
	case "resume":
		return " cannot complete: resume does not restart FAILED tasks (connectors restart NAME)"
	default:
		return " did not bring it back: see the trace with `connectors list` or the worker log"
	}
}

// read returns the connector's status, and its definition when withInfo.
func (o *Operator) read(ctx context.Context, name string, withInfo bool) (*connect.Connector, error) {
	s, err := o.client.Status(ctx, name)
	if err != nil {
		return nil, err
	}
	c := &connect.Connector{Status: *s}
	if withInfo {
		info, err := o.client.Info(ctx, name)
		if err != nil {
			return nil, err
		}
		c.Info = *info
	}
	return c, nil
}

// failed names the FAILED instances with the first line of their trace.
func failed(s *connect.Status) string {
	var parts []string
	if s.Connector.State == connect.StateFailed {
		parts = append(parts, "connector FAILED"+traceSuffix(s.Connector.Trace))
	}
	for _, t := range s.Tasks {
		if t.State == connect.StateFailed {
			parts = append(parts, fmt.Sprintf("task %d FAILED%s", t.ID, traceSuffix(t.Trace)))
		}
	}
	return strings.Join(parts, "; ")
}

func traceSuffix(trace string) string {
	if trace == "" {
		return ""
	}
	return " (" + connect.RootCause(trace) + ")"
}

// describeState summarises a status: "connector RUNNING, tasks 0 RUNNING, 1 FAILED".
func describeState(s *connect.Status) string {
	var b strings.Builder
	b.WriteString("connector ")
	b.WriteString(s.Connector.State)
	if len(s.Tasks) == 0 {
		b.WriteString(", no tasks")
		return b.String()
	}
	tasks := append([]connect.TaskInfo(nil), s.Tasks...)
	sort.Slice(tasks, func(i, j int) bool { return tasks[i].ID < tasks[j].ID })
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

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
