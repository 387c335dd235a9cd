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

	amtemplate "github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectaction/actionkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/tracing"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

// Options build an Engine.
type Options struct {
	Config     config.Remediation
	Clusters   map[string]Connect
	Reconciler Reconciler
	Store      store.Store
	Metrics    *Metrics
	Logger     *slog.Logger
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
		reconciler: o.Reconciler, store: o.Store, metrics: o.Metrics, logger: o.Logger,
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

// Receive records every alert of a notification that a rule matches, one
// job per (episode, rule, phase). When it returns nil the alerts are
// durable; the actions run later, from the queue.
func (e *Engine) Receive(ctx context.Context, alerts amtemplate.Alerts) (int, error) {
	now := e.now()
	var jobs []*store.Job
	for i := range alerts {
		a := &alerts[i]
		e.metrics.alertsReceived.WithLabelValues(a.Status).Inc()
		actx, span := tracing.Start(ctx, "alert", attribute.String("alert.name", a.Labels["alertname"]),
			attribute.String("alert.fingerprint", a.Fingerprint), attribute.String("alert.status", a.Status),
			attribute.String("alert.starts_at", a.StartsAt.UTC().Format(time.RFC3339)))
		parent := tracing.TraceParent(actx)
		e.warnUntrustedTimes(a, now)
		lset := make(model.LabelSet, len(a.Labels))
		for k, v := range a.Labels {
			lset[model.LabelName(k)] = model.LabelValue(v)
		}
		for _, r := range e.rules {
			if !r.cfg.Matchers.Matches(lset) {
				continue
			}
			span.AddEvent("rule matched", trace.WithAttributes(attribute.String("rule", r.cfg.Name)))
			// The resolved job is queued even without on_resolved: it
			// tells the safety state the target is healthy again.
			jobs = append(jobs, &store.Job{
				Key:         store.JobKey(a.Fingerprint, a.StartsAt, r.cfg.Name, a.Status),
				Fingerprint: a.Fingerprint, StartsAt: a.StartsAt, EndsAt: a.EndsAt,
				Labels: a.Labels, Annotations: a.Annotations,
				Rule: r.cfg.Name, Phase: a.Status, ReceivedAt: now, TraceParent: parent,
			})
		}
		span.End()
	}
	n, err := e.store.Enqueue(ctx, jobs)
	if err != nil {
		return 0, err
	}
	if n > 0 {
		e.signal()
	}
	return n, nil
}

// warnUntrustedTimes logs an alert whose startsAt or endsAt is not
// believed as sent (see believedTime). The job keeps the times as sent,
// which name its episode; decisions read them through believedTime.
func (e *Engine) warnUntrustedTimes(a *amtemplate.Alert, received time.Time) {
	for _, f := range []struct {
		name string
		t    time.Time
	}{{"startsAt", a.StartsAt}, {"endsAt", a.EndsAt}} {
		if f.name == "endsAt" && a.Status != store.PhaseResolved {
			continue // a firing alert's endsAt decides nothing
		}
		if b, clamped := believedTime(f.t, received); clamped {
			e.logger.Warn("alert time not believed; decisions use the clamped time", "alert", a.Labels["alertname"],
				"fingerprint", a.Fingerprint, "field", f.name, "sent", f.t, "used", b, "received_at", received)
		}
	}
}

// Audit lists audit records, newest first.
func (e *Engine) Audit(ctx context.Context, q store.AuditQuery) ([]store.Record, error) {
	return e.store.Audit(ctx, q)
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

const breakerKey = "breaker"

// leaseMargin is how long before its lease runs out a job stops being
// worked on, leaving time to record the outcome.
const leaseMargin = 30 * time.Second

// finishTimeout bounds recording an outcome, which runs even when the
// job's own deadline has passed.
const finishTimeout = 15 * time.Second

// dryPrefix keeps a dry run's safety state apart from the live one: a
// dry run must show what would happen without changing what will.
const dryPrefix = "dry/"

// CircuitOpen reads the circuit breaker from the store: the
// cdc_remediation_circuit_open collector asks it at scrape time. It closes
// by itself as actions leave the hour window, and says the same on every
// replica sharing the store.
func (e *Engine) CircuitOpen(ctx context.Context) (bool, error) {
	if e.cfg.MaxActionsPerHour <= 0 {
		return false, nil
	}
	br, err := e.store.Breaker(ctx, breakerKey)
	if err != nil {
		return false, err
	}
	return br.Count(e.now()) >= e.cfg.MaxActionsPerHour, nil
}

// noteCircuit logs the circuit breaker opening and closing, once per
// change whichever engine sees it.
func (e *Engine) noteCircuit(open bool, why string) {
	if e.metrics.circuitState.Swap(open) == open {
		return
	}
	if open {
		e.logger.Warn("remediation circuit breaker open: no more actions until the hour window clears", "reason", why, "max_actions_per_hour", e.cfg.MaxActionsPerHour)
	} else {
		e.logger.Info("remediation circuit breaker closed", "max_actions_per_hour", e.cfg.MaxActionsPerHour)
	}
}

// process decides one job, acts if it should, and records the outcome.
func (e *Engine) process(ctx context.Context, j *store.Job) {
	ctx, span := e.tracing.Root(tracing.WithTraceParent(ctx, j.TraceParent), "remediation job",
		attribute.String("rule", j.Rule), attribute.String("phase", j.Phase), attribute.String("job", j.Key))
	defer span.End()
	rec := &store.Record{
		Alert: alertRef(j), Rule: j.Rule, Phase: j.Phase,
		ReceivedAt: j.ReceivedAt, StartedAt: e.now(), Replica: e.replica,
		TraceID: tracing.TraceID(ctx),
	}
	if j.Started != nil {
		e.interrupted(ctx, j)
		return
	}
	rule := e.byName[j.Rule]
	if rule == nil {
		// Queued under a configuration that has since been reloaded.
		rec.Decision, rec.Outcome = DecisionSkip, OutcomeNotNeeded
		rec.Error = fmt.Sprintf("rule %q is no longer configured", j.Rule)
		e.finish(ctx, j, rec, false, true)
		return
	}
	action := rule.cfg.Action
	if j.Phase == store.PhaseResolved {
		e.markResolved(ctx, rule, j)
		if rule.cfg.OnResolved == "" {
			j.Outcome = ""
			e.finish(ctx, j, nil, false, false)
			return
		}
		action = rule.cfg.OnResolved
		// Both phases of an episode can be taken in one batch (after a
		// restart or a backlog): on_resolved depends on the firing
		// action's outcome, so it waits for it rather than judge an
		// outcome not yet known.
		fj, err := e.store.Job(ctx, store.JobKey(j.Fingerprint, j.StartsAt, j.Rule, store.PhaseFiring))
		if err == nil && fj != nil && fj.State != store.StateDone && e.requeue(ctx, j, nil) {
			return
		}
	}
	rec.Action, rec.DryRun = action, rule.dryRun
	dctx, dspan := tracing.Start(ctx, "rule decision", attribute.String("rule", rule.cfg.Name), attribute.String("action", action))
	retry := e.decide(dctx, rule, action, j, rec)
	dspan.SetAttributes(attribute.String("decision", rec.Decision), attribute.String("outcome", rec.Outcome), attribute.String("target", rec.Target))
	dspan.End()
	// Alertmanager sends a resolved notification once: a retryable
	// on_resolved (cooldown, circuit open, Connect down) would otherwise
	// never run, and the connector its firing action paused would stay
	// paused. The engine retries it itself.
	if retry && j.Phase == store.PhaseResolved && e.requeue(ctx, j, rec) {
		return
	}
	e.finish(ctx, j, rec, retry, true)
}

// maxRequeues and maxRequeueDelay bound the engine's own retries of a
// resolved job: from a 5s start, about 75 minutes, longer than the
// circuit breaker's hour window.
const (
	maxRequeues     = 20
	maxRequeueDelay = 5 * time.Minute
)

// requeue finishes j as retryable (recording rec when not nil) and puts it
// back in the queue after a delay that doubles with every try. It reports
// false, doing nothing, once the tries are used up. When the engine
// closes, the job is queued at once, so a restart takes it up.
func (e *Engine) requeue(ctx context.Context, j *store.Job, rec *store.Record) bool {
	if j.Requeues >= maxRequeues {
		return false
	}
	delay := e.requeueDelay
	for i := 0; i < j.Requeues && delay < maxRequeueDelay; i++ {
		delay *= 2
	}
	delay = min(delay, maxRequeueDelay)
	if rec != nil {
		rec.Detail = joinDetail(rec.Detail, fmt.Sprintf("retrying in %s (%d of %d)", delay, j.Requeues+1, maxRequeues))
	}
	e.finish(ctx, j, rec, true, rec != nil)
	next := *j
	next.State, next.Outcome, next.Retry, next.Owner = "", "", false, ""
	next.LeaseUntil, next.FinishedAt, next.Healthy = time.Time{}, time.Time{}, nil
	next.Requeues++
	e.track(func() {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-e.runCtx.Done():
		}
		if _, err := e.store.Enqueue(context.Background(), []*store.Job{&next}); err != nil {
			e.logger.Error("re-queueing a resolved alert; it will not be retried", "job", next.Key, "err", err)
			return
		}
		e.signal()
	})
	return true
}

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

// checkEpisode looks at the episode's other phase. It reports whether it
// decided the job (filling in rec), and then whether a later delivery may
// try again.
func (e *Engine) checkEpisode(ctx context.Context, rule *compiledRule, j *store.Job, rec *store.Record) (decided, retry bool) {
	if j.Phase == store.PhaseFiring {
		// The episode is over: acting now (a pause) would outlive the
		// alert, and its on_resolved may already have been decided.
		rj, err := e.store.Job(ctx, store.JobKey(j.Fingerprint, j.StartsAt, j.Rule, store.PhaseResolved))
		if err != nil {
			rec.Decision, rec.Outcome, rec.Error = DecisionSkip, OutcomeFailure, err.Error()
			return true, true
		}
		if rj != nil {
			rec.Decision, rec.Outcome = DecisionSkip, OutcomeNotNeeded
			rec.Detail = "alert already resolved"
			return true, false
		}
		return false, false
	}
	// on_resolved undoes or follows up what the firing action did; it
	// does not touch a target this episode never acted on (a connector
	// paused by hand stays paused). An interrupted firing action may
	// have taken effect: on_resolved follows it, and its own live-state
	// check finds out whether there is anything to undo.
	fj, err := e.store.Job(ctx, store.JobKey(j.Fingerprint, j.StartsAt, j.Rule, store.PhaseFiring))
	if err != nil {
		rec.Decision, rec.Outcome, rec.Error = DecisionSkip, OutcomeFailure, err.Error()
		return true, false
	}
	ran := fj != nil && !rule.dryRun && (fj.Outcome == OutcomeSuccess || fj.Outcome == OutcomeInterrupted)
	ran = ran || (fj != nil && rule.dryRun && fj.Outcome == OutcomeDryRun)
	if !ran {
		got := "never recorded"
		if fj != nil {
			got = "outcome " + fj.Outcome
			if fj.Outcome == "" {
				got = "still " + fj.State
			}
		}
		rec.Decision, rec.Outcome = DecisionSkip, OutcomeNotNeeded
		rec.Detail = fmt.Sprintf("the firing action %s did not run for this episode (%s)", rule.cfg.Action, got)
		return true, false
	}
	return false, false
}

// decide fills rec with the decision and outcome; it reports whether a
// later delivery of the episode may try again.
func (e *Engine) decide(ctx context.Context, rule *compiledRule, action string, j *store.Job, rec *store.Record) bool {
	ref := episodeStart(j)
	if j.Phase == store.PhaseResolved {
		ref = episodeEnd(j)
	}
	// Against now, not the receipt: a job queued before hours of
	// downtime is as stale as the alert.
	if age := e.now().Sub(ref); e.cfg.MaxAlertAge > 0 && age > e.cfg.MaxAlertAge {
		rec.Decision, rec.Outcome = DecisionSuppress, OutcomeSuppressedStale
		rec.Detail = fmt.Sprintf("alert %s %s ago, more than max_alert_age %s", map[bool]string{true: "resolved", false: "started"}[j.Phase == store.PhaseResolved], age.Round(time.Second), e.cfg.MaxAlertAge)
		return false
	}
	if decided, retry := e.checkEpisode(ctx, rule, j, rec); decided {
		return retry
	}
	t, err := e.resolve(action, rule.tmpls, j)
	if t != nil {
		rec.Arguments = t.args
	}
	if err != nil {
		rec.Decision, rec.Outcome, rec.Error = DecisionSkip, OutcomeInvalidArgs, err.Error()
		return false
	}
	rec.Target = t.key()
	pctx, pspan := tracing.Start(ctx, "live-state pre-check", attribute.String("target", t.key()))
	outcome, detail, err := e.precheck(pctx, t)
	pspan.SetAttributes(attribute.String("outcome", outcome), attribute.String("detail", detail))
	tracing.End(pspan, err)
	if err != nil {
		// Nothing was done: Connect may be back by the next delivery.
		rec.Decision, rec.Outcome, rec.Error = DecisionSkip, OutcomeFailure, err.Error()
		return true
	}
	if outcome != "" {
		rec.Decision, rec.Outcome, rec.Detail = DecisionSkip, outcome, detail
		return false
	}
	prefix := ""
	if rule.dryRun {
		prefix = dryPrefix
	}
	now := e.now()
	var why string
	err = e.store.Safety(ctx, prefix+breakerKey, prefix+safetyKey(rule.cfg.Name, action, t.key()), func(b *store.Breaker, ts *store.TargetState) error {
		outcome, why = rule.policy.Reserve(now, episodeStart(j), b, ts)
		return nil
	})
	if err != nil {
		rec.Decision, rec.Outcome, rec.Error = DecisionSkip, OutcomeFailure, fmt.Sprintf("recording the attempt: %v", err)
		return true
	}
	if !rule.dryRun && e.cfg.MaxActionsPerHour > 0 {
		// Any other outcome got past the breaker.
		e.noteCircuit(outcome == OutcomeSuppressedCircuitOpen, why)
	}
	if outcome != "" {
		rec.Decision, rec.Outcome, rec.Detail = DecisionSuppress, outcome, why
		return retryableOutcome(outcome)
	}
	if rule.dryRun {
		rec.Decision, rec.Outcome = DecisionDryRun, OutcomeDryRun
		rec.Detail = "dry run: would " + describeAction(t)
		return false
	}
	if ctx.Err() != nil {
		// Waiting (on the safety lock, on Connect) used up the lease:
		// another replica may take the job now, so this one must not act.
		rec.Decision, rec.Outcome = DecisionSkip, OutcomeFailure
		rec.Error = "the job's lease ran out before the action could start; not acting"
		return true
	}
	rec.Decision = DecisionAct
	return e.act(ctx, t, j, rec, prefix+safetyKey(rule.cfg.Name, action, t.key()))
}

// act sends the action, verifies it and fills in rec's outcome. The
// action is recorded in the store before it is sent (write-ahead), so a
// process that dies after sending leaves a trace that whoever takes the
// job next audits as interrupted instead of sending it again.
func (e *Engine) act(ctx context.Context, t *target, j *store.Job, rec *store.Record, safety string) bool {
	if err := e.store.Begin(ctx, j, rec); err != nil {
		rec.Outcome, rec.Error = OutcomeFailure, fmt.Sprintf("not sent: %v", err)
		// Nothing was sent: a later delivery may try again, unless
		// another replica owns the job now.
		return !errors.Is(err, store.ErrClaimLost)
	}
	start := time.Now()
	actx, aspan := tracing.Start(ctx, "action "+t.action, attribute.String("target", t.key()), attribute.String("action.description", describeAction(t)))
	detail, err := e.perform(actx, t)
	tracing.End(aspan, err)
	if e.afterSend != nil {
		e.afterSend(j)
	}
	if err == nil {
		var vdetail string
		vctx, vspan := tracing.Start(ctx, "verify", attribute.String("target", t.key()))
		vdetail, err = e.verify(vctx, t)
		vspan.SetAttributes(attribute.String("detail", vdetail))
		tracing.End(vspan, err)
		detail = joinDetail(detail, vdetail)
	}
	e.metrics.observeDuration(t.action, time.Since(start).Seconds(), tracing.TraceID(ctx))
	rec.Detail = detail
	if err != nil {
		rec.Outcome, rec.Error = OutcomeFailure, err.Error()
		return false
	}
	rec.Outcome = OutcomeSuccess
	j.Healthy = &store.HealthyMark{Key: safety, At: e.now()}
	return false
}

// interrupted audits a job whose action was recorded as about to be sent
// and never finished: its process died, or lost the job's lease, in
// between. Whether the action took effect is unknown. It is not sent
// again for this episode and rule; the attempt was counted (cooldown,
// max_attempts, the circuit breaker) when it was decided.
func (e *Engine) interrupted(ctx context.Context, j *store.Job) {
	rec := *j.Started
	rec.Decision, rec.Outcome, rec.Error = DecisionAct, OutcomeInterrupted, ""
	if c := rec.Arguments["connector"]; c != "" && e.clusters[rec.Arguments["connect_cluster"]] != nil {
		// Recorded after Connect answered for the connector.
		e.metrics.live.add(rec.Arguments["connect_cluster"], c)
	}
	if id := tracing.TraceID(ctx); id != "" {
		rec.TraceID = id
	}
	rec.Detail = joinDetail(rec.Detail, fmt.Sprintf(
		"interrupted: %s recorded this action as about to be sent at %s and never recorded its outcome (it stopped or lost the job's lease); whether it took effect is unknown, so it is not sent again for this episode (found by %s)",
		rec.Replica, rec.StartedAt.UTC().Format(time.RFC3339), e.replica))
	e.finish(ctx, j, &rec, false, true)
}

// markResolved tells the firing action's safety state that its target is
// healthy again, from when the alert ended.
func (e *Engine) markResolved(ctx context.Context, rule *compiledRule, j *store.Job) {
	t, err := e.resolve(rule.cfg.Action, rule.tmpls, j)
	if err != nil {
		return
	}
	prefix := ""
	if rule.dryRun {
		prefix = dryPrefix
	}
	err = e.store.Safety(ctx, prefix+breakerKey, prefix+safetyKey(rule.cfg.Name, rule.cfg.Action, t.key()), func(_ *store.Breaker, ts *store.TargetState) error {
		if end := episodeEnd(j); ts.Attempts > 0 && end.After(ts.HealthySince) && !end.Before(ts.LastAttempt) {
			ts.HealthySince = end
		}
		return nil
	})
	if err != nil {
		e.logger.Error("recording a resolved alert", "target", t.key(), "err", err)
	}
}

// targetLabels is what cdc_remediation_actions_total says of a
// decision's target: the cluster when configured, the connector when the
// configuration names it or Connect has answered for it, the table when
// configured; any other name is "other", so alerts naming names nobody
// knows (15,000 of them, say) add no series.
func (e *Engine) targetLabels(args map[string]string) targetLabels {
	l := targetLabels{cluster: args["connect_cluster"], connector: args["connector"], table: args["table"]}
	if l.cluster != "" && e.clusters[l.cluster] == nil {
		l.cluster = otherLabel
	}
	if l.connector != "" && !e.knownConnectors[l.connector] &&
		(l.cluster == otherLabel || !e.metrics.live.has(l.cluster, l.connector)) {
		l.connector = otherLabel
	}
	if l.table != "" && !e.knownTables[l.table] {
		l.table = otherLabel
	}
	return l
}

func safetyKey(rule, action, target string) string {
	return "target/" + rule + "/" + action + "/" + target
}

func joinDetail(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
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

// finish records the outcome, counts it and logs it with the audit
// record's fields.
func (e *Engine) finish(ctx context.Context, j *store.Job, rec *store.Record, retry, count bool) {
	if rec != nil {
		rec.FinishedAt = e.now()
		j.Outcome = rec.Outcome
	}
	j.Retry = retry
	j.FinishedAt = e.now()
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	fctx, span := tracing.Start(fctx, "audit write")
	err := e.store.Finish(fctx, j, rec)
	tracing.End(span, err)
	if err != nil {
		e.logger.Error("recording a remediation outcome; the job will run again after a restart", "job", j.Key, "err", err)
	}
	if rec == nil {
		return
	}
	if count && e.byName[rec.Rule] != nil {
		e.metrics.countAction(rec.Rule, rec.Action, rec.Outcome, e.targetLabels(rec.Arguments))
	}
	level := slog.LevelInfo
	switch rec.Outcome {
	case OutcomeFailure, OutcomeNotRetryable, OutcomeInvalidArgs, OutcomeInterrupted:
		level = slog.LevelWarn
	}
	e.logger.Log(ctx, level, "remediation",
		"alert", rec.Alert.Name, "fingerprint", rec.Alert.Fingerprint, "starts_at", rec.Alert.StartsAt,
		"status", rec.Alert.Status, "rule", rec.Rule, "action", rec.Action, "arguments", rec.Arguments,
		"target", rec.Target, "dry_run", rec.DryRun, "decision", rec.Decision, "outcome", rec.Outcome,
		"detail", rec.Detail, "error", rec.Error, "received_at", rec.ReceivedAt,
		"started_at", rec.StartedAt, "finished_at", rec.FinishedAt, "replica", rec.Replica, "trace_id", rec.TraceID)
}
