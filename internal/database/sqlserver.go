package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	mssql "github.com/microsoft/go-mssqldb"

	"github.com/cdc-sentinel/cdc-sentinel/internal/retention"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
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

// CaptureKeyQuery lists the columns of the unique index a capture
// instance identifies rows by (cdc.index_columns; none when the table was
// enabled without one).
const CaptureKeyQuery = `SELECT ic.column_name FROM cdc.index_columns ic JOIN cdc.change_tables ct ON ct.object_id = ic.object_id WHERE ct.capture_instance = @p1 ORDER BY ic.index_ordinal`

// CaptureInstance is a table's capture instance and the columns its
// change rows are keyed by.
type CaptureInstance struct {
	Name string
	Key  []string
}

// CaptureInstance returns the capture instance of table ("schema.table").
// A table without one returns an error wrapping ErrCDCNotEnabled.
func (db *DB) CaptureInstance(ctx context.Context, table string) (CaptureInstance, error) {
	pool, err := db.Pool()
	if err != nil {
		return CaptureInstance{}, err
	}
	ctx, cancel := db.QueryContext(ctx)
	defer cancel()
	var ci CaptureInstance
	// OBJECT_ID parses its argument as a multi-part name: quote the parts
	// so names holding dots or brackets resolve to the right table.
	err = pool.QueryRowContext(ctx, CaptureInstanceQuery, db.QuoteTable(table)).Scan(&ci.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return CaptureInstance{}, fmt.Errorf("database %s: table %s has no capture instance: %w (run sys.sp_cdc_enable_table)", db.cfg.Name, table, ErrCDCNotEnabled)
	}
	if err != nil {
		return CaptureInstance{}, db.queryError("finding the capture instance of "+table, err)
	}
	rows, err := pool.QueryContext(ctx, CaptureKeyQuery, ci.Name)
	if err != nil {
		return CaptureInstance{}, db.queryError("reading the key columns of capture instance "+ci.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return CaptureInstance{}, db.queryError("reading the key columns of capture instance "+ci.Name, err)
		}
		ci.Key = append(ci.Key, c)
	}
	if err := rows.Err(); err != nil {
		return CaptureInstance{}, db.queryError("reading the key columns of capture instance "+ci.Name, err)
	}
	return ci, nil
}

// pendingWindow bounds how many change rows one lag read looks at from
// each end of the part of the change table the target has not applied.
const pendingWindow = 1000

// PendingChangeQuery finds the oldest change of a capture instance that
// the target has not applied and can show, and returns its age on the
// source's clock in milliseconds (NULL when there is none) and the UTC
// offset, in minutes, @applied was read with.
//
// @applied is the source commit time (UTC) of the newest change applied
// at the target; made server-local (with the server's zone @tz where it
// can name it, else with @offset, or the offset now when @offset is
// NULL), fn_cdc_map_time_to_lsn turns it into the last LSN applied. The
// change table is clustered on __$start_lsn, so the rows after that LSN
// are an index range. A delete leaves no watermark at the target, and
// neither do the earlier changes of a row deleted later: a key whose
// last change is a delete is left out, or an idle table would show lag
// for ever after a delete. Of the keys left, the first change after the
// applied LSN is the oldest pending one. Two windows of pendingWindow
// rows are read, one from each end of the unapplied range, so neither a
// long run of deletes right after the applied LSN (a purge the sink has
// not reached) nor one at the end hides a pending insert or update: the
// oldest window's answer is taken when it has one, else the newest's (a
// lower bound of the age). Only deletes pending (or applied: the target
// cannot tell) give NULL, which lag reports as caught up.
func PendingChangeQuery(ci CaptureInstance, zone bool) string {
	q := sqldialect.SQLServer{}.QuoteIdent
	ct := "cdc." + q(ci.Name+"_CT")
	// ISNULL takes its first argument's type: @offset is typed int, or a
	// NULL sent without a type would make the offset text.
	offset := "ISNULL(CONVERT(int, @offset), DATEPART(TZOFFSET, SYSDATETIMEOFFSET()))"
	appliedLocal := "DATEADD(minute, " + offset + ", CONVERT(datetime2(3), @applied))"
	age := "DATEDIFF_BIG(millisecond, sys.fn_cdc_map_lsn_to_time(p.lsn), SYSDATETIME())"
	if zone {
		appliedLocal = "CONVERT(datetime2(3), CONVERT(datetime2(3), @applied) AT TIME ZONE 'UTC' AT TIME ZONE @tz)"
		age = "DATEDIFF_BIG(millisecond, sys.fn_cdc_map_lsn_to_time(p.lsn) AT TIME ZONE @tz, SYSDATETIMEOFFSET())"
	}
	keys := make([]string, len(ci.Key))
	tkeys := make([]string, len(ci.Key))
	for i, k := range ci.Key {
		keys[i] = ", " + q(k)
		tkeys[i] = "t." + q(k)
	}
	window := func(pass int, order string) string {
		rows := "(SELECT TOP (" + strconv.Itoa(pendingWindow) + ") __$start_lsn, __$seqval, __$operation" + strings.Join(keys, "") +
			" FROM " + ct + " WHERE __$start_lsn > (SELECT lsn FROM f) ORDER BY __$start_lsn" + order + ", __$seqval" + order + ") t"
		if len(ci.Key) == 0 {
			// Without key columns only deletes themselves can be left out.
			return "SELECT t.__$start_lsn AS lsn, " + strconv.Itoa(pass) + " AS cdc_pass FROM " + rows + " WHERE t.__$operation <> 1"
		}
		part := "PARTITION BY " + strings.Join(tkeys, ", ")
		return "SELECT w.cdc_first_lsn AS lsn, " + strconv.Itoa(pass) + " AS cdc_pass FROM (SELECT t.__$operation, MIN(t.__$start_lsn) OVER (" + part +
			") AS cdc_first_lsn, ROW_NUMBER() OVER (" + part + " ORDER BY t.__$start_lsn DESC, t.__$seqval DESC, t.__$operation DESC) AS cdc_rn FROM " + rows +
			") w WHERE w.cdc_rn = 1 AND w.__$operation <> 1"
	}
	return "WITH f AS (SELECT ISNULL(sys.fn_cdc_map_time_to_lsn('largest less than or equal', " + appliedLocal + "), 0x00000000000000000000) AS lsn)" +
		" SELECT (SELECT TOP 1 " + age + " FROM (" + window(0, "") + " UNION ALL " + window(1, " DESC") + ") p ORDER BY p.cdc_pass, p.lsn)," +
		" " + offset
}

// PendingChange returns the age, on the source's clock, of the oldest
// change of the capture instance committed after applied (the source
// commit time of the newest change applied at the target) that the
// target can show; pending is false when there is none (see
// PendingChangeQuery).
//
// Without the server's zone, applied is made server-local with the
// offset first used for this applied time: Debezium stamped the change
// with the offset in force when it read it, shortly after capture, so an
// idle table keeps its offset across a daylight saving switch and stays
// at 0 lag.
func (db *DB) PendingChange(ctx context.Context, ci CaptureInstance, applied time.Time) (age time.Duration, pending bool, err error) {
	pool, err := db.Pool()
	if err != nil {
		return 0, false, err
	}
	in, err := db.SQLServerInfo(ctx)
	if err != nil {
		in = ServerInfo{} // only the zone is lost: the offset stands in for it
	}
	ctx, cancel := db.QueryContext(ctx)
	defer cancel()
	key := "\x00applied\x00" + ci.Name
	var offset any // NULL: the offset now
	db.memoMu.Lock()
	if m, ok := db.memo[key]; ok && m.local.Equal(applied) {
		offset = m.offset
	}
	db.memoMu.Unlock()
	args := []any{sql.Named("applied", applied.UTC()), sql.Named("offset", offset)}
	args = append(args, zoneArgs(in)...)
	var ms, used sql.NullInt64
	if err := pool.QueryRowContext(ctx, PendingChangeQuery(ci, in.TimeZone != ""), args...).Scan(&ms, &used); err != nil {
		return 0, false, db.queryError("reading the oldest pending change of capture instance "+ci.Name, err)
	}
	if offset == nil && used.Valid {
		db.memoMu.Lock()
		if db.memo == nil {
			db.memo = map[string]lsnMemo{}
		}
		db.memo[key] = lsnMemo{local: applied, offset: used.Int64}
		db.memoMu.Unlock()
	}
	if !ms.Valid {
		return 0, false, nil
	}
	return time.Duration(ms.Int64) * time.Millisecond, true, nil
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
	CDCEnabled *bool
	// LogWaitsForCapture: the log cannot be truncated until change data
	// capture (or replication) has scanned it, i.e. captured changes are
	// pending (sys.databases.log_reuse_wait_desc = REPLICATION).
	LogWaitsForCapture *bool
	// Latency is the newest finished scan session's (seconds); nil before
	// the first session since a restart or failover.
	Latency *float64
	// LastScan is when the last scan session ended (session 0's end_time).
	LastScan     *time.Time
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
	// LogReuseWaitQuery: REPLICATION means the log holds changes change
	// data capture (or replication) has not scanned yet.
	LogReuseWaitQuery = `SELECT log_reuse_wait_desc FROM sys.databases WHERE database_id = DB_ID()`
	// CaptureScanQuery reads the latency of the newest finished scan
	// session and the end of the last one. The session_id = 0 row
	// aggregates all sessions since the instance started and keeps the
	// last non-zero latency for ever, so it would go on reporting a past
	// backlog; its end_time is the end of the last session. Needs VIEW
	// DATABASE STATE.
	CaptureScanQuery = `SELECT (SELECT TOP 1 latency FROM sys.dm_cdc_log_scan_sessions WHERE session_id > 0 AND end_time IS NOT NULL ORDER BY session_id DESC), (SELECT end_time FROM sys.dm_cdc_log_scan_sessions WHERE session_id = 0), DATEPART(TZOFFSET, SYSDATETIMEOFFSET())`
	CDCJobsQuery     = `SELECT job_type, pollinginterval, retention FROM msdb.dbo.cdc_jobs WHERE database_id = DB_ID()`
	CDCErrorsQuery   = `SELECT COUNT(*) FROM sys.dm_cdc_errors`
)

// MaxLSNTimeQuery maps the newest LSN captured to its commit time (see
// lsnTimeColumns for zone).
func MaxLSNTimeQuery(zone bool) string {
	return "SELECT " + lsnTimeColumns("sys.fn_cdc_get_max_lsn()", zone)
}

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

	var wait sql.NullString
	if err := pool.QueryRowContext(ctx, LogReuseWaitQuery).Scan(&wait); err != nil {
		fail("reading sys.databases.log_reuse_wait_desc", err)
	} else {
		waits := wait.String == "REPLICATION"
		h.LogWaitsForCapture = &waits
	}
	var lat sql.NullFloat64
	var end sql.NullTime
	var now sql.NullInt64
	if err := pool.QueryRowContext(ctx, CaptureScanQuery).Scan(&lat, &end, &now); err != nil {
		fail("reading sys.dm_cdc_log_scan_sessions", err)
	} else {
		if lat.Valid {
			h.Latency = &lat.Float64
		}
		if end.Valid {
			// A recent time: the offset now is the one in force then.
			t := serverLocalToUTC(end.Time, now.Int64)
			h.LastScan = &t
		}
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

	in, err := db.SQLServerInfo(ctx)
	if err != nil {
		in = ServerInfo{} // only the zone is lost
	}
	var local sql.NullTime
	var offset sql.NullInt64
	if err := pool.QueryRowContext(ctx, MaxLSNTimeQuery(in.TimeZone != ""), zoneArgs(in)...).Scan(&local, &offset); err != nil {
		fail("mapping sys.fn_cdc_get_max_lsn() to time", err)
	} else if local.Valid {
		t := db.lsnToUTC("\x00max", local.Time, offset.Int64, in.TimeZone != "")
		h.MaxLSNTime = &t
	}
	h.Err = errors.Join(errs...)
	return h
}

// CDCJobs reads the database's CDC jobs (msdb.dbo.cdc_jobs) by type,
// "capture" and "cleanup".
func (db *DB) CDCJobs(ctx context.Context) (map[string]CDCJob, error) {
	pool, err := db.Pool()
	if err != nil {
		return nil, err
	}
	ctx, cancel := db.QueryContext(ctx)
	defer cancel()
	jobs, err := db.cdcJobs(ctx, pool)
	if err != nil {
		return nil, db.queryError("reading msdb.dbo.cdc_jobs", err)
	}
	return jobs, nil
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

// LSNTimes maps lsn (a source connector's committed LSN) and the newest
// LSN to their commit times, on the server's clock; ok is false when
// either maps to no time. What their difference means is internal/lag's
// (OffsetLag).
func (db *DB) LSNTimes(ctx context.Context, lsn retention.LSN) (committed, newest time.Time, ok bool, err error) {
	pool, err := db.Pool()
	if err != nil {
		return time.Time{}, time.Time{}, false, err
	}
	ctx, cancel := db.QueryContext(ctx)
	defer cancel()
	var c, n sql.NullTime
	if err := pool.QueryRowContext(ctx, LSNTimesQuery, lsn.Hex()).Scan(&c, &n); err != nil {
		return time.Time{}, time.Time{}, false, db.queryError("mapping LSN "+lsn.String()+" to time", err)
	}
	if !c.Valid || !n.Valid {
		return time.Time{}, time.Time{}, false, nil
	}
	return c.Time, n.Time, true, nil
}

// CaptureLatencyQuery reads the latency of the newest finished log scan
// session (as CaptureScanQuery does): how long the capture job took to
// copy a committed change into its change table. A change is invisible
// to the change table, and so to lag, for that long. Needs VIEW DATABASE
// STATE.
const CaptureLatencyQuery = `SELECT TOP 1 latency FROM sys.dm_cdc_log_scan_sessions WHERE session_id > 0 AND end_time IS NOT NULL ORDER BY session_id DESC`

// CaptureLatency returns the capture job's newest finished scan
// session's latency; 0 with no finished session since the instance
// started (the view is reset by a restart or failover).
func (db *DB) CaptureLatency(ctx context.Context) (time.Duration, error) {
	pool, err := db.Pool()
	if err != nil {
		return 0, err
	}
	ctx, cancel := db.QueryContext(ctx)
	defer cancel()
	var lat sql.NullFloat64
	err = pool.QueryRowContext(ctx, CaptureLatencyQuery).Scan(&lat)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, db.queryError("reading sys.dm_cdc_log_scan_sessions", err)
	}
	if !lat.Valid || lat.Float64 < 0 {
		return 0, nil
	}
	return time.Duration(lat.Float64 * float64(time.Second)), nil
}
