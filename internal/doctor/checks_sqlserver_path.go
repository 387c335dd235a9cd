package doctor

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

// checkTimeSettings: settings of the table's connectors that move every
// temporal value or stamp, which no comparison can undo.
//
// A JDBC sink writing in a zone other than UTC (db.timezone on the
// Confluent and Aiven sinks, database.time_zone on Debezium's) stores
// each timestamp as that zone's wall clock. Drift and reconcile compare
// a PostgreSQL source's timestamp columns converted into the zone, and
// leave out what cannot be converted exactly (times of day, timestamptz
// into a column without a zone; every timestamp of a SQL Server source):
// a warning for the one, an error for the other. A source with
// source.timestamp.mode=processing stamps events with the time it read
// them, not their commit time, so the target's __source_ts_ms (and the
// lag read from it) leave out the capture latency.
func (r *run) checkTimeSettings(t *config.Table) {
	for _, c := range r.sinking(t) {
		if !c.Kind().IsJDBCSink() {
			continue
		}
		if zone := c.SinkTimeZone(); !connectorkind.IsUTC(zone) {
			setting := c.TimeZoneSetting()
			sev, what := Error, "drift and reconcile cannot convert a SQL Server source's timestamps into a Java zone, so they leave its timestamp and time columns out of the comparison"
			if src := r.d.Databases[t.Source.Database]; src != nil && src.Driver() == config.DriverPostgres {
				sev, what = Warning, "drift and reconcile compare the source's timestamp columns converted into that zone, but leave its timestamptz columns written into columns without a zone out (stored in the sink connection's session zone) and its time-of-day columns (the offset the sink applied to them is not in the data)"
			}
			r.add(Finding{Check: CheckSinkConfig, Severity: sev, Target: tableTarget(t.Name),
				Message: fmt.Sprintf("sink %s writes temporal values in time zone %s (%s=%s): every timestamp in %s without a zone holds that zone's wall clock; %s", c.Name, zone, setting, zone, t.Target.Table, what),
				Fix:     fmt.Sprintf("set %s=UTC on sink %s (the default) and re-snapshot the table, or list the temporal columns of %s in ignore_columns", setting, c.Name, t.Name)})
		}
	}
	for _, c := range r.capturing(t) {
		if c.Kind() == connectorkind.DebeziumSQLServer && c.SourceTimestampMode() == connectorkind.SourceTimestampProcessing {
			r.add(Finding{Check: CheckSinkConfig, Severity: Warning, Target: tableTarget(t.Name),
				Message: fmt.Sprintf("source %s has %s=processing: source.ts_ms (the target's __source_ts_ms) is when Debezium read each change, not when it was committed, so lag leaves out the capture latency and reads low while the capture job is behind", c.Name, connectorkind.KeySourceTimestampMode),
				Fix:     fmt.Sprintf("remove %s from %s (Debezium's default, commit)", connectorkind.KeySourceTimestampMode, c.Name)})
		}
	}
}

// checkSharedFilter: one filter text for both sides of a SQL Server to
// PostgreSQL table compares text differently on each: SQL Server by the
// column's collation (case-insensitive by default, trailing spaces
// ignored by =), PostgreSQL byte for byte. The two sides then select
// different rows, reported as missing or extra. A filter with no string
// literal (numbers, dates, booleans) means the same on both.
func (r *run) checkSharedFilter(t *config.Table) {
	src, tgt := r.d.Databases[t.Source.Database], r.d.Databases[t.Target.Database]
	if src == nil || tgt == nil || src.Driver() == tgt.Driver() {
		return
	}
	f := t.FilterOf(t.Source)
	if f == "" || f != t.FilterOf(t.Target) || !strings.Contains(f, "'") {
		return
	}
	r.add(Finding{Check: CheckSinkConfig, Severity: Warning, Target: tableTarget(t.Name),
		Message: fmt.Sprintf("filter %q is applied to both sides, but it compares text: %s compares by the column's collation (case-insensitive by default, so 'EU' = 'eu', and = ignores trailing spaces) while %s compares exactly, so the two sides select different rows and reconcile reports them as missing or extra", f, src.Driver(), tgt.Driver()),
		Fix:     "write source.filter and target.filter separately so they select the same rows (see docs/sqlserver.md, \"Filters\"), or filter on non-text columns"})
}

// checkPeriodEnd: a system-versioned (temporal) table's period end is
// 9999-12-31 23:59:59.9999999 on every current row. A datetime2(7)
// travels as io.debezium.time.NanoTimestamp under time.precision.mode
// adaptive (the default) and adaptive_time_microseconds, whose 64-bit
// nanoseconds since 1970 end in 2262: older Debezium wraps the value,
// newer fails the connector. cdc-sentinel leaves such a column out of
// its comparisons by itself; the pipeline needs one of the fixes.
func (r *run) checkPeriodEnd(ctx context.Context, db *database.DB, t *config.Table, qualifiedName, object string) {
	type column struct {
		name  string
		scale int
	}
	var cols []column
	err := query(ctx, db, "reading the period columns of "+qualifiedName, func(pool *sql.DB, ctx context.Context) error {
		rows, err := pool.QueryContext(ctx, SQLServerPeriodEndQuery, object)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c column
			if err := rows.Scan(&c.name, &c.scale); err != nil {
				return err
			}
			cols = append(cols, c)
		}
		return rows.Err()
	})
	if err != nil {
		// Before SQL Server 2016 there are no temporal tables.
		return
	}
	for _, c := range r.capturing(t) {
		mode := c.TimePrecisionMode()
		if mode == sqldialect.ModeConnect {
			continue
		}
		for _, col := range cols {
			if col.scale <= 6 {
				continue
			}
			r.add(Finding{Check: CheckTableNotCaptured, Severity: Error, Target: tableTarget(t.Name),
				Message: fmt.Sprintf("%s is system-versioned: its period end column %s (datetime2(%d)) holds 9999-12-31 23:59:59.9999999 on every current row, which source %s (time.precision.mode=%s) sends as io.debezium.time.NanoTimestamp, whose 64-bit nanoseconds end in 2262: older Debezium writes a wrapped date, newer fails the connector; drift and reconcile leave the column out", qualifiedName, col.name, col.scale, c.Name, mode),
				Fix: fmt.Sprintf("add %s.%s.%s to column.exclude.list of %s; or declare the period columns datetime2(6) (MicroTimestamp reaches year 9999); or set time.precision.mode=connect on %s (milliseconds for every column)",
					c.DatabaseNameFor(db), qualifiedName, col.name, c.Name, c.Name)})
		}
	}
}
