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

// Reads for the source's retention limits: what the SQL Server cleanup
// job or a PostgreSQL slot still keeps for a connector. The decisions are
// internal/retention's; these only read.

// SQLServerPositionQuery reads, for a committed LSN (@p1, 20 hex digits),
// the cleanup job's retention (minutes; NULL without a cleanup job), the
// cleanup job's clock (the newest commit time, as
// fn_cdc_map_lsn_to_time(fn_cdc_get_max_lsn()) gives it), the committed
// LSN's own commit time (NULL once cleaned up) and the commit time of
// the first transaction committed later than it (NULL when there is
// none). All are the server's local time, as the cleanup job compares
// them. cdc.lsn_time_mapping is clustered on start_lsn, so the last
// column is a seek that stops at the first row after the position.
const SQLServerPositionQuery = `WITH c AS (SELECT CONVERT(binary(10), @p1, 2) AS lsn), ct AS (SELECT (SELECT tran_end_time FROM cdc.lsn_time_mapping WHERE start_lsn = (SELECT lsn FROM c)) AS committed_at)
SELECT (SELECT retention FROM msdb.dbo.cdc_jobs WHERE database_id = DB_ID() AND job_type = N'cleanup'),
  sys.fn_cdc_map_lsn_to_time(sys.fn_cdc_get_max_lsn()),
  (SELECT committed_at FROM ct),
  (SELECT TOP 1 m.tran_end_time FROM cdc.lsn_time_mapping m WHERE m.start_lsn > (SELECT lsn FROM c) AND (m.tran_end_time > (SELECT committed_at FROM ct) OR (SELECT committed_at FROM ct) IS NULL) ORDER BY m.start_lsn)`

// CaptureInstancesQuery lists every capture instance with its source
// table, its low endpoint (fn_cdc_get_min_lsn, which the cleanup job
// moves up) and when it was created.
const CaptureInstancesQuery = `SELECT OBJECT_SCHEMA_NAME(source_object_id), OBJECT_NAME(source_object_id), capture_instance, sys.fn_cdc_get_min_lsn(capture_instance), create_date FROM cdc.change_tables ORDER BY capture_instance`

// SQLServerRetention reads what internal/retention needs to judge a SQL
// Server source committed at lsn; the caller fills in Instances from
// CaptureInstances with the tables the connector captures.
func (db *DB) SQLServerRetention(ctx context.Context, lsn retention.LSN) (retention.SQLServerSource, error) {
	src := retention.SQLServerSource{Committed: lsn}
	pool, err := db.Pool()
	if err != nil {
		return src, err
	}
	ctx, cancel := db.QueryContext(ctx)
	defer cancel()
	var minutes sql.NullInt64
	var newest, at, next sql.NullTime
	if err := pool.QueryRowContext(ctx, SQLServerPositionQuery, lsn.Hex()).Scan(&minutes, &newest, &at, &next); err != nil {
		return src, db.queryError("reading the cleanup retention and the commit times around LSN "+lsn.String(), err)
	}
	src.HasCleanup, src.Retention = minutes.Valid, time.Duration(minutes.Int64)*time.Minute
	src.Newest = newest.Time
	if at.Valid {
		src.CommittedAt = &at.Time
	}
	if next.Valid {
		src.Next = &next.Time
	}
	return src, nil
}

// CaptureInstanceLow is a capture instance's low endpoint with its table.
type CaptureInstanceLow struct {
	Schema, Table string
	retention.CaptureInstance
}

// CaptureInstances lists the database's capture instances and their low
// endpoints.
func (db *DB) CaptureInstances(ctx context.Context) ([]CaptureInstanceLow, error) {
	pool, err := db.Pool()
	if err != nil {
		return nil, err
	}
	ctx, cancel := db.QueryContext(ctx)
	defer cancel()
	rows, err := pool.QueryContext(ctx, CaptureInstancesQuery)
	if err != nil {
		return nil, db.queryError("reading cdc.change_tables", err)
	}
	defer rows.Close()
	var out []CaptureInstanceLow
	for rows.Next() {
		var schema, table sql.NullString
		var c CaptureInstanceLow
		var low []byte
		if err := rows.Scan(&schema, &table, &c.Name, &low, &c.Created); err != nil {
			return nil, db.queryError("reading cdc.change_tables", err)
		}
		if !schema.Valid || !table.Valid {
			continue // its table was dropped while the instance is being removed
		}
		if c.MinLSN, err = retention.LSNFromBytes(low); err != nil {
			return nil, fmt.Errorf("database %s: fn_cdc_get_min_lsn(%s): %w", db.cfg.Name, c.Name, err)
		}
		c.Schema, c.Table = schema.String, table.String
		c.CaptureInstance.Table = schema.String + "." + table.String
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, db.queryError("reading cdc.change_tables", err)
	}
	return out, nil
}

// SlotRetentionQuery reads one replication slot of the connected
// database ($1), the server's WAL position (bytes since the start of
// the WAL; on a standby the last WAL received) and max_slot_wal_keep_size
// in bytes (NULL when unlimited, -1). The slot's columns are NULL when it
// does not exist. Needs PostgreSQL 13+ (wal_status, safe_wal_size).
const SlotRetentionQuery = `SELECT s.slot_name IS NOT NULL, COALESCE(s.wal_status, ''), s.safe_wal_size::float8,
  pg_wal_lsn_diff(w.lsn, '0/0')::float8,
  NULLIF(pg_size_bytes(current_setting('max_slot_wal_keep_size')), -1)::float8
FROM (SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END AS lsn) w
LEFT JOIN pg_replication_slots s ON s.slot_name = $1 AND s.database = current_database()`

// SlotRetention is a slot as SlotRetention reads it.
type SlotRetention struct {
	Found bool
	retention.PostgresSlot
	// Position is the server's WAL position in bytes; its rate is how
	// fast the slot's headroom is used.
	Position float64
	// Limit is max_slot_wal_keep_size in bytes; nil when unlimited.
	Limit *float64
}

// SlotRetention reads slot's retention state.
func (db *DB) SlotRetention(ctx context.Context, slot string) (SlotRetention, error) {
	var s SlotRetention
	pool, err := db.Pool()
	if err != nil {
		return s, err
	}
	ctx, cancel := db.QueryContext(ctx)
	defer cancel()
	var safe, pos, limit sql.NullFloat64
	err = pool.QueryRowContext(ctx, SlotRetentionQuery, slot).Scan(&s.Found, &s.WALStatus, &safe, &pos, &limit)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "42703" || pe.Code == "42704") { // before PostgreSQL 13
		return s, fmt.Errorf("database %s: slot %s: the slot's headroom needs PostgreSQL 13 or later (wal_status, max_slot_wal_keep_size): %w", db.cfg.Name, slot, err)
	}
	if err != nil {
		return s, db.queryError("reading replication slot "+slot, err)
	}
	s.SafeWALSize, s.Position, s.Limit = ptr(safe), pos.Float64, ptr(limit)
	return s, nil
}
