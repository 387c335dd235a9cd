package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cdc-sentinel/cdc-sentinel/internal/retention"
)

// Slot is one logical replication slot of a PostgreSQL database.
type Slot struct {
	Name   string
	Type   string
	Plugin string
	Active bool
	// Position is the server's WAL position: the current insert position,
	// on a standby the last WAL received; nil when a standby has received
	// none yet.
	Position *retention.WALPosition
	// ConfirmedFlush is how far the slot's consumer has confirmed
	// (confirmed_flush_lsn); nil when it has confirmed nothing yet. What
	// lies between the two is the slot's lag, lag.SlotLagBytes.
	ConfirmedFlush *retention.WALPosition
	// RetainedBytes is WAL the server keeps for the slot (against
	// restart_lsn).
	RetainedBytes *float64
	// WALStatus and SafeWALSize exist from PostgreSQL 13.
	WALStatus   string
	SafeWALSize *float64
}

// SlotsQuery lists the logical slots of the connected database (slots are
// cluster-wide; the filter keeps a target database on the same cluster
// from reporting the source's slots). On a standby the position is the
// last received WAL, since there is no current insert position.
const SlotsQuery = `SELECT slot_name, slot_type, COALESCE(plugin, ''), active,
  w.lsn::text, confirmed_flush_lsn::text,
  pg_wal_lsn_diff(w.lsn, restart_lsn)::float8,
  COALESCE(wal_status, ''), safe_wal_size::float8
FROM pg_replication_slots,
  (SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END AS lsn) w
WHERE database = current_database()
ORDER BY slot_name`

// slotsQueryPre13 is SlotsQuery without wal_status and safe_wal_size.
const slotsQueryPre13 = `SELECT slot_name, slot_type, COALESCE(plugin, ''), active,
  w.lsn::text, confirmed_flush_lsn::text,
  pg_wal_lsn_diff(w.lsn, restart_lsn)::float8,
  '', NULL::float8
FROM pg_replication_slots,
  (SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END AS lsn) w
WHERE database = current_database()
ORDER BY slot_name`

// ReplicationSlots lists the database's logical replication slots.
func (db *DB) ReplicationSlots(ctx context.Context) ([]Slot, error) {
	pool, err := db.Pool()
	if err != nil {
		return nil, err
	}
	ctx, cancel := db.QueryContext(ctx)
	defer cancel()
	slots, err := querySlots(ctx, pool, SlotsQuery)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42703" { // undefined_column: before PostgreSQL 13
		slots, err = querySlots(ctx, pool, slotsQueryPre13)
	}
	if err != nil {
		return nil, db.queryError("reading pg_replication_slots", err)
	}
	return slots, nil
}

func querySlots(ctx context.Context, pool *sql.DB, q string) ([]Slot, error) {
	rows, err := pool.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Slot
	for rows.Next() {
		var s Slot
		var position, confirmed sql.NullString
		var retained, safe sql.NullFloat64
		if err := rows.Scan(&s.Name, &s.Type, &s.Plugin, &s.Active, &position, &confirmed, &retained, &s.WALStatus, &safe); err != nil {
			return nil, err
		}
		if s.Position, err = walPosition(position); err != nil {
			return nil, fmt.Errorf("slot %s: the server's position: %w", s.Name, err)
		}
		if s.ConfirmedFlush, err = walPosition(confirmed); err != nil {
			return nil, fmt.Errorf("slot %s: confirmed_flush_lsn: %w", s.Name, err)
		}
		s.RetainedBytes, s.SafeWALSize = ptr(retained), ptr(safe)
		out = append(out, s)
	}
	return out, rows.Err()
}

// walPosition reads a pg_lsn the server printed; nil for NULL.
func walPosition(s sql.NullString) (*retention.WALPosition, error) {
	if !s.Valid {
		return nil, nil
	}
	p, err := retention.ParseWALPosition(s.String)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

func ptr(n sql.NullFloat64) *float64 {
	if !n.Valid {
		return nil
	}
	return &n.Float64
}

// LastCommitQuery reads the commit time of the newest transaction; it
// needs track_commit_timestamp = on, and returns no time otherwise.
const LastCommitQuery = `SELECT CASE WHEN current_setting('track_commit_timestamp') = 'on' THEN (SELECT "timestamp" FROM pg_last_committed_xact()) END`

// LastCommit returns the commit time of the newest transaction when the
// server tracks commit timestamps; ok is false when it does not.
func (db *DB) LastCommit(ctx context.Context) (time.Time, bool, error) {
	pool, err := db.Pool()
	if err != nil {
		return time.Time{}, false, err
	}
	ctx, cancel := db.QueryContext(ctx)
	defer cancel()
	var t sql.NullTime
	if err := pool.QueryRowContext(ctx, LastCommitQuery).Scan(&t); err != nil {
		return time.Time{}, false, db.queryError("reading pg_last_committed_xact()", err)
	}
	return t.Time, t.Valid, nil
}
