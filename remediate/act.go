package remediate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connectaction"
	"github.com/cdc-sentinel/cdc-sentinel/internal/tracing"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

// verifyReads is how many consecutive status reads must show an action's
// effect before it counts as verified.
const verifyReads = 3

// admitAndAct takes a resolved action the rest of its way, straight
// down: the store admits it (cooldowns, attempt limits and the circuit
// breaker decided and reserved, and the action recorded as about to be
// sent, in one transaction), then connectaction reads the live status,
// decides, sends and verifies in one call. Recording before reading the
// status keeps the write-ahead rule (never act twice) without the
// remediator returning between the status read and the send; an action
// the live status finds not needed gives its reservation back. It fills
// in rec and reports whether a later delivery may try again.
func (e *Engine) admitAndAct(ctx context.Context, rule *compiledRule, action string, t *target, j *store.Job, rec *store.Record) bool {
	if ctx.Err() != nil {
		return e.leaseRanOut(rec)
	}
	prefix := ""
	if rule.dryRun {
		prefix = dryPrefix
	}
	keys := reservationKeys{breaker: prefix + breakerKey, target: prefix + safetyKey(rule.cfg.Name, action, t.key())}
	var ahead *store.Record
	if !rule.dryRun {
		// The write-ahead record says what is about to be done.
		rec.Decision, ahead = DecisionAct, rec
	}
	now := e.now()
	var outcome, why string
	var held reservation
	admitted, err := e.store.Admit(ctx, j, ahead, keys.breaker, keys.target, func(b *store.Breaker, ts *store.TargetState) bool {
		held = reservation{at: now, attempts: ts.Attempts, lastAttempt: ts.LastAttempt}
		outcome, why = rule.policy.Reserve(now, episodeStart(j), b, ts)
		return outcome == ""
	})
	if err != nil {
		rec.Decision, rec.Outcome, rec.Error = DecisionSkip, OutcomeFailure, fmt.Sprintf("not sent: recording the attempt: %v", err)
		// Nothing was counted or sent: a later delivery may try again,
		// unless another replica owns the job now.
		return !errors.Is(err, store.ErrClaimLost)
	}
	if !rule.dryRun && e.cfg.MaxActionsPerHour > 0 {
		// Any other outcome got past the breaker.
		e.noteCircuit(outcome == OutcomeSuppressedCircuitOpen, why)
	}
	if !admitted {
		rec.Decision, rec.Outcome, rec.Detail = DecisionSuppress, outcome, why
		return retryableOutcome(outcome)
	}
	if ctx.Err() != nil {
		// Waiting on the safety lock used up the lease: another replica
		// may take the job now, so this one must not act.
		e.giveBack(ctx, keys, held)
		return e.leaseRanOut(rec)
	}
	if t.reconciles() {
		return e.reconcileAdmitted(ctx, t, j, rec, keys.target, rule.dryRun)
	}
	retry, taken := e.connectorAction(ctx, t, j, rec, keys.target, rule.dryRun)
	if !taken {
		// Nothing was sent: the attempt is not counted.
		e.giveBack(ctx, keys, held)
	}
	return retry
}

// connectorAction runs an admitted connector action through connectaction
// and fills in rec. It reports whether a later delivery may try again,
// and whether the action was taken (or, in a dry run, would be).
func (e *Engine) connectorAction(ctx context.Context, t *target, j *store.Job, rec *store.Record, key string, dryRun bool) (retry, taken bool) {
	start := time.Now()
	r := connectaction.Run(ctx, t.client, t.connector, connectaction.Options{
		Timeout: e.cfg.VerifyTimeout, PollInterval: e.verifyInterval, Settle: verifyReads,
		Unattended: true, DryRun: dryRun,
	})
	if r.Verdict != "" {
		e.metrics.live.add(t.cluster, t.connector.Connector)
	}
	if r.Verdict != connectaction.Act {
		return judgeUnsent(r, rec), false
	}
	if dryRun {
		rec.Decision, rec.Outcome = DecisionDryRun, OutcomeDryRun
		rec.Detail = "dry run: would " + describeAction(t)
		return false, true
	}
	if e.afterSend != nil {
		e.afterSend(j)
	}
	e.metrics.observeDuration(t.action, time.Since(start).Seconds(), tracing.TraceID(ctx))
	rec.Detail = r.Detail()
	if !r.OK {
		rec.Outcome, rec.Error = OutcomeFailure, r.Err.Error()
		return false, true
	}
	rec.Outcome = OutcomeSuccess
	j.Healthy = &store.HealthyMark{Key: key, At: e.now()}
	return false, true
}

// judgeUnsent fills in rec for an action connectaction did not send, and
// reports whether a later delivery may try again: Connect unreachable or
// a task not listed (a rebalance may list it again) may change.
func judgeUnsent(r connectaction.Result, rec *store.Record) bool {
	rec.Decision = DecisionSkip
	switch r.Verdict {
	case connectaction.NotNeeded, connectaction.Refused:
		rec.Outcome, rec.Detail = OutcomeNotNeeded, r.Reason
		return false
	case connectaction.Unfixable:
		rec.Outcome, rec.Detail = OutcomeNotRetryable, r.Reason
		return false
	}
	rec.Outcome, rec.Error = OutcomeFailure, r.Err.Error()
	return true
}

// reconcileAdmitted starts an admitted reconcile, which reports on its
// own run.
func (e *Engine) reconcileAdmitted(ctx context.Context, t *target, j *store.Job, rec *store.Record, key string, dryRun bool) bool {
	if dryRun {
		rec.Decision, rec.Outcome = DecisionDryRun, OutcomeDryRun
		rec.Detail = "dry run: would " + describeAction(t)
		return false
	}
	start := time.Now()
	actx, span := tracing.Start(ctx, "action "+t.action, attribute.String("target", t.key()), attribute.String("action.description", describeAction(t)))
	detail, err := e.reconcile(actx, t)
	tracing.End(span, err)
	if e.afterSend != nil {
		e.afterSend(j)
	}
	e.metrics.observeDuration(t.action, time.Since(start).Seconds(), tracing.TraceID(ctx))
	rec.Detail = detail
	if err != nil {
		rec.Outcome, rec.Error = OutcomeFailure, err.Error()
		return false
	}
	rec.Outcome = OutcomeSuccess
	j.Healthy = &store.HealthyMark{Key: key, At: e.now()}
	return false
}

func (e *Engine) leaseRanOut(rec *store.Record) bool {
	rec.Decision, rec.Outcome = DecisionSkip, OutcomeFailure
	rec.Error = "the job's lease ran out before the action could start; not acting"
	return true
}

// reservationKeys name the breaker and the target state an admission
// counted in.
type reservationKeys struct{ breaker, target string }

// reservation is what an admission changed in a target's state, so that
// an action found not needed can give it back.
type reservation struct {
	at          time.Time
	attempts    int
	lastAttempt time.Time
}

// giveBack undoes an admission whose action was not sent. The target's
// count goes back only while the admission is still its last attempt; a
// later one (another replica's) stays counted.
func (e *Engine) giveBack(ctx context.Context, keys reservationKeys, r reservation) {
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	err := e.store.Safety(gctx, keys.breaker, keys.target, func(b *store.Breaker, ts *store.TargetState) error {
		b.Remove(r.at)
		if ts.LastAttempt.Equal(r.at) {
			ts.Attempts, ts.LastAttempt = r.attempts, r.lastAttempt
		}
		return nil
	})
	if err != nil {
		e.logger.Error("giving back the attempt of an action not sent; it stays counted", "target", keys.target, "err", err)
	}
}
