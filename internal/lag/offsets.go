package lag

import (
	"context"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/retention"
)

// A source connector's offset lag is how far its committed offsets (GET
// /connectors/{n}/offsets) trail its source: the commit time of the
// source's newest change minus that of the change the connector last
// committed an offset for. It is 0 when the connector has committed the
// newest change, however long the source has been idle, and never
// negative; ok is false when the source cannot date one of the two. It is
// the one definition of cdc_connector_offset_lag_seconds. Each source
// read takes one of its database's slots of this Reader, as table lag
// does, so offset lag never waits on more connections than the pool.

// LSNPosition is a SQL Server source connector's committed LSN in one of
// the databases it captures.
type LSNPosition struct {
	DB  *database.DB
	LSN retention.LSN
}

// SQLServerOffsetLag is a SQL Server source connector's offset lag: the
// worst over the databases it has committed positions in, each LSN
// compared with its own database's newest, both mapped to time in one
// statement on that server's clock (no skew enters). Positions whose LSN
// no longer maps to a time count for nothing.
func (r *Reader) SQLServerOffsetLag(ctx context.Context, positions []LSNPosition) (lag time.Duration, ok bool, err error) {
	for _, p := range positions {
		d, known, err := r.lsnLag(ctx, p)
		if err != nil {
			return 0, false, err
		}
		if known {
			lag, ok = max(lag, d), true
		}
	}
	return lag, ok, nil
}

func (r *Reader) lsnLag(ctx context.Context, p LSNPosition) (time.Duration, bool, error) {
	release, err := r.acquire(ctx, p.DB.Name())
	if err != nil {
		return 0, false, err
	}
	defer release()
	committed, newest, ok, err := p.DB.LSNTimes(ctx, p.LSN)
	if err != nil || !ok {
		return 0, false, err
	}
	return max(0, newest.Sub(committed)), true, nil
}

// PostgresOffsetLag is a PostgreSQL source connector's offset lag: the
// offset's ts_usec (commit time of the last event the connector
// committed) against the newest commit at the source,
// pg_last_committed_xact() when track_commit_timestamp is on, else the
// newest source_timestamp_column among db's tables (the index read table
// lag makes).
func (r *Reader) PostgresOffsetLag(ctx context.Context, db *database.DB, off connect.Offset, tables []config.Table) (time.Duration, bool, error) {
	usec, ok := off.Offset["ts_usec"].(float64)
	if !ok {
		return 0, false, nil // no streaming position yet
	}
	committed := time.UnixMicro(int64(usec))
	newest, ok, err := r.lastCommit(ctx, db)
	if err != nil {
		return 0, false, err
	}
	if !ok {
		for _, t := range tables {
			if t.Source.Database != db.Name() || t.SourceTimestampColumn == "" {
				continue
			}
			ts, found, err := r.maxTime(ctx, db.Name(), t.Source.Table, t.SourceTimestampColumn)
			if err != nil {
				return 0, false, err
			}
			if found && ts.After(newest) {
				newest, ok = ts, true
			}
		}
	}
	if !ok {
		return 0, false, nil
	}
	return max(0, newest.Sub(committed)), true, nil
}

// lastCommit reads the commit time of a PostgreSQL source's newest
// transaction within one of the database's slots.
func (r *Reader) lastCommit(ctx context.Context, db *database.DB) (time.Time, bool, error) {
	release, err := r.acquire(ctx, db.Name())
	if err != nil {
		return time.Time{}, false, err
	}
	defer release()
	return db.LastCommit(ctx)
}
