// Package store keeps the remediator's durable state: the queue of jobs
// (one per alert episode, rule and phase), the safety state (attempts,
// cooldowns, the circuit breaker) and the audit trail. Two stores
// implement Store: bbolt files for one process, PostgreSQL for replicas
// sharing one state. Both pass the same conformance suite.
package store

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Store keeps what must survive a restart: the queue of jobs (one per
// episode, rule and phase), the safety state, and the audit trail.
//
// Enqueue is the point of no return for a notification: once it has
// returned, the alerts are durable and the receiver answers 200. A job
// exists once per key, whoever sends it how often, which is what makes
// duplicates harmless; Claim hands each pending job to one owner, which is
// what makes replicas sharing a store act exactly once.
type Store interface {
	// Enqueue adds the jobs whose keys are unknown, and reopens those
	// finished without acting whose outcome allows a retry (cooldown,
	// circuit open, Connect unreachable). It returns how many it queued.
	Enqueue(ctx context.Context, jobs []*Job) (int, error)
	// Claim leases up to n pending jobs, oldest first, to owner until
	// now+lease; jobs whose lease ran out are pending again. Jobs
	// returned with an error are claimed all the same and must be
	// processed.
	Claim(ctx context.Context, owner string, n int, now time.Time, lease time.Duration) ([]*Job, error)
	// Admit decides, in one transaction serialised with every Safety
	// call, whether job's action may run: admit gets the breaker and the
	// target's state, reports whether the action may go ahead and counts
	// it in them when it does; what it leaves is saved either way. When
	// it admits the action and rec is not nil, rec is recorded in the same
	// transaction as the action job is about to send (job.Started): an
	// attempt is never counted without its write-ahead record, nor
	// recorded uncounted, and a process that dies after Admit leaves the
	// job claimed with Started set, which the next owner finds. It fails
	// with ErrClaimLost, changing nothing, when job is no longer its
	// owner's (or, on PostgreSQL, its lease has run out): then nothing
	// may be sent.
	Admit(ctx context.Context, job *Job, rec *Record, breakerKey, targetKey string, admit func(*Breaker, *TargetState) bool) (bool, error)
	// Finish marks a job done with job.Outcome and job.Retry, appends
	// rec (when not nil) to the audit trail and applies job.Healthy
	// (when set) to its target's safety state, in one transaction.
	Finish(ctx context.Context, job *Job, rec *Record) error
	// Job returns the job with key, or nil.
	Job(ctx context.Context, key string) (*Job, error)
	// Safety runs fn on a breaker and one target's state in one
	// transaction, serialised with every other Safety call; what fn
	// leaves is saved when it returns nil.
	Safety(ctx context.Context, breakerKey, targetKey string, fn func(*Breaker, *TargetState) error) error
	// Breaker reads a breaker.
	Breaker(ctx context.Context, key string) (*Breaker, error)
	// Backlog counts the jobs not yet done: queued, or claimed and
	// still running.
	Backlog(ctx context.Context) (int, error)
	// Audit lists records, newest first.
	Audit(ctx context.Context, q AuditQuery) ([]Record, error)
	// Prune forgets finished jobs, seen episodes and audit records older
	// than before, and returns how many entries it removed.
	Prune(ctx context.Context, before time.Time) (int, error)
	Close() error
}

// Retention is how long finished jobs and audit records are kept. A
// notification for an episode forgotten this long ago started far beyond
// any sensible max_alert_age, so it is suppressed as stale, not redone.
const Retention = 30 * 24 * time.Hour

// ErrClaimLost says a job's lease ran out (or it was finished) and it is
// no longer its claimant's: the claimant must not act on it, and its
// outcome is not written over the job.
var ErrClaimLost = errors.New("the job's lease ran out and another replica took it")

// AuditQuery filters the audit trail. Empty lists match everything; a
// record matches a list when it names one of its values.
type AuditQuery struct {
	Limit int
	Rule  string
	Since time.Time
	// Connectors and ConnectClusters match the alert's connector and
	// connect_cluster labels, or the action's argument of that name (a
	// rule may name its target by argument, and a decision not to act
	// has only the alert).
	Connectors      []string
	ConnectClusters []string
	// Tables match the alert's table label or the action's table argument.
	Tables []string
	// Outcomes match the record's outcome.
	Outcomes []string
}

func (q AuditQuery) match(r *Record) bool {
	if q.Rule != "" && r.Rule != q.Rule {
		return false
	}
	if !namesOneOf(r, "connector", q.Connectors) || !namesOneOf(r, "connect_cluster", q.ConnectClusters) || !namesOneOf(r, "table", q.Tables) {
		return false
	}
	if len(q.Outcomes) > 0 && !slices.Contains(q.Outcomes, r.Outcome) {
		return false
	}
	return q.Since.IsZero() || !r.FinishedAt.Before(q.Since)
}

// namesOneOf tells whether r's alert label or action argument key is one
// of vals (any record, for no vals).
func namesOneOf(r *Record, key string, vals []string) bool {
	if len(vals) == 0 {
		return true
	}
	for _, v := range []string{r.Alert.Labels[key], r.Arguments[key]} {
		if v != "" && slices.Contains(vals, v) {
			return true
		}
	}
	return false
}
