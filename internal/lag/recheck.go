package lag

import (
	"context"
	"fmt"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
)

// RecheckWait is how long a drift recheck of table t must wait after a
// row was seen differing before a difference that remains can be called
// drift: the time a change committed now may take to show at the
// target. It is the one answer to that question, for every caller.
//
// It adds up the table's lag (Read: the age of its oldest change not yet
// applied, on the source's clock), the source's capture latency (SQL
// Server: the newest finished log scan session's latency, the time a
// committed change takes to reach the change table lag reads; 0 on
// PostgreSQL, whose source timestamps are read from the table itself) and
// the table's drift.recheck_margin. Without a source change time
// (PostgreSQL without source_timestamp_column) it is the margin alone.
// It fails with ErrNothingApplied while the target has applied none of
// the source's changes (every row would look missing), and with the
// database's error when lag or the capture latency cannot be read: a
// wait that is too short confirms rows still in flight.
func (r *Reader) RecheckWait(ctx context.Context, t config.Table) (time.Duration, error) {
	var margin time.Duration
	if t.Drift != nil {
		margin = t.Drift.RecheckMargin
	}
	if !r.HasSourceTime(t) {
		return margin, nil
	}
	rd, err := r.Read(ctx, t, nil)
	switch {
	case err != nil:
		return 0, err
	case rd.Waiting:
		return 0, ErrNothingApplied
	}
	capture, err := r.captureLatency(ctx, t)
	if err != nil {
		return 0, fmt.Errorf("capture latency: %w", err)
	}
	return rd.Lag + capture + margin, nil
}

// RecheckWaitFunc is RecheckWait for table t as a function, for a sampler
// that holds tables rather than the Reader.
func (r *Reader) RecheckWaitFunc(t config.Table) func(ctx context.Context) (time.Duration, error) {
	return func(ctx context.Context) (time.Duration, error) { return r.RecheckWait(ctx, t) }
}

// captureLatency is how long the source takes to make a committed change
// visible where lag reads it: the capture job's latency on SQL Server,
// nothing on PostgreSQL.
func (r *Reader) captureLatency(ctx context.Context, t config.Table) (time.Duration, error) {
	db := r.dbs[t.Source.Database]
	if db.Driver() != config.DriverSQLServer {
		return 0, nil
	}
	release, err := r.acquire(ctx, t.Source.Database)
	if err != nil {
		return 0, err
	}
	defer release()
	return db.CaptureLatency(ctx)
}
