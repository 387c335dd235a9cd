package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	mssql "github.com/microsoft/go-mssqldb"

	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
)

// SQL Server CDC queries, written from Microsoft's documentation of the
// CDC system tables, views and functions. They have been exercised at the
// driver level only (go-sqlmock), never against a live server.

// SQL Server error numbers that mean a missing permission or missing CDC.
const (
	mssqlPermissionDenied       = 229   // SELECT permission denied on an object
	mssqlColumnPermissionDenied = 230   // … on a column
	mssqlNoPermission           = 297   // user does not have permission to perform this action
	mssqlStatePermissionDenied  = 300   // VIEW DATABASE STATE / VIEW SERVER STATE denied
	mssqlInvalidObject          = 208   // invalid object name (cdc.* missing)
	mssqlCDCNotEnabled          = 22901 // database not enabled for Change Data Capture
)

// classify maps driver errors onto ErrPermission and ErrCDCNotEnabled.
func classify(err error) error {
	var me mssql.Error
	if errors.As(err, &me) {
		switch me.Number {
		case mssqlPermissionDenied, mssqlColumnPermissionDenied, mssqlNoPermission, mssqlStatePermissionDenied:
			return ErrPermission
		case mssqlCDCNotEnabled:
			return ErrCDCNotEnabled
		case mssqlInvalidObject:
			if strings.Contains(strings.ToLower(me.Message), "cdc.") {
				return ErrCDCNotEnabled
			}
		}
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42501" { // insufficient_privilege
		return ErrPermission
	}
	return nil
}

// CaptureInstanceQuery finds the newest capture instance of a source
// table; during a schema change a table has two, and the newer one is the
// one Debezium moves to.
const CaptureInstanceQuery = `SELECT TOP 1 capture_instance FROM cdc.change_tables WHERE source_object_id = OBJECT_ID(@p1) ORDER BY create_date DESC`

// CaptureInstance returns the capture instance of table ("schema.table").
// A table without one returns an error wrapping ErrCDCNotEnabled.
func (db *DB) CaptureInstance(ctx context.Context, table string) (string, error) {
	pool, err := db.Pool()
	if err != nil {
		return "", err
	}
	ctx, cancel := db.QueryContext(ctx)
	defer cancel()
	var ci string
	// OBJECT_ID parses its argument as a multi-part name: quote the parts
	// so names holding dots or brackets resolve to the right table.
	err = pool.QueryRowContext(ctx, CaptureInstanceQuery, db.QuoteTable(table)).Scan(&ci)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("database %s: table %s has no capture instance: %w (run sys.sp_cdc_enable_table)", db.cfg.Name, table, ErrCDCNotEnabled)
	}
	if err != nil {
		return "", db.queryError("finding the capture instance of "+table, err)
	}
	return ci, nil
}

// NewestChangeQuery reads the commit time of the newest insert or update
// in a change table. cdc.<instance>_CT is clustered on (__$start_lsn, …),
// so TOP 1 ORDER BY __$start_lsn DESC reads from the end of the clustered
// index. Deletes (__$operation = 1) are left out: the sink removes the
// row, so the target can never show a delete's time and lag would never
// return to 0 after one; a long run of trailing deletes is read through. fn_cdc_map_lsn_to_time returns the server's local time
// (datetime has no zone); the server's current offset comes along so the
// time can be made absolute.
func NewestChangeQuery(captureInstance string) string {
	return `SELECT TOP 1 sys.fn_cdc_map_lsn_to_time(__$start_lsn), DATEPART(TZOFFSET, SYSDATETIMEOFFSET()) FROM cdc.` +
		rowhash.SQLServer{}.QuoteIdent(captureInstance+"_CT") +
		` WHERE __$operation <> 1 ORDER BY __$start_lsn DESC`
}

// NewestChange returns the commit time of the newest change captured for
// the capture instance. ok is false when the change table is empty (all
// changes cleaned up) or its LSN no longer maps to a time.
func (db *DB) NewestChange(ctx context.Context, captureInstance string) (t time.Time, ok bool, err error) {
	pool, err := db.Pool()
	if err != nil {
		return time.Time{}, false, err
	}
	ctx, cancel := db.QueryContext(ctx)
	defer cancel()
	var local sql.NullTime
	var offset sql.NullInt64
	err = pool.QueryRowContext(ctx, NewestChangeQuery(captureInstance)).Scan(&local, &offset)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, db.queryError("reading the newest change of capture instance "+captureInstance, err)
	}
	if !local.Valid {
		return time.Time{}, false, nil
	}
	return serverLocalToUTC(local.Time, offset.Int64), true, nil
}

// serverLocalToUTC turns a zone-less datetime written in the server's local
// time into an absolute time, given the server's offset in minutes.
func serverLocalToUTC(local time.Time, offsetMinutes int64) time.Time {
	wall := time.Date(local.Year(), local.Month(), local.Day(), local.Hour(), local.Minute(), local.Second(), local.Nanosecond(), time.UTC)
	return wall.Add(-time.Duration(offsetMinutes) * time.Minute)
}

// SQLServerHealth is what the capture side of one SQL Server database
// reports. A field whose query failed is left unset and its error joined
// into Err, so one missing permission does not hide the rest.
type SQLServerHealth struct {
	CDCEnabled   *bool
	Latency      *float64 // seconds; nil before the first scan session since restart
	Jobs         map[string]CDCJob
	ErrorCount   *int64
	MaxLSNTime   *time.Time
	JobsReadable bool
	Err          error
}

// CDCJob is a row of msdb.dbo.cdc_jobs.
type CDCJob struct {
	Type             string
	PollingInterval  int64 // seconds
	RetentionMinutes int64
}

// SQL Server health queries.
const (
	CDCEnabledQuery = `SELECT is_cdc_enabled FROM sys.databases WHERE database_id = DB_ID()`
	// The session_id = 0 row aggregates all sessions since the instance
	// started; its latency is the last one a session recorded. Needs VIEW
	// DATABASE STATE.
	CaptureLatencyQuery = `SELECT latency FROM sys.dm_cdc_log_scan_sessions WHERE session_id = 0`
	CDCJobsQuery        = `SELECT job_type, pollinginterval, retention FROM msdb.dbo.cdc_jobs WHERE database_id = DB_ID()`
	CDCErrorsQuery      = `SELECT COUNT(*) FROM sys.dm_cdc_errors`
	MaxLSNTimeQuery     = `SELECT sys.fn_cdc_map_lsn_to_time(sys.fn_cdc_get_max_lsn()), DATEPART(TZOFFSET, SYSDATETIMEOFFSET())`
)

// SQLServerHealth runs the capture health queries one after another on one
// connection's worth of pool (they are cheap DMV reads).
func (db *DB) SQLServerHealth(ctx context.Context) SQLServerHealth {
	var h SQLServerHealth
	pool, err := db.Pool()
	if err != nil {
		h.Err = err
		return h
	}
	ctx, cancel := db.QueryContext(ctx)
	defer cancel()
	var errs []error
	fail := func(what string, err error) { errs = append(errs, db.queryError(what, err)) }

	var enabled bool
	if err := pool.QueryRowContext(ctx, CDCEnabledQuery).Scan(&enabled); err != nil {
		fail("reading sys.databases.is_cdc_enabled", err)
	} else {
		h.CDCEnabled = &enabled
	}
	if h.CDCEnabled != nil && !*h.CDCEnabled {
		// The CDC views and functions have nothing to say; report that once.
		h.Err = fmt.Errorf("database %s: %w (run sys.sp_cdc_enable_db)", db.cfg.Name, ErrCDCNotEnabled)
		return h
	}

	var lat sql.NullFloat64
	switch err := pool.QueryRowContext(ctx, CaptureLatencyQuery).Scan(&lat); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		fail("reading sys.dm_cdc_log_scan_sessions", err)
	case lat.Valid:
		h.Latency = &lat.Float64
	}

	if jobs, err := db.cdcJobs(ctx, pool); err != nil {
		fail("reading msdb.dbo.cdc_jobs", err)
	} else {
		h.Jobs = jobs
		h.JobsReadable = true
	}

	var n int64
	if err := pool.QueryRowContext(ctx, CDCErrorsQuery).Scan(&n); err != nil {
		fail("reading sys.dm_cdc_errors", err)
	} else {
		h.ErrorCount = &n
	}

	var local sql.NullTime
	var offset sql.NullInt64
	if err := pool.QueryRowContext(ctx, MaxLSNTimeQuery).Scan(&local, &offset); err != nil {
		fail("mapping sys.fn_cdc_get_max_lsn() to time", err)
	} else if local.Valid {
		t := serverLocalToUTC(local.Time, offset.Int64)
		h.MaxLSNTime = &t
	}
	h.Err = errors.Join(errs...)
	return h
}

func (db *DB) cdcJobs(ctx context.Context, pool *sql.DB) (map[string]CDCJob, error) {
	rows, err := pool.QueryContext(ctx, CDCJobsQuery)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	jobs := map[string]CDCJob{}
	for rows.Next() {
		var j CDCJob
		var poll, ret sql.NullInt64
		if err := rows.Scan(&j.Type, &poll, &ret); err != nil {
			return nil, err
		}
		j.Type = strings.ToLower(strings.TrimSpace(j.Type))
		j.PollingInterval, j.RetentionMinutes = poll.Int64, ret.Int64
		jobs[j.Type] = j
	}
	return jobs, rows.Err()
}

// LSNTimesQuery maps a committed LSN and the newest LSN to their commit
// times in one round trip; both are the server's local time, so their
// difference needs no zone.
const LSNTimesQuery = `SELECT sys.fn_cdc_map_lsn_to_time(CONVERT(binary(10), @p1, 2)), sys.fn_cdc_map_lsn_to_time(sys.fn_cdc_get_max_lsn())`

var lsnPattern = regexp.MustCompile(`^[0-9A-Fa-f]{8}:[0-9A-Fa-f]{8}:[0-9A-Fa-f]{4}$`)

// OffsetLag returns how far the commit time of lsn (Debezium's commit_lsn,
// "0000002b:000002e3:0003") trails the commit time of the newest LSN. It
// is 0 when the connector has committed the newest change, however long
// the source has been idle. ok is false when either LSN maps to no time.
func (db *DB) OffsetLag(ctx context.Context, lsn string) (lag time.Duration, ok bool, err error) {
	if !lsnPattern.MatchString(lsn) {
		return 0, false, fmt.Errorf("database %s: %q is not an LSN of the form 0000002b:000002e3:0003", db.cfg.Name, lsn)
	}
	pool, err := db.Pool()
	if err != nil {
		return 0, false, err
	}
	ctx, cancel := db.QueryContext(ctx)
	defer cancel()
	var committed, newest sql.NullTime
	hex := strings.ReplaceAll(lsn, ":", "")
	if err := pool.QueryRowContext(ctx, LSNTimesQuery, hex).Scan(&committed, &newest); err != nil {
		return 0, false, db.queryError("mapping LSN "+lsn+" to time", err)
	}
	if !committed.Valid || !newest.Valid {
		return 0, false, nil
	}
	return max(0, newest.Time.Sub(committed.Time)), true, nil
}
