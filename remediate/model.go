// Package remediate is cdc-sentinel's Alertmanager webhook remediator: it
// records each alert of a notification durably, matches it against the
// configured rules, and acts on the pipeline at most once per alert
// episode and rule, within cooldowns, attempt limits and a global circuit
// breaker, leaving an audit record of every decision.
package remediate

import (
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

// Outcomes are the values of cdc_remediation_actions_total's outcome label.
const (
	OutcomeSuccess               = "success"
	OutcomeFailure               = "failure"
	OutcomeDryRun                = "dry_run"
	OutcomeSuppressedCooldown    = "suppressed_cooldown"
	OutcomeSuppressedMaxAttempts = "suppressed_max_attempts"
	OutcomeSuppressedCircuitOpen = "suppressed_circuit_open"
	OutcomeSuppressedStale       = "suppressed_stale"
	OutcomeNotNeeded             = "not_needed"
	OutcomeNotRetryable          = "not_retryable"
	OutcomeInvalidArgs           = "invalid_args"
	// OutcomeInterrupted: the action was recorded as about to be sent,
	// then its process stopped (or lost the job's lease) before the
	// outcome was recorded. It may or may not have taken effect; it is
	// not sent again for the episode.
	OutcomeInterrupted = "interrupted"
	// OutcomeEscalated: a connector the remediator paused is about to
	// lose records to retention and its rule says before_data_loss:
	// escalate, so it stays paused and a human must decide.
	OutcomeEscalated = "escalated"
)

// allOutcomes lists every outcome, so that metrics can be initialised.
var allOutcomes = []string{
	OutcomeSuccess, OutcomeFailure, OutcomeDryRun, OutcomeSuppressedCooldown,
	OutcomeSuppressedMaxAttempts, OutcomeSuppressedCircuitOpen, OutcomeSuppressedStale,
	OutcomeNotNeeded, OutcomeNotRetryable, OutcomeInvalidArgs, OutcomeInterrupted, OutcomeEscalated,
}

// Outcomes lists every outcome an audit record can have; the audit API
// refuses an outcome= filter naming another.
func Outcomes() []string { return append([]string(nil), allOutcomes...) }

// Decisions say what the engine chose to do; the outcome says how it went.
const (
	DecisionAct      = "act"
	DecisionDryRun   = "dry_run"
	DecisionSuppress = "suppress"
	DecisionSkip     = "skip"
)

func alertRef(j *store.Job) store.AlertRef {
	status := store.PhaseFiring
	if j.Phase == store.PhaseResolved {
		status = store.PhaseResolved
	}
	return store.AlertRef{
		Name: j.Labels["alertname"], Fingerprint: j.Fingerprint, Status: status,
		StartsAt: j.StartsAt, EndsAt: j.EndsAt, Labels: j.Labels,
	}
}

// retryable outcomes leave a job open to a later delivery of the same
// episode: nothing was done, and the reason may have passed.
func retryableOutcome(outcome string) bool {
	switch outcome {
	case OutcomeSuppressedCooldown, OutcomeSuppressedCircuitOpen:
		return true
	}
	return false
}
