package remediate

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/cdc-sentinel/cdc-sentinel/internal/tracing"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

const breakerKey = "breaker"

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
	// A retry starts afresh: a write-ahead record left on the job (its
	// admission was withdrawn before anything was sent) would have the
	// retry audited as interrupted and never sent.
	next.State, next.Outcome, next.Retry, next.Owner, next.Started = "", "", false, "", nil
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
	if rule.holds != "" {
		if decided, retry := e.holdsPause(ctx, rule, t, rec); decided {
			return retry
		}
	}
	return e.admitAndAct(ctx, rule, action, t, j, rec)
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
