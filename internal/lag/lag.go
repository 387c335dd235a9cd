// Package lag is the one home of every lag number cdc-sentinel reports
// or waits on; collectors only turn its answers into series.
//
// A replicated table's lag (Reader.Read): while a change is pending, the
// age of the oldest change the target has not applied, on the source
// database's clock, so it grows while the sink is stuck even when nothing
// new arrives; exactly 0 when the target has applied every change it can
// show. cdc_table_lag_seconds reports it and the drift recheck waits for
// it (RecheckWait).
//
// A source connector's offset lag (Reader.SQLServerOffsetLag,
// Reader.PostgresOffsetLag): how far its committed offsets trail the
// source's newest change, for cdc_connector_offset_lag_seconds. Table and
// offset lag read the databases within the Reader's slots per database
// and the caller's deadline.
//
// A sink connector's consumer lag (SinkLag): the records its group has
// yet to consume and the age of the oldest, for cdc_sink_consumer_lag_*,
// from one read of the groups' backlogs bounded by SinkBacklogOptions.
//
// A PostgreSQL replication slot's lag (SlotLagBytes): the WAL between the
// server's position and what the slot's consumer confirmed, for
// cdc_replication_slot_lag_bytes, from the positions database reads.
package lag

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
)

// Reading is one table's lag at one moment.
type Reading struct {
	// LastApplied is the source commit time of the newest change applied
	// at the target (the max of its watermark column); Applied is false
	// when the target holds no row.
	LastApplied time.Time
	Applied     bool
	// Lag is 0 when the source has no change later than LastApplied, and
	// otherwise the source's clock now minus the time of the oldest such
	// change (at least a millisecond, so a pending change never reads as
	// caught up). Known is false when it cannot be measured: the source
	// has no change time (PostgreSQL without source_timestamp_column),
	// the source was not read, or the target has applied nothing while
	// the source has changes.
	Lag   time.Duration
	Known bool
	// Waiting is set when the source has changes and the target has
	// applied none yet.
	Waiting bool
}

// Reader reads tables' lag over the opened databases. Each table costs
// two index lookups, never more at once per database than its pool
// holds.
type Reader struct {
	dbs    map[string]*database.DB
	sems   map[string]chan struct{}
	logger *slog.Logger

	mu sync.Mutex
	// captureInstances caches each SQL Server table's capture instance;
	// it changes only when CDC is re-enabled for the table.
	captureInstances map[string]database.CaptureInstance
	// millis remembers, per source timestamp column, whether it holds
	// epoch milliseconds (learnt from its first max()), so later reads go
	// straight to the oldest pending change with a bound of its kind.
	millis map[string]bool
	// indexChecked remembers which max() columns were checked for an
	// index, so the warning is logged once per Reader.
	indexChecked map[string]bool
	// pendingSince remembers, per table, since when (on this process's
	// monotonic clock) a change has been seen waiting while the target
	// applied nothing new. A row changed again before its first change
	// was applied shows only its newest time at the source, so a hot row
	// behind a stuck sink would read as seconds behind for ever; what was
	// seen waiting before still waits while the applied time stands still.
	pendingSince map[string]pendingMark
	now          func() time.Time
}

// pendingMark is when a table's oldest waiting change was first seen to
// have happened, while its target's newest applied change was applied.
type pendingMark struct {
	applied time.Time
	since   time.Time
}

// NewReader reads lag over dbs (by configured name).
func NewReader(dbs map[string]*database.DB, logger *slog.Logger) *Reader {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Reader{
		dbs: dbs, logger: logger,
		sems:             map[string]chan struct{}{},
		captureInstances: map[string]database.CaptureInstance{},
		indexChecked:     map[string]bool{},
		millis:           map[string]bool{},
		pendingSince:     map[string]pendingMark{},
		now:              time.Now,
	}
	for name, db := range dbs {
		n := db.Config().MaxOpenConns
		if n <= 0 {
			n = 4
		}
		r.sems[name] = make(chan struct{}, n)
	}
	return r
}

// HasSourceTime tells whether a table's source changes carry a commit
// time lag can be measured against: always on SQL Server (the change
// table's LSN), with source_timestamp_column on PostgreSQL.
func (r *Reader) HasSourceTime(t config.Table) bool {
	src := r.dbs[t.Source.Database]
	return src != nil && (src.Driver() == config.DriverSQLServer || t.SourceTimestampColumn != "")
}

// Read measures table t. sourceUp, when not nil, is asked (from the
// goroutine reading the source, while the target is read) whether the
// source can be read: a caller that pings databases passes the wait for
// the source's ping, so a hanging source delays nothing else. When it
// says no, only the target is read and Known is false. An error from the
// target fails the reading; one from the source comes with the target's
// part of the reading filled in.
//
// Each read costs one index lookup at the target (max of the watermark)
// and, after it, one at the source: on PostgreSQL the first source
// timestamp after the applied one (the first read of a table reads the
// source's max() instead, and the first one only when behind); on SQL
// Server a range of the change table (PendingChange).
func (r *Reader) Read(ctx context.Context, t config.Table, sourceUp func() bool) (Reading, error) {
	if r.dbs[t.Target.Database] == nil || r.dbs[t.Source.Database] == nil {
		return Reading{}, fmt.Errorf("table %s: database %q or %q is not configured", t.Name, t.Source.Database, t.Target.Database)
	}
	wantSource := r.HasSourceTime(t)
	done := make(chan struct{})
	if wantSource && sourceUp != nil {
		go func() {
			defer close(done)
			wantSource = sourceUp()
		}()
	} else {
		close(done)
	}
	applied, appliedOK, err := r.maxTime(ctx, t.Target.Database, t.Target.Table, t.WatermarkColumn)
	<-done
	if err != nil {
		return Reading{}, fmt.Errorf("target: %w", err)
	}
	rd := Reading{LastApplied: applied, Applied: appliedOK}
	if !wantSource {
		return rd, nil
	}
	// Caught up (pending false) when the source's newest change is
	// applied: exactly 0 however long the source has been idle.
	var age time.Duration
	var pending bool
	from := applied
	if !appliedOK {
		// Nothing applied: is anything there to apply?
		from = time.Unix(0, 0)
	}
	if r.dbs[t.Source.Database].Driver() == config.DriverSQLServer {
		age, pending, err = r.sqlServerPending(ctx, t, from)
	} else {
		age, pending, err = r.postgresPending(ctx, t, from, appliedOK)
	}
	switch {
	case err != nil:
		return rd, fmt.Errorf("source: %w", err)
	case pending && !appliedOK:
		// Source changes but an empty target: nothing applied yet, no lag
		// to speak of.
		rd.Waiting = true
	case pending:
		rd.Lag, rd.Known = max(r.stillWaiting(t.Name, applied, age), time.Millisecond), true
	default:
		rd.Known = true
	}
	if !pending || !appliedOK {
		r.mu.Lock()
		delete(r.pendingSince, t.Name)
		r.mu.Unlock()
	}
	return rd, nil
}

// stillWaiting is the age of table's oldest waiting change: the age the
// source shows now, or, when the target has applied nothing since an
// older change was seen waiting, that change's age, which only grows.
// Ages come from the source's clock; only the time elapsed between two
// reads comes from this process's monotonic clock, so no skew enters.
func (r *Reader) stillWaiting(table string, applied time.Time, age time.Duration) time.Duration {
	now := r.now()
	since := now.Add(-age)
	r.mu.Lock()
	defer r.mu.Unlock()
	if m, ok := r.pendingSince[table]; ok && m.applied.Equal(applied) && m.since.Before(since) {
		since = m.since
	}
	r.pendingSince[table] = pendingMark{applied: applied, since: since}
	return now.Sub(since)
}

// caughtUp tells whether a source change at time src is applied when the
// newest change applied at the target is at applied: both are the
// source's commit time, so no skew between hosts enters. Debezium's
// ts_ms has millisecond resolution: a microsecond source timestamp is cut
// to it, or an applied change would look 0.6 ms behind itself.
func caughtUp(src, applied time.Time) bool {
	return !src.Truncate(time.Millisecond).After(applied.Truncate(time.Millisecond))
}

// postgresPending is the age of the oldest source change later than
// applied, on the source's clock: the first entry of the source
// timestamp's index after it, with the source's now() in the same
// statement. The first read of a column reads its max() instead, to learn
// its kind (epoch milliseconds or timestamp) for the bound, and answers
// a caught-up table with that one lookup.
func (r *Reader) postgresPending(ctx context.Context, t config.Table, applied time.Time, appliedOK bool) (time.Duration, bool, error) {
	db := r.dbs[t.Source.Database]
	key := db.Name() + "\x00" + t.Source.Table + "\x00" + t.SourceTimestampColumn
	r.mu.Lock()
	millis, known := r.millis[key]
	r.mu.Unlock()
	if !known {
		newest, ok, err := r.newestTime(ctx, t.Source.Database, t.Source.Table, t.SourceTimestampColumn)
		if err != nil || !ok {
			return 0, false, err // !ok: no change at the source, nothing waits
		}
		r.mu.Lock()
		r.millis[key] = newest.Millis
		r.mu.Unlock()
		millis = newest.Millis
		switch {
		case !appliedOK:
			return 0, true, nil // waiting: no age is reported
		case caughtUp(newest.Time, applied):
			return 0, false, nil
		}
	}
	release, err := r.acquire(ctx, t.Source.Database)
	if err != nil {
		return 0, false, err
	}
	defer release()
	// The first value that is not caught up: the next millisecond.
	from := database.ColumnTime{Time: applied.Truncate(time.Millisecond).Add(time.Millisecond), Millis: millis}
	now, oldest, ok, err := db.OldestAfter(ctx, t.Source.Table, t.SourceTimestampColumn, from)
	if err != nil {
		// The column may have changed type: learn its kind again.
		r.mu.Lock()
		delete(r.millis, key)
		r.mu.Unlock()
		return 0, false, err
	}
	if !ok {
		return 0, false, nil
	}
	return now.Sub(oldest), true, nil
}

// ErrNothingApplied is returned by RecheckWait while the source has
// changes and the target none: every row would look missing.
var ErrNothingApplied = errors.New("the target has applied none of the source's changes yet")

// acquire takes one of the database's pool slots, or gives up with ctx.
func (r *Reader) acquire(ctx context.Context, db string) (func(), error) {
	sem, ok := r.sems[db]
	if !ok {
		// A nil channel would wait for ever: name the mistake instead.
		return nil, fmt.Errorf("database %q is not one the lag reader was given", db)
	}
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a connection to %s: %w", db, ctx.Err())
	}
}

// sqlServerPending is the age of the oldest change in the table's
// change table that the target can show and has not applied (see
// database.PendingChange).
func (r *Reader) sqlServerPending(ctx context.Context, t config.Table, applied time.Time) (time.Duration, bool, error) {
	db := r.dbs[t.Source.Database]
	release, err := r.acquire(ctx, t.Source.Database)
	if err != nil {
		return 0, false, err
	}
	defer release()
	r.mu.Lock()
	ci, ok := r.captureInstances[t.Name]
	r.mu.Unlock()
	if !ok {
		if ci, err = db.CaptureInstance(ctx, t.Source.Table); err != nil {
			return 0, false, err
		}
		r.mu.Lock()
		r.captureInstances[t.Name] = ci
		r.mu.Unlock()
	}
	age, pending, err := db.PendingChange(ctx, ci, applied)
	if errors.Is(err, database.ErrCDCNotEnabled) {
		// The capture instance went away (CDC re-enabled under a new
		// name): look it up again next time.
		r.mu.Lock()
		delete(r.captureInstances, t.Name)
		r.mu.Unlock()
	}
	return age, pending, err
}

func (r *Reader) maxTime(ctx context.Context, dbName, table, column string) (time.Time, bool, error) {
	ct, ok, err := r.newestTime(ctx, dbName, table, column)
	return ct.Time, ok, err
}

func (r *Reader) newestTime(ctx context.Context, dbName, table, column string) (database.ColumnTime, bool, error) {
	release, err := r.acquire(ctx, dbName)
	if err != nil {
		return database.ColumnTime{}, false, err
	}
	defer release()
	db := r.dbs[dbName]
	ct, ok, err := db.NewestTime(ctx, table, column)
	if err == nil {
		r.checkIndex(ctx, db, table, column)
	}
	return ct, ok, err
}

// checkIndex warns once when max(column) has no index to read from: the
// lag query then scans the whole table every time.
func (r *Reader) checkIndex(ctx context.Context, db *database.DB, table, column string) {
	key := db.Name() + "\x00" + table + "\x00" + column
	r.mu.Lock()
	done := r.indexChecked[key]
	r.indexChecked[key] = true
	r.mu.Unlock()
	if done {
		return
	}
	has, err := db.HasLeadingIndex(ctx, table, column)
	switch {
	case err != nil:
		r.mu.Lock()
		delete(r.indexChecked, key) // try again next time
		r.mu.Unlock()
	case !has:
		r.logger.Warn("no index leads with the column cdc-sentinel reads max() of: every scrape scans the table; create one",
			"database", db.Name(), "table", table, "column", column,
			"sql", fmt.Sprintf("CREATE INDEX %s ON %s (%s)", db.QuoteIdent("cdc_sentinel_"+strings.ReplaceAll(table, ".", "_")+"_"+column), db.QuoteTable(table), db.QuoteIdent(column)))
	}
}
