package database

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Slot is one logical replication slot of a PostgreSQL database.
type Slot struct {
	Name   string
	Type   string
	Plugin string
	Active bool
	// LagBytes is WAL written but not yet confirmed by the consumer
	// (pg_wal_lsn_diff(current, confirmed_flush_lsn)); nil when the slot
	// has not confirmed anything yet.
	LagBytes *float64
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
  pg_wal_lsn_diff(w.lsn, confirmed_flush_lsn)::float8,
  pg_wal_lsn_diff(w.lsn, restart_lsn)::float8,
  COALESCE(wal_status, ''), safe_wal_size::float8
FROM pg_replication_slots,
  (SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END AS lsn) w
WHERE database = current_database()
ORDER BY slot_name`

// slotsQueryPre13 is SlotsQuery without wal_status and safe_wal_size.
const slotsQueryPre13 = `SELECT slot_name, slot_type, COALESCE(plugin, ''), active,
  pg_wal_lsn_diff(w.lsn, confirmed_flush_lsn)::float8,
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
		var lag, retained, safe sql.NullFloat64
		if err := rows.Scan(&s.Name, &s.Type, &s.Plugin, &s.Active, &lag, &retained, &s.WALStatus, &safe); err != nil {
			return nil, err
		}
		s.LagBytes, s.RetainedBytes, s.SafeWALSize = ptr(lag), ptr(retained), ptr(safe)
		out = append(out, s)
	}
	return out, rows.Err()
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
