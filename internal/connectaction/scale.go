package connectaction

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connectaction/actionkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
)

// TasksAboveLimitError refuses a tasks.max the connector cannot use.
type TasksAboveLimitError struct {
	Connector string
	Reason    string
}

func (e *TasksAboveLimitError) Error() string {
	return fmt.Sprintf("refusing to scale %s: %s; pass --force to set it anyway", e.Connector, e.Reason)
}

// ScaleResult is the outcome of Scale.
type ScaleResult struct {
	Result
	// Previous is the tasks.max the connector ran with (Connect's default
	// 1 when it was not set).
	Previous int
	// Warnings say why the new tasks.max is more than the connector can
	// use, when --force set it anyway.
	Warnings []string
	// Unchanged is true when tasks.max already had the wanted value and
	// nothing was sent.
	Unchanged bool
}

// Scale replaces the connector's configuration with the same one but for
// tasks.max, then waits until the worker has applied it: the definition
// carries the new tasks.max, the status lists as many tasks as the
// definition, and all of them are back in the connector's prior state.
// A tasks.max above what the connector can run is refused unless force.
func (o *Operator) Scale(ctx context.Context, name string, tasks int, force bool) (*ScaleResult, error) {
	if tasks < 1 {
		return nil, fmt.Errorf("--tasks must be at least 1, got %d", tasks)
	}
	if _, err := o.Resolve(ctx, []string{name}, false); err != nil {
		return nil, err
	}
	start := time.Now()
	// Status first: it may wait for a new connector's first status, and
	// the configuration sent back must be the one read last.
	status, err := StartingStatus(ctx, o.client, name, o.opts)
	if err != nil {
		return nil, fmt.Errorf("reading status of %s: %w", name, err)
	}
	cfg, err := o.client.Config(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("reading configuration of %s: %w", name, err)
	}
	want := strconv.Itoa(tasks)
	kind := connectorkind.New(name, status.Type, cfg)
	res := &ScaleResult{Previous: kind.TasksMax()}
	res.Connector = name
	if why := kind.CheckTasks(tasks); why != "" {
		if !force {
			return nil, &TasksAboveLimitError{Connector: name, Reason: why}
		}
		res.Warnings = append(res.Warnings, why)
	}
	if res.Previous == tasks {
		res.Unchanged, res.OK, res.State = true, true, DescribeState(status)
		return res, nil
	}
	// Only tasks.max changes: the PUT replaces the whole configuration,
	// so everything else is sent back exactly as read.
	next := make(map[string]string, len(cfg))
	for k, v := range cfg {
		next[k] = v
	}
	next[connectorkind.KeyTasksMax] = want
	if _, err := o.client.PutConfig(ctx, name, next); err != nil {
		return nil, fmt.Errorf("updating configuration of %s: %w", name, err)
	}
	d := Decide(Action{Kind: actionkind.Scale, Connector: name, TasksMax: tasks}, status)
	if err := d.Err(); err != nil {
		return nil, err
	}
	res.Result = Wait(ctx, o.client, d, o.opts)
	res.Elapsed = time.Since(start)
	return res, nil
}
