package database

import (
	"context"
	"database/sql"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

// ServerInfo is what cdc-sentinel needs to know about a SQL Server: its
// version (what the generated T-SQL may use) and, where the server can
// name it, its time zone.
type ServerInfo struct {
	Version sqldialect.SQLServerVersion
	// TimeZone is CURRENT_TIMEZONE_ID() (SQL Server 2022 and later, Azure
	// SQL): with it, LSN times are made absolute with the offset in force
	// when the change was captured. Empty on older versions.
	TimeZone string
}

// TimeZoneQuery names the server's time zone (2022+, Azure SQL only).
const TimeZoneQuery = `SELECT CURRENT_TIMEZONE_ID()`

// SQLServerInfo reads the server's version and time zone once; later
// calls return the first successful answer.
func (db *DB) SQLServerInfo(ctx context.Context) (ServerInfo, error) {
	if in := db.info.Load(); in != nil {
		return *in, nil
	}
	pool, err := db.Pool()
	if err != nil {
		return ServerInfo{}, err
	}
	ctx, cancel := db.QueryContext(ctx)
	defer cancel()
	var in ServerInfo
	var level sql.NullString
	var major, edition, compat sql.NullInt64
	if err := pool.QueryRowContext(ctx, sqldialect.SQLServerVersionQuery).Scan(&major, &level, &edition, &compat); err != nil {
		return ServerInfo{}, db.queryError("reading the server version", err)
	}
	in.Version = sqldialect.SQLServerVersion{Major: int(major.Int64), Level: level.String, Edition: int(edition.Int64), Compat: int(compat.Int64)}
	if in.Version.HasCurrentTimeZoneID() {
		var tz sql.NullString
		if err := pool.QueryRowContext(ctx, TimeZoneQuery).Scan(&tz); err != nil {
			return ServerInfo{}, db.queryError("reading CURRENT_TIMEZONE_ID()", err)
		}
		in.TimeZone = tz.String
	}
	db.info.Store(&in)
	return in, nil
}

// lsnTimeColumns selects an LSN's commit time (fn_cdc_map_lsn_to_time
// gives the server's local wall clock, a datetime without zone) and the
// UTC offset, in minutes, to make it absolute. With the server's zone
// (@tz) the offset is the one in force at that time, daylight saving
// included; without it, the offset now.
func lsnTimeColumns(lsn string, zone bool) string {
	t := "sys.fn_cdc_map_lsn_to_time(" + lsn + ")"
	if zone {
		return t + ", DATEPART(TZOFFSET, " + t + " AT TIME ZONE @tz)"
	}
	return t + ", DATEPART(TZOFFSET, SYSDATETIMEOFFSET())"
}

// zoneArgs are the arguments of a query built with lsnTimeColumns.
func zoneArgs(in ServerInfo) []any {
	if in.TimeZone == "" {
		return nil
	}
	return []any{sql.Named("tz", in.TimeZone)}
}

// lsnMemo is an LSN time as first seen and the offset it was seen with.
type lsnMemo struct {
	local  time.Time
	offset int64
}

// lsnToUTC makes a server-local LSN time absolute. Without the server's
// zone (exact false) the offset of the first time this local time was
// seen under key is kept: Debezium stamps a change with the offset in
// force when it reads it, shortly after capture, so a change seen before
// a daylight saving switch keeps its offset after it, and an idle table
// stays at 0 lag across the switch.
func (db *DB) lsnToUTC(key string, local time.Time, offset int64, exact bool) time.Time {
	if !exact {
		db.memoMu.Lock()
		if m, ok := db.memo[key]; ok && m.local.Equal(local) {
			offset = m.offset
		} else {
			if db.memo == nil {
				db.memo = map[string]lsnMemo{}
			}
			db.memo[key] = lsnMemo{local: local, offset: offset}
		}
		db.memoMu.Unlock()
	}
	return serverLocalToUTC(local, offset)
}
