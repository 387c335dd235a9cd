// Package lag measures a replicated table's lag: how far the newest
// change applied at the target trails the newest change at the source,
// both read as the source's commit time. It is the one definition of a
// table's lag: cdc_table_lag_seconds reports it and the drift recheck
// waits for it.
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
	// Lag is the source's newest change time minus LastApplied, never
	// negative, 0 when the source has nothing the target lacks. Known is
	// false when it cannot be measured: the source has no change time
	// (PostgreSQL without source_timestamp_column), the source was not
	// read, or the target has applied nothing while the source has changes.
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
	// indexChecked remembers which max() columns were checked for an
	// index, so the warning is logged once per Reader.
	indexChecked map[string]bool
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
func (r *Reader) Read(ctx context.Context, t config.Table, sourceUp func() bool) (Reading, error) {
	if r.dbs[t.Target.Database] == nil || r.dbs[t.Source.Database] == nil {
		return Reading{}, fmt.Errorf("table %s: database %q or %q is not configured", t.Name, t.Source.Database, t.Target.Database)
	}
	var src struct {
		t   time.Time
		ok  bool
		err error
	}
	wantSource := r.HasSourceTime(t)
	done := make(chan struct{})
	if wantSource {
		go func() {
			defer close(done)
			if sourceUp != nil && !sourceUp() {
				wantSource = false
				return
			}
			src.t, src.ok, src.err = r.sourceNewest(ctx, t)
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
	switch {
	case !wantSource:
	case src.err != nil:
		return rd, fmt.Errorf("source: %w", src.err)
	case !src.ok:
		// No change at the source (or none left in the change table):
		// nothing is waiting to be applied.
		rd.Known = true
	case appliedOK:
		// The same clock (the source's commit time) on both sides, so no
		// skew between hosts enters; equal newest changes give exactly 0
		// however long the source has been idle. Debezium's ts_ms has
		// millisecond resolution: a microsecond source timestamp is cut to
		// it, or an applied change would look 0.6 ms behind itself.
		rd.Lag = max(0, src.t.Truncate(time.Millisecond).Sub(applied.Truncate(time.Millisecond)))
		rd.Known = true
	default:
		// Source changes but an empty target: nothing applied yet, no lag
		// to speak of.
		rd.Waiting = true
	}
	return rd, nil
}

// ErrNothingApplied is returned by a Func while the source has changes
// and the target none: every row would look missing.
var ErrNothingApplied = errors.New("the target has applied none of the source's changes yet")

// Func is table t's lag as a function, for waiting until rows in flight
// have landed; nil when t's source has no change time (then only a fixed
// margin can be waited).
func (r *Reader) Func(t config.Table) func(ctx context.Context) (time.Duration, error) {
	if !r.HasSourceTime(t) {
		return nil
	}
	return func(ctx context.Context) (time.Duration, error) { return r.pending(ctx, t) }
}

// pending is table t's lag for a caller that waits for it: an error, not
// a reading, while the target has applied nothing.
func (r *Reader) pending(ctx context.Context, t config.Table) (time.Duration, error) {
	rd, err := r.Read(ctx, t, nil)
	switch {
	case err != nil:
		return 0, err
	case rd.Waiting:
		return 0, ErrNothingApplied
	}
	return rd.Lag, nil
}

// acquire takes one of the database's pool slots, or gives up with ctx.
func (r *Reader) acquire(ctx context.Context, db string) (func(), error) {
	sem := r.sems[db]
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a connection to %s: %w", db, ctx.Err())
	}
}

// sourceNewest is the commit time of the table's newest change at the
// source: the change table's newest LSN on SQL Server, max of the
// source_timestamp_column on PostgreSQL.
func (r *Reader) sourceNewest(ctx context.Context, t config.Table) (time.Time, bool, error) {
	db := r.dbs[t.Source.Database]
	if db.Driver() != config.DriverSQLServer {
		return r.maxTime(ctx, t.Source.Database, t.Source.Table, t.SourceTimestampColumn)
	}
	release, err := r.acquire(ctx, t.Source.Database)
	if err != nil {
		return time.Time{}, false, err
	}
	defer release()
	r.mu.Lock()
	ci, ok := r.captureInstances[t.Name]
	r.mu.Unlock()
	if !ok {
		if ci, err = db.CaptureInstance(ctx, t.Source.Table); err != nil {
			return time.Time{}, false, err
		}
		r.mu.Lock()
		r.captureInstances[t.Name] = ci
		r.mu.Unlock()
	}
	ts, ok, err := db.NewestChange(ctx, ci)
	if errors.Is(err, database.ErrCDCNotEnabled) {
		// The capture instance went away (CDC re-enabled under a new
		// name): look it up again next time.
		r.mu.Lock()
		delete(r.captureInstances, t.Name)
		r.mu.Unlock()
	}
	return ts, ok, err
}

func (r *Reader) maxTime(ctx context.Context, dbName, table, column string) (time.Time, bool, error) {
	release, err := r.acquire(ctx, dbName)
	if err != nil {
		return time.Time{}, false, err
	}
	defer release()
	db := r.dbs[dbName]
	ts, ok, err := db.MaxTime(ctx, table, column)
	if err == nil {
		r.checkIndex(ctx, db, table, column)
	}
	return ts, ok, err
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
