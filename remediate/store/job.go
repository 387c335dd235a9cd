package store

import (
	"strings"
	"time"
)

// Phases: which status of an alert a job answers. A firing alert runs a
// rule's action; a resolved one only its on_resolved action.
const (
	PhaseFiring   = "firing"
	PhaseResolved = "resolved"
)

// Job states in a store's queue.
const (
	StatePending = "pending"
	StateRunning = "running"
	StateDone    = "done"
)

// Job is one (alert episode, rule, phase) waiting for or past its decision.
// The episode is (fingerprint, startsAt): Alertmanager's fingerprint
// hashes the labels only, so startsAt tells one firing from the next.
type Job struct {
	Key         string            `json:"key"`
	Fingerprint string            `json:"fingerprint"`
	StartsAt    time.Time         `json:"starts_at"`
	EndsAt      time.Time         `json:"ends_at,omitempty"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Rule        string            `json:"rule"`
	Phase       string            `json:"phase"`
	ReceivedAt  time.Time         `json:"received_at"`

	// Kept by the store.
	State      string    `json:"state,omitempty"`
	Outcome    string    `json:"outcome,omitempty"`
	Retry      bool      `json:"retry,omitempty"`
	Owner      string    `json:"owner,omitempty"`
	LeaseUntil time.Time `json:"lease_until,omitempty"`
	FinishedAt time.Time `json:"finished_at,omitempty"`
	// TraceParent is the W3C traceparent of the alert's span when the job
	// was queued, so the action taken later belongs to the same trace.
	TraceParent string `json:"trace_parent,omitempty"`
	// Requeues counts how often the engine put a resolved job back in
	// the queue itself (see Engine.requeue).
	Requeues int `json:"requeues,omitempty"`

	// Started is the write-ahead record of an action about to be sent
	// (see Store.Admit), kept until Finish. A claimed job that carries
	// it was interrupted after the decision to act: its action may have
	// reached Connect, so it is never sent again for this job.
	Started *Record `json:"started,omitempty"`

	// Healthy, when set on Finish, marks a target healthy in the same
	// transaction (saves a commit per successful action).
	Healthy *HealthyMark `json:"-"`
}

// HealthyMark records that a target was seen healthy at At.
type HealthyMark struct {
	Key string
	At  time.Time
}

// JobKey names one episode's job for one rule and phase.
func JobKey(fingerprint string, startsAt time.Time, rule, phase string) string {
	return strings.Join([]string{fingerprint, startsAt.UTC().Format(time.RFC3339Nano), rule, phase}, "|")
}

// AlertRef is the alert as an audit record shows it.
type AlertRef struct {
	Name        string            `json:"name"`
	Fingerprint string            `json:"fingerprint"`
	Status      string            `json:"status"`
	StartsAt    time.Time         `json:"starts_at"`
	EndsAt      time.Time         `json:"ends_at,omitempty"`
	Labels      map[string]string `json:"labels"`
}

// Record is one entry of the audit trail: what was decided for one job,
// and how it went. Dry runs land here too, with the action they would
// have taken.
type Record struct {
	ID         uint64            `json:"id"`
	Alert      AlertRef          `json:"alert"`
	Rule       string            `json:"rule"`
	Phase      string            `json:"phase"`
	Action     string            `json:"action"`
	Arguments  map[string]string `json:"arguments,omitempty"`
	Target     string            `json:"target,omitempty"`
	DryRun     bool              `json:"dry_run"`
	Decision   string            `json:"decision"`
	Outcome    string            `json:"outcome"`
	Detail     string            `json:"detail,omitempty"`
	Error      string            `json:"error,omitempty"`
	ReceivedAt time.Time         `json:"received_at"`
	StartedAt  time.Time         `json:"started_at"`
	FinishedAt time.Time         `json:"finished_at"`
	Replica    string            `json:"replica,omitempty"`
	// TraceID names the decision's trace in the tracing backend ("" when
	// tracing is off or the trace was not sampled).
	TraceID string `json:"trace_id,omitempty"`
}
