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

// admitAndAct takes a resolved action the rest of its way. For a
// connector action, connectaction first reads the live status and decides
// (an action not needed stops there and counts no attempt, so it never
// holds a cooldown or the circuit breaker that a needed action, decided
// meanwhile, would then be refused by). Then the store admits it:
// cooldowns, attempt limits and the circuit breaker decided and reserved,
// and the action recorded as about to be sent, in one transaction. Then
// connectaction sends it and verifies its effect. It fills in rec and
// reports whether a later delivery may try again.
func (e *Engine) admitAndAct(ctx context.Context, rule *compiledRule, action string, t *target, j *store.Job, rec *store.Record) bool {
	if ctx.Err() != nil {
		return e.leaseRanOut(rec)
	}
	var d connectaction.Decision
	if !t.reconciles() {
		var r connectaction.Result
		var send bool
		d, r, send = connectaction.Check(ctx, t.client, t.connector, e.actionOptions())
		if r.Verdict != "" {
			e.metrics.live.add(t.cluster, t.connector.Connector)
		}
		if !send {
			return judgeUnsent(r, rec)
		}
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
	if rule.dryRun {
		rec.Decision, rec.Outcome = DecisionDryRun, OutcomeDryRun
		rec.Detail = "dry run: would " + describeAction(t)
		return false
	}
	if ctx.Err() != nil {
		// Waiting on the safety lock used up the lease: another replica
		// may take the job now, so this one must not act. Nothing was
		// sent: the attempt is given back and the record withdrawn.
		e.giveBack(ctx, keys, held)
		j.Started = nil
		return e.leaseRanOut(rec)
	}
	if t.reconciles() {
		return e.reconcileAdmitted(ctx, t, j, rec, keys.target)
	}
	return e.perform(ctx, t, d, j, rec, keys.target)
}

// actionOptions are the remediator's: no person asked, so an action a
// restart cannot fix is not sent, and its effect is awaited for
// verify_timeout.
func (e *Engine) actionOptions() connectaction.Options {
	return connectaction.Options{Timeout: e.cfg.VerifyTimeout, PollInterval: e.verifyInterval, Settle: verifyReads, Unattended: true}
}

// perform sends an admitted connector action through connectaction,
// waits for its effect and fills in rec; nothing is retried after a send.
func (e *Engine) perform(ctx context.Context, t *target, d connectaction.Decision, j *store.Job, rec *store.Record, key string) bool {
	start := time.Now()
	r := connectaction.Perform(ctx, t.client, d, e.actionOptions())
	if e.afterSend != nil {
		e.afterSend(j)
	}
	e.metrics.observeDuration(t.action, time.Since(start).Seconds(), tracing.TraceID(ctx))
	rec.Detail = r.Detail()
	if !r.OK {
		rec.Outcome, rec.Error = OutcomeFailure, r.Err.Error()
		return false
	}
	rec.Outcome = OutcomeSuccess
	j.Healthy = &store.HealthyMark{Key: key, At: e.now()}
	return false
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
func (e *Engine) reconcileAdmitted(ctx context.Context, t *target, j *store.Job, rec *store.Record, key string) bool {
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
// an admission whose action is not sent after all can give it back.
type reservation struct {
	at          time.Time
	attempts    int
	lastAttempt time.Time
}

// giveBack undoes an admission whose action was not sent (the lease ran
// out while it waited to be admitted). The target's
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
