package remediate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/tracing"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

// Options build an Engine.
type Options struct {
	Config     config.Remediation
	Clusters   map[string]Connect
	Reconciler Reconciler
	// TablesFed finds the tables a reconcile without a table repairs.
	TablesFed TablesFed
	Store     store.Store
	Metrics   *Metrics
	Logger    *slog.Logger
	// Replica names this process in leases and audit records.
	Replica string
	// Workers bounds the actions running at once (default 8).
	Workers int
	// VerifyInterval spaces the status reads that verify an action
	// (default 1s).
	VerifyInterval time.Duration
	// PollInterval is how often the queue is read without a wake-up, to
	// take jobs queued by other replicas or left by a dead one (default 1s).
	PollInterval time.Duration
	// Grace bounds how long Close waits for running actions (default 10s).
	Grace time.Duration
	// RequeueDelay is the first wait before a resolved job the engine
	// put back in the queue is tried again; it doubles with every try
	// up to maxRequeueDelay (default 5s).
	RequeueDelay time.Duration
	// Now is the clock; tests set it.
	Now func() time.Time
	// OnClose runs once the engine no longer uses the store.
	OnClose func()
	// Tracing traces notifications and decisions; nil traces nothing.
	Tracing *tracing.Provider
	// Tables are the configured tables' names: the table label values
	// the metrics keep.
	Tables []string
	// Gate bounds what the engine's queue loop, the webhook and the
	// audit API wait on the store;
	// nil gives the engine one of its own with the defaults.
	Gate *store.Gate
}

type compiledRule struct {
	cfg    config.Rule
	tmpls  map[string]*template.Template
	dryRun bool
	policy Policy
	// holds, on a rule the engine adds for a pause rule's
	// before_data_loss, names that pause rule: the rule acts only on a
	// connector that rule holds paused.
	holds string
}

// Engine matches alerts to rules, queues them durably and acts on them.
// One Engine lives per configuration; the store and the metrics outlive
// it, so a reload loses neither state nor counters.
type Engine struct {
	cfg          config.Remediation
	rules        []*compiledRule
	byName       map[string]*compiledRule
	clusters     map[string]Connect
	clusterNames []string
	// knownConnectors and knownTables are the names the configuration
	// gives (rules' literal arguments, the tables section): label values
	// of cdc_remediation_actions_total along with what Connect knows.
	knownConnectors map[string]bool
	knownTables     map[string]bool
	reconciler      Reconciler
	tablesFed       TablesFed
	store           store.Store
	metrics         *Metrics
	logger          *slog.Logger
	replica         string
	workers         int
	verifyInterval  time.Duration
	pollInterval    time.Duration
	grace           time.Duration
	requeueDelay    time.Duration
	lease           time.Duration
	now             func() time.Time
	onClose         func()
	tracing         *tracing.Provider
	gate            *store.Gate
	// afterSend, when set (by tests), runs right after an action was
	// sent and before its outcome is known: where a crash hurts most.
	afterSend func(*store.Job)

	wake     chan struct{}
	runCtx   context.Context
	stop     context.CancelFunc
	done     chan struct{}
	inflight sync.WaitGroup
	// busy counts the goroutines inflight counts; unlike the WaitGroup
	// it can be read while they start, to tell an idle engine.
	busy      atomic.Int64
	closeOnce sync.Once
}

// setDefaults fills in what o leaves unset.
func (o *Options) setDefaults() error {
	if o.Metrics == nil {
		m, err := NewMetrics(nil)
		if err != nil {
			return err
		}
		o.Metrics = m
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.Gate == nil {
		o.Gate = store.NewGate(0, 0)
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&o.VerifyInterval, time.Second}, {&o.PollInterval, time.Second},
		{&o.Grace, 10 * time.Second}, {&o.RequeueDelay, 5 * time.Second},
	} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	return nil
}

// NewEngine checks the rules and returns an engine; Start runs it.
func NewEngine(o Options) (*Engine, error) {
	if o.Store == nil {
		return nil, errors.New("remediation engine: no store")
	}
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	e := &Engine{
		cfg: o.Config, byName: map[string]*compiledRule{}, clusters: o.Clusters,
		reconciler: o.Reconciler, tablesFed: o.TablesFed, store: o.Store, metrics: o.Metrics, logger: o.Logger,
		replica: o.Replica, workers: o.Workers, verifyInterval: o.VerifyInterval,
		pollInterval: o.PollInterval, grace: o.Grace, requeueDelay: o.RequeueDelay, now: o.Now, onClose: o.OnClose, tracing: o.Tracing, gate: o.Gate,
		wake: make(chan struct{}, 1), runCtx: context.Background(), done: make(chan struct{}),
		knownConnectors: map[string]bool{}, knownTables: map[string]bool{},
	}
	for _, t := range o.Tables {
		e.knownTables[t] = true
	}
	// A lease outlives the slowest action: the Connect client's retries,
	// then the verification.
	e.lease = o.Config.VerifyTimeout + 2*time.Minute
	for name := range o.Clusters {
		e.clusterNames = append(e.clusterNames, name)
	}
	sort.Strings(e.clusterNames)
	for _, r := range o.Config.Rules {
		tmpls, err := compileArgs(r.Args)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", r.Name, err)
		}
		dry := o.Config.DryRun
		if r.DryRun != nil {
			dry = *r.DryRun
		}
		cr := &compiledRule{cfg: r, tmpls: tmpls, dryRun: dry, policy: Policy{
			Cooldown: r.Cooldown, MaxAttempts: r.MaxAttempts, Backoff: r.Backoff,
			HealthyReset: o.Config.HealthyReset, MaxPerHour: o.Config.MaxActionsPerHour,
		}}
		e.rules = append(e.rules, cr)
		e.byName[r.Name] = cr
		if r.BeforeDataLoss != "" {
			br := beforeDataLoss(cr)
			e.rules = append(e.rules, br)
			e.byName[br.cfg.Name] = br
		}
		// A literal argument is a name the configuration gives.
		if v := r.Args["connector"]; v != "" && !strings.Contains(v, "{{") {
			e.knownConnectors[strings.TrimSpace(v)] = true
		}
		if v := r.Args["table"]; v != "" && !strings.Contains(v, "{{") {
			e.knownTables[strings.TrimSpace(v)] = true
		}
	}
	for _, r := range e.rules {
		for _, a := range []string{r.cfg.Action, r.cfg.OnResolved} {
			if a != "" {
				for _, o := range allOutcomes {
					// Without a target: the rule's series exist, at 0,
					// before its first decision.
					e.metrics.actions.WithLabelValues(r.cfg.Name, a, o, "", "", "")
				}
			}
		}
	}
	return e, nil
}

func (e *Engine) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Start runs the queue until Close.
func (e *Engine) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	e.runCtx, e.stop = ctx, cancel
	go e.run(ctx)
}

// Close stops taking jobs and waits up to the grace period for running
// actions. An action still running then goes on in the background; its
// job stays claimed and is taken up again after a restart.
func (e *Engine) Close() {
	e.closeOnce.Do(func() {
		if e.stop != nil {
			e.stop()
			<-e.done
		}
		finished := make(chan struct{})
		go func() { e.inflight.Wait(); close(finished) }()
		select {
		case <-finished:
			if e.onClose != nil {
				e.onClose()
			}
		case <-time.After(e.grace):
			e.logger.Warn("remediation actions still running at shutdown; they finish in the background", "grace", e.grace)
			go func() {
				<-finished
				if e.onClose != nil {
					e.onClose()
				}
			}()
		}
	})
}

func (e *Engine) run(ctx context.Context) {
	defer close(e.done)
	slots := make(chan struct{}, e.workers)
	tick := time.NewTicker(e.pollInterval)
	defer tick.Stop()
	var lastPrune time.Time
	for {
		if free := cap(slots) - len(slots); free > 0 {
			jobs, err := e.claim(ctx, free)
			if err != nil && ctx.Err() == nil {
				e.logger.Error("reading the remediation queue", "err", err)
			}
			// The job is this replica's until its lease runs out; past
			// that another may take it, so nothing starts after it.
			deadline := time.Now().Add(e.lease - leaseMargin)
			for _, j := range jobs {
				slots <- struct{}{}
				e.track(func() {
					// Not the run context: an action once started
					// finishes and is recorded even when the engine
					// is closing.
					pctx, cancel := context.WithDeadline(context.Background(), deadline)
					defer cancel()
					e.process(pctx, j)
					<-slots
					e.signal()
				})
			}
			if err == nil && len(jobs) == free {
				continue
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
		case <-tick.C:
			if now := e.now(); now.Sub(lastPrune) >= time.Hour {
				lastPrune = now
				pctx, cancel := context.WithTimeout(ctx, e.gate.Timeout())
				n, err := e.store.Prune(pctx, now.Add(-store.Retention))
				cancel()
				if err != nil {
					e.logger.Error("pruning the remediation store", "err", err)
				} else if n > 0 {
					e.logger.Info("pruned the remediation store", "entries", n, "retention", store.Retention)
				}
			}
		}
	}
}

// claim takes up to n jobs, waiting on the store no longer than a
// webhook request does: a hung store must not hold the queue loop (and
// with it Close, and a reload) for ever.
func (e *Engine) claim(ctx context.Context, n int) ([]*store.Job, error) {
	ctx, cancel := context.WithTimeout(ctx, e.gate.Timeout())
	defer cancel()
	return e.store.Claim(ctx, e.replica, n, e.now(), e.lease)
}

// leaseMargin is how long before its lease runs out a job stops being
// worked on, leaving time to record the outcome.
const leaseMargin = 30 * time.Second

// finishTimeout bounds recording an outcome, which runs even when the
// job's own deadline has passed.
const finishTimeout = 15 * time.Second

// track runs f in a goroutine that Close waits for.
func (e *Engine) track(f func()) {
	e.inflight.Add(1)
	e.busy.Add(1)
	go func() {
		defer e.inflight.Done()
		defer e.busy.Add(-1)
		f()
	}()
}
