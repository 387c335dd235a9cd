package reconcile

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/readings"
	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
	"github.com/cdc-sentinel/cdc-sentinel/internal/tracing"
)

// Table is what the runner needs to reconcile one configured table.
type Table struct {
	Name string
	// Sides returns the current source and target (pools can be swapped
	// when Vault rotates credentials, so they are fetched per run).
	Sides       func() (src, tgt rowhash.Side, err error)
	PlanOptions rowhash.PlanOptions
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
	BeforeDelete func(keys []rowhash.Key)
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

// Runner runs reconciles in the background, one per table at a time,
// serves the reconcile API and keeps each table's runs, which
// collector.ReconcileCollector reports as the cdc_reconcile_* metrics.
type Runner struct {
	tables map[string]Table
	opts   Options
	logger *slog.Logger
	ctx    context.Context
	stop   context.CancelFunc
	// keep is how many finished jobs stay queryable.
	keep int

	mu       sync.Mutex
	jobs     map[string]*Job
	finished []string
	running  map[string]string // table → job id
	stats    map[string]*readings.ReconcileTable
	// following counts the repairs being followed, for Close.
	following sync.WaitGroup
}

// NewRunner returns a runner for the given tables.
func NewRunner(tables []Table, opts Options, logger *slog.Logger) *Runner {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, stop := context.WithCancel(context.Background())
	r := &Runner{tables: map[string]Table{}, opts: opts, logger: logger, ctx: ctx, stop: stop, keep: 100,
		jobs: map[string]*Job{}, running: map[string]string{}, stats: map[string]*readings.ReconcileTable{}}
	for _, t := range tables {
		r.tables[t.Name] = t
		r.stats[t.Name] = &readings.ReconcileTable{Table: t.Name}
	}
	return r
}

// Start begins a reconcile of table and returns its id at once. The run
// is not tied to ctx (an HTTP request ends long before the run does);
// Close cancels it.
func (r *Runner) Start(caller context.Context, table string, o StartOptions) (string, error) {
	t, ok := r.tables[table]
	if !ok {
		return "", fmt.Errorf("%w %q", ErrUnknownTable, table)
	}
	if o.Repair && t.Signaler == nil {
		return "", fmt.Errorf("table %q has no signal configured: repair needs tables[].signal", table)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if id, busy := r.running[table]; busy {
		return id, fmt.Errorf("%w (id %s)", ErrRunning, id)
	}
	ctx, cancel := context.WithCancel(r.ctx)
	// The run outlives the caller but belongs to its trace.
	ctx = trace.ContextWithSpanContext(ctx, trace.SpanContextFromContext(caller))
	ctx, span := r.opts.Tracing.Root(ctx, "reconcile", attribute.String("table", table), attribute.Bool("repair", o.Repair))
	job := &Job{ID: newID(), Table: table, Status: "running", Repair: o.Repair, StartedAt: r.now(), cancel: cancel, done: make(chan struct{}), TraceID: tracing.TraceID(ctx), span: span}
	span.SetAttributes(attribute.String("reconcile.id", job.ID))
	r.jobs[job.ID] = job
	r.running[table] = job.ID
	go r.run(ctx, job, t, o)
	return job.ID, nil
}

func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (r *Runner) run(ctx context.Context, job *Job, t Table, o StartOptions) {
	defer close(job.done)
	defer job.cancel()
	start := time.Now()
	rep, err := r.reconcile(ctx, job, t, o)
	defer tracing.End(job.span, err)
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.running, t.Name)
	job.FinishedAt = &now
	job.Report = rep
	st := r.stats[t.Name]
	st.Duration = time.Since(start)
	switch {
	case err != nil && ctx.Err() != nil:
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
	}
	r.logger.Info("reconcile finished", "table", t.Name, "id", job.ID, "status", job.Status, "duration_seconds", st.Duration.Seconds(), "err", err)
	if rep != nil {
		r.startFollowing(job, t.Name, rep.Repair)
	}
	r.finished = append(r.finished, job.ID)
	for len(r.finished) > r.keep {
		delete(r.jobs, r.finished[0])
		r.finished = r.finished[1:]
	}
}

func (r *Runner) reconcile(ctx context.Context, job *Job, t Table, o StartOptions) (*Report, error) {
	opts := r.opts
	opts.Progress = func(p Progress) {
		r.mu.Lock()
		job.Progress = p
		r.mu.Unlock()
	}
	o.Follow = true
	return t.Run(ctx, o, opts)
}

// Get returns a copy of the job.
func (r *Runner) Get(id string) (Job, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	j, ok := r.jobs[id]
	if !ok {
		return Job{}, false
	}
	return *j, true
}

// Wait blocks until the job ends or ctx is done.
func (r *Runner) Wait(ctx context.Context, id string) (Job, error) {
	r.mu.Lock()
	j, ok := r.jobs[id]
	r.mu.Unlock()
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
// snapshots in the background. Called with r.mu held.
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
	r.following.Add(1)
	go r.follow(job, table, f)
}

// follow follows the repair until its snapshots end or its deadline
// passes, publishing each step in the job and the table's counters.
func (r *Runner) follow(job *Job, table string, f *RepairFollower) {
	defer r.following.Done()
	p := f.Follow(r.ctx, cmp.Or(r.opts.RepairPoll, time.Second), func(p RepairProgress, rows int64, bad []error) {
		for _, b := range bad {
			r.logger.Warn("unreadable notification", "table", table, "id", job.ID, "err", b)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		st := r.stats[table]
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

// Close cancels running reconciles and waits for them to stop.
func (r *Runner) Close() {
	r.stop()
	r.mu.Lock()
	var waits []chan struct{}
	for _, id := range r.running {
		waits = append(waits, r.jobs[id].done)
	}
	r.mu.Unlock()
	for _, w := range waits {
		<-w
	}
	r.following.Wait()
}

// Register mounts the API on mux:
//
//	POST /api/v1/reconcile?table=NAME[&repair=true][&delete_extra=true] → 202 {"id"}
//	GET  /api/v1/reconcile/{id} → the job with its progress and report
func (r *Runner) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/reconcile", r.handleStart)
	mux.HandleFunc("GET /api/v1/reconcile/{id}", r.handleGet)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the status line is out; a failed write has no one to tell
}

func (r *Runner) handleStart(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	table := q.Get("table")
	if table == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "the table parameter is required"})
		return
	}
	o := StartOptions{Repair: q.Get("repair") == "true", DeleteExtra: q.Get("delete_extra") == "true"}
	if m := q.Get("max_deletes"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "max_deletes must be a number of rows, at least 1"})
			return
		}
		o.MaxDeletes = n
	}
	if o.DeleteExtra && !o.Repair {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "delete_extra=true needs repair=true"})
		return
	}
	id, err := r.Start(req.Context(), table, o)
	switch {
	case errors.Is(err, ErrUnknownTable):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
	case errors.Is(err, ErrRunning):
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error(), "id": id})
	case err != nil:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
	default:
		w.Header().Set("Location", "/api/v1/reconcile/"+id)
		writeJSON(w, http.StatusAccepted, map[string]string{"id": id})
	}
}

func (r *Runner) handleGet(w http.ResponseWriter, req *http.Request) {
	j, ok := r.Get(req.PathValue("id"))
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no reconcile with id " + req.PathValue("id")})
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// ReconcileTables gives what the runner knows of each configured
// table's runs, ordered by table; collector.ReconcileCollector reports it
// at scrape time.
func (r *Runner) ReconcileTables() []readings.ReconcileTable {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]readings.ReconcileTable, 0, len(r.stats))
	for name, st := range r.stats {
		t := *st
		_, t.Running = r.running[name]
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Table < out[j].Table })
	return out
}
