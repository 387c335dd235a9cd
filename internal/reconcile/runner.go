package reconcile

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/reconcilestats"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/tracing"
)

// Table is what the runner needs to reconcile one configured table.
type Table struct {
	Name string
	// Sides returns the current source and target (pools can be swapped
	// when Vault rotates credentials, so they are fetched per run).
	Sides       func() (src, tgt sqldialect.Side, err error)
	PlanOptions sqldialect.PlanOptions
	// Signaler re-sends rows on repair; nil when no signal is configured.
	Signaler       Signaler
	DataCollection string
	// DataCollectionOf decides DataCollection when it is empty, at repair
	// time: a DSN that comes from Vault is only known then.
	DataCollectionOf func() (string, error)
	// Notifications finds the topic the source connector reports a
	// repair's snapshots on (nil: repairs are not followed);
	// RepairTimeout is how long a repair may take before it is reported
	// as never completing (config.DefaultRepairTimeout when 0).
	Notifications func(ctx context.Context) (NotificationSource, error)
	RepairTimeout time.Duration
	// Limits bound what a repair deletes (tables[].repair; the
	// defaults when unset).
	Limits config.Repair
	// Retained, when set, says why the pipeline keeps rows the source
	// deleted ("" when it propagates them, or cannot tell); a repair
	// then refuses to delete target-only rows.
	Retained func(ctx context.Context) (string, error)
	// Ping checks that both databases answer, each within its
	// query_timeout, before a run starts (nil: not checked).
	Ping func(ctx context.Context) error
}

// StartOptions are one run's choices.
type StartOptions struct {
	// Repair re-sends missing and changed rows through the source
	// connector's signal channel.
	Repair bool
	// DeleteExtra also deletes target-only rows (only with Repair).
	DeleteExtra bool
	// MaxDeletes lowers the table's cap on them (0: the cap itself);
	// asking for more than the cap is refused (DeleteCap).
	MaxDeletes int
	// DryRun decides the repair and does nothing of it (RepairOptions).
	DryRun bool
	// BeforeDelete is shown the keys about to be deleted (see
	// RepairOptions).
	BeforeDelete func(keys []sqldialect.Key)
	// Follow notes the notification topic's end before a repair's
	// signals go out, so that its snapshots can be followed
	// (RepairResult.Follower). The runner always follows; the reconcile
	// command only when asked to wait, so otherwise it never waits on
	// Kafka for that.
	Follow bool
}

// Starter is what the remediator uses: start a reconcile and follow it.
type Starter interface {
	Start(ctx context.Context, table string, o StartOptions) (id string, err error)
	Get(id string) (Job, bool)
}

// Errors Start returns.
var (
	ErrUnknownTable = errors.New("unknown table")
	ErrRunning      = errors.New("a reconcile of this table is already running")
)

// Job is one reconcile as the API shows it.
type Job struct {
	ID string `json:"id"`
	// TraceID names the run's trace in the tracing backend ("" when
	// tracing is off or the run was not sampled).
	TraceID    string     `json:"trace_id,omitempty"`
	Table      string     `json:"table"`
	Status     string     `json:"status"` // running, succeeded, failed, cancelled
	Repair     bool       `json:"repair"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Progress   Progress   `json:"progress"`
	Error      string     `json:"error,omitempty"`
	Report     *Report    `json:"report,omitempty"`
	// RepairProgress follows the incremental snapshots a repair started,
	// after the job itself has succeeded, until they complete or time
	// out.
	RepairProgress *RepairProgress `json:"repair_progress,omitempty"`
	cancel         func()          `json:"-"`
	done           chan struct{}   `json:"-"`
	span           trace.Span      `json:"-"`
}

// Jobs keeps the reconcile jobs, running and finished, and each table's
// counters. It outlives the Runners built on it: a reload builds a new
// Runner on the same Jobs, so the runs started before it go on under the
// configuration they started with, and their history, the 409 that keeps
// a table to one run at a time and the cdc_reconcile_* counters carry
// over. Close cancels what is still running (at shutdown).
type Jobs struct {
	ctx  context.Context
	stop context.CancelFunc
	// keep is how many finished jobs stay queryable.
	keep int

	mu       sync.Mutex
	jobs     map[string]*Job
	finished []string
	running  map[string]string // table → job id
	stats    map[string]*reconcilestats.Table
}

// NewJobs returns an empty history.
func NewJobs() *Jobs {
	ctx, stop := context.WithCancel(context.Background())
	return &Jobs{ctx: ctx, stop: stop, keep: 100, jobs: map[string]*Job{}, running: map[string]string{}, stats: map[string]*reconcilestats.Table{}}
}

// Close cancels every running reconcile and repair being followed; the
// Runners' Close waits for them to stop.
func (j *Jobs) Close() { j.stop() }

// Limits are what the configuration (its reconcile section) allows one
// run and the API's callers.
type Limits struct {
	// Timeout is a run's own deadline, comparison and repair (0: none).
	Timeout time.Duration
	// HTTPDeleteExtra lets POST /api/v1/reconcile ask for delete_extra.
	HTTPDeleteExtra bool
}

// LimitsFromConfig are the limits the configuration sets.
func LimitsFromConfig(c config.Reconcile) Limits {
	return Limits{Timeout: c.Timeout, HTTPDeleteExtra: c.HTTPDeleteExtra}
}

// Runner runs reconciles of one configuration's tables in the background,
// one per table at a time, for the reconcile API (internal/server) and
// the remediator, and reports each
// table's runs, which collector.ReconcileCollector exports as the
// cdc_reconcile_* metrics.
type Runner struct {
	tables map[string]Table
	opts   Options
	limits Limits
	logger *slog.Logger
	jobs   *Jobs

	// closed (under jobs.mu) refuses new runs once Close has begun;
	// active counts this Runner's runs and the repairs it follows.
	closed bool
	active sync.WaitGroup
}

// Runner returns a runner for one configuration's tables over this
// history. Its Close lets its runs and the repairs they started finish.
func (j *Jobs) Runner(tables []Table, opts Options, limits Limits, logger *slog.Logger) *Runner {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Runner{tables: map[string]Table{}, opts: opts, limits: limits, logger: logger, jobs: j}
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, t := range tables {
		r.tables[t.Name] = t
		if j.stats[t.Name] == nil {
			j.stats[t.Name] = &reconcilestats.Table{Table: t.Name}
		}
	}
	return r
}

// ErrClosed is returned by Start once the Runner is closing (a reload
// replaced its configuration).
var ErrClosed = errors.New("the reconcile runner is closing: its configuration was replaced")

// Start begins a reconcile of table and returns its id at once. The run
// is not tied to ctx (an HTTP request ends long before the run does);
// Jobs.Close cancels it.
func (r *Runner) Start(caller context.Context, table string, o StartOptions) (string, error) {
	t, ok := r.tables[table]
	if !ok {
		return "", fmt.Errorf("%w %q", ErrUnknownTable, table)
	}
	if o.Repair && t.Signaler == nil {
		return "", fmt.Errorf("table %q has no signal configured: repair needs tables[].signal", table)
	}
	j := r.jobs
	j.mu.Lock()
	defer j.mu.Unlock()
	if r.closed {
		return "", ErrClosed
	}
	if id, busy := j.running[table]; busy {
		return id, fmt.Errorf("%w (id %s)", ErrRunning, id)
	}
	ctx, cancel := context.WithCancel(j.ctx)
	// The run outlives the caller but belongs to its trace.
	ctx = trace.ContextWithSpanContext(ctx, trace.SpanContextFromContext(caller))
	ctx, span := r.opts.Tracing.Root(ctx, "reconcile", attribute.String("table", table), attribute.Bool("repair", o.Repair))
	job := &Job{ID: newID(), Table: table, Status: "running", Repair: o.Repair, StartedAt: r.now(), cancel: cancel, done: make(chan struct{}), TraceID: tracing.TraceID(ctx), span: span}
	span.SetAttributes(attribute.String("reconcile.id", job.ID))
	j.jobs[job.ID] = job
	j.running[table] = job.ID
	r.active.Add(1)
	go r.run(ctx, job, t, o)
	return job.ID, nil
}

func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ErrTimeout is why a run that ran past reconcile.timeout failed.
var ErrTimeout = errors.New("ran past reconcile.timeout")

func (r *Runner) run(ctx context.Context, job *Job, t Table, o StartOptions) {
	defer r.active.Done()
	defer close(job.done)
	defer job.cancel()
	start := time.Now()
	rep, err := r.reconcile(ctx, job, t, o)
	defer tracing.End(job.span, err)
	now := r.now()
	j := r.jobs
	j.mu.Lock()
	defer j.mu.Unlock()
	delete(j.running, t.Name)
	job.FinishedAt = &now
	job.Report = rep
	st := j.stats[t.Name]
	st.Duration = time.Since(start)
	switch {
	case err != nil && j.ctx.Err() != nil:
		job.Status = "cancelled"
		job.Error = err.Error()
		st.Cancelled++
	case err != nil:
		job.Status = "failed"
		job.Error = err.Error()
		st.Failed++
	default:
		job.Status = "succeeded"
		st.Succeeded++
		st.LastSuccess = now
		st.Missing, st.Extra, st.Changed = int64(rep.MissingCount), int64(rep.ExtraCount), int64(rep.ChangedCount)
		st.Duplicate = int64(rep.DuplicateCount)
	}
	r.logger.Info("reconcile finished", "table", t.Name, "id", job.ID, "status", job.Status, "duration_seconds", st.Duration.Seconds(), "err", err)
	if rep != nil {
		r.startFollowing(job, t.Name, rep.Repair)
	}
	j.finished = append(j.finished, job.ID)
	for len(j.finished) > j.keep {
		delete(j.jobs, j.finished[0])
		j.finished = j.finished[1:]
	}
}

func (r *Runner) reconcile(ctx context.Context, job *Job, t Table, o StartOptions) (*Report, error) {
	opts := r.opts
	opts.Progress = func(p Progress) {
		r.jobs.mu.Lock()
		job.Progress = p
		r.jobs.mu.Unlock()
	}
	o.Follow = true
	return t.RunWithin(ctx, r.limits.Timeout, o, opts)
}

// RunWithin is Run within the run's own deadline (reconcile.timeout; 0:
// none), once both databases have answered within their query timeout
// (Reachable): a hung database fails the run, naming it, instead of
// holding it for ever. The server's runs and the reconcile command both
// go through it.
func (t Table) RunWithin(ctx context.Context, timeout time.Duration, o StartOptions, opts Options) (*Report, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, timeout, fmt.Errorf("reconcile of %s %w (%s)", t.Name, ErrTimeout, timeout))
		defer cancel()
	}
	var rep *Report
	err := t.Reachable(ctx)
	if err == nil {
		rep, err = t.Run(ctx, o, opts)
	}
	if err != nil && errors.Is(context.Cause(ctx), ErrTimeout) && !errors.Is(err, ErrTimeout) {
		err = fmt.Errorf("%w: %w", context.Cause(ctx), err)
	}
	return rep, err
}

// Reachable checks that both databases answer within their query
// timeout (Table.Ping); nil Ping checks nothing.
func (t Table) Reachable(ctx context.Context) error {
	if t.Ping == nil {
		return nil
	}
	if err := t.Ping(ctx); err != nil {
		return fmt.Errorf("table %s: %w", t.Name, err)
	}
	return nil
}

// Get returns a copy of the job.
func (r *Runner) Get(id string) (Job, bool) {
	r.jobs.mu.Lock()
	defer r.jobs.mu.Unlock()
	j, ok := r.jobs.jobs[id]
	if !ok {
		return Job{}, false
	}
	return *j, true
}

// List returns copies of the jobs kept, newest first, of table when it
// is not empty.
func (r *Runner) List(table string) []Job {
	r.jobs.mu.Lock()
	defer r.jobs.mu.Unlock()
	out := make([]Job, 0, len(r.jobs.jobs))
	for _, j := range r.jobs.jobs {
		if table == "" || j.Table == table {
			out = append(out, *j)
		}
	}
	sort.Slice(out, func(a, b int) bool {
		if !out[a].StartedAt.Equal(out[b].StartedAt) {
			return out[a].StartedAt.After(out[b].StartedAt)
		}
		return out[a].ID < out[b].ID
	})
	return out
}

// Wait blocks until the job ends or ctx is done.
func (r *Runner) Wait(ctx context.Context, id string) (Job, error) {
	r.jobs.mu.Lock()
	j, ok := r.jobs.jobs[id]
	r.jobs.mu.Unlock()
	if !ok {
		return Job{}, fmt.Errorf("no reconcile %s", id)
	}
	select {
	case <-j.done:
	case <-ctx.Done():
		return Job{}, ctx.Err()
	}
	got, _ := r.Get(id)
	return got, nil
}

// startFollowing shows the repair's progress in the job and follows its
// snapshots in the background. Called with jobs.mu held.
func (r *Runner) startFollowing(job *Job, table string, res *RepairResult) {
	f := res.Follower(r.now)
	if f == nil {
		return
	}
	p := f.Progress()
	job.RepairProgress = &p
	if p.Final() {
		r.logger.Info("repair progress cannot be followed", "table", table, "id", job.ID, "reason", p.Error)
		return
	}
	r.active.Add(1) // the run holding it is still counted
	go r.follow(job, table, f)
}

// follow follows the repair until its snapshots end or its deadline
// passes, publishing each step in the job and the table's counters.
func (r *Runner) follow(job *Job, table string, f *RepairFollower) {
	defer r.active.Done()
	p := f.Follow(r.jobs.ctx, cmp.Or(r.opts.RepairPoll, time.Second), func(p RepairProgress, rows int64, bad []error) {
		for _, b := range bad {
			r.logger.Warn("unreadable notification", "table", table, "id", job.ID, "err", b)
		}
		r.jobs.mu.Lock()
		defer r.jobs.mu.Unlock()
		st := r.jobs.stats[table]
		st.RepairRows += uint64(rows)
		job.RepairProgress = &p
		if p.Final() {
			switch p.Status {
			case RepairCompleted:
				st.RepairsCompleted++
			case RepairAborted:
				st.RepairsAborted++
			case RepairFailed:
				st.RepairsFailed++
			case RepairTimedOut:
				st.RepairsTimedOut++
			}
		}
	})
	if !p.Final() {
		return // the runner is closing
	}
	log := r.logger.Info
	if p.Status != RepairCompleted {
		log = r.logger.Warn
	}
	log("repair finished", "table", table, "id", job.ID, "repair_status", p.Status, "rows_scanned", p.RowsScanned,
		"snapshots_completed", p.SnapshotsCompleted, "snapshots", p.Snapshots, "last_notification", p.LastNotification, "err", p.Error)
}

func (r *Runner) now() time.Time {
	if r.opts.Now != nil {
		return r.opts.Now().UTC()
	}
	return time.Now().UTC()
}

// Close refuses new runs and waits for this Runner's runs and the
// repairs they are following: they finish (under this Runner's
// configuration, with its pools still open) unless Jobs.Close cancels
// them.
func (r *Runner) Close() {
	r.jobs.mu.Lock()
	r.closed = true
	r.jobs.mu.Unlock()
	r.active.Wait()
}

// Limits are the limits the Runner was built with; the reconcile API
// reads whether it may pass delete_extra.
func (r *Runner) Limits() Limits { return r.limits }

// Knows reports whether table is one of the Runner's configured tables.
func (r *Runner) Knows(table string) bool {
	_, ok := r.tables[table]
	return ok
}

// ReconcileTables gives what is known of each configured table's runs,
// those started before a reload included, ordered by table;
// collector.ReconcileCollector reports it at scrape time.
func (r *Runner) ReconcileTables() []reconcilestats.Table {
	r.jobs.mu.Lock()
	defer r.jobs.mu.Unlock()
	out := make([]reconcilestats.Table, 0, len(r.tables))
	for name := range r.tables {
		t := *r.jobs.stats[name]
		_, t.Running = r.jobs.running[name]
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Table < out[j].Table })
	return out
}
