// Package reconcilestats holds what the reconcile runner counts of each
// table's runs and repairs, as plain values the reconcile collector reads
// at scrape time. It stands apart from reconcile (not below it) so that
// the scrape path links none of the reconcile and repair code, and
// reconcile need not know about Prometheus.
package reconcilestats

import "time"

// Table is what the reconcile runner knows of one table's runs since
// cdc-sentinel started.
type Table struct {
	Table string
	// Runs finished, by outcome.
	Succeeded, Failed, Cancelled uint64
	// Running is true while a run of the table is under way.
	Running bool
	// LastSuccess is when the last successful run finished; zero until
	// one has. Missing, Extra and Changed are the rows it found differing.
	LastSuccess             time.Time
	Missing, Extra, Changed int64
	// Duplicate counts keys the target holds more rows of than the
	// source.
	Duplicate int64
	// Duration is how long the last finished run took, whatever its outcome.
	Duration time.Duration
	// RepairRows are the rows repairs re-sent, as the source connector's
	// notifications count them (total_rows_scanned of each table scan).
	RepairRows uint64
	// Repairs followed to their end, by outcome.
	RepairsCompleted, RepairsAborted, RepairsFailed, RepairsTimedOut uint64
}
