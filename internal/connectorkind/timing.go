package connectorkind

import (
	"regexp"
	"strings"

	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

// Settings that change what the target holds or when a change counts as
// made.
const (
	// KeyConfluentTimeZone is the Confluent JDBC sink's (and the Aiven
	// fork's) db.timezone: the zone it writes temporal values in
	// (default UTC).
	KeyConfluentTimeZone = "db.timezone"
	// KeyDebeziumTimeZone is Debezium's JDBC sink's database.time_zone:
	// the zone it binds temporal values in (default UTC).
	KeyDebeziumTimeZone = "database.time_zone"
	// KeySourceTimestampMode is the Debezium SQL Server source's
	// source.timestamp.mode: commit (source.ts_ms is the change's commit
	// time, the default) or processing (the time Debezium read it).
	KeySourceTimestampMode = "source.timestamp.mode"
	// KeyMessageKeyColumns is a Debezium source's message.key.columns:
	// the columns that key a table's events, for tables without a
	// primary key or to override it.
	KeyMessageKeyColumns = "message.key.columns"
	// KeyTimePrecisionMode is a Debezium relational source's
	// time.precision.mode: which Kafka Connect types, and so which
	// precision, its temporal columns travel as.
	KeyTimePrecisionMode = "time.precision.mode"
)

// TimePrecisionMode is the source's time.precision.mode, Debezium's
// default (adaptive) when unset.
func (c *Connector) TimePrecisionMode() string {
	return c.Get(KeyTimePrecisionMode, sqldialect.ModeAdaptive)
}

// SourceTimestampProcessing is the source.timestamp.mode that stamps
// events with the time Debezium processed them, not their commit time.
const SourceTimestampProcessing = "processing"

// TimeZoneSetting is the name of a JDBC sink's time-zone setting:
// db.timezone on the Confluent and Aiven sinks, database.time_zone on
// Debezium's.
func (c *Connector) TimeZoneSetting() string {
	if c.Kind().FlatRecords() {
		return KeyConfluentTimeZone
	}
	return KeyDebeziumTimeZone
}

// SinkTimeZone is the zone a JDBC sink writes temporal values in (both
// sinks default to UTC).
func (c *Connector) SinkTimeZone() string { return c.Get(c.TimeZoneSetting(), "UTC") }

// IsUTC reports whether a Java zone id names UTC itself (not merely a
// zone that is at offset zero today, such as Europe/London).
func IsUTC(zone string) bool {
	switch strings.ToUpper(strings.TrimSpace(zone)) {
	case "UTC", "Z", "GMT", "UT", "UCT", "ETC/UTC", "ETC/GMT", "ETC/UCT", "ETC/UNIVERSAL", "ETC/ZULU", "UNIVERSAL", "ZULU",
		"UTC+0", "UTC-0", "GMT+0", "GMT-0", "UTC+00:00", "GMT+00:00", "+00:00", "-00:00", "ETC/GMT+0", "ETC/GMT-0", "ETC/GMT0", "GMT0":
		return true
	}
	return false
}

// SourceTimestampMode is source.timestamp.mode in lower case (Debezium's
// default commit).
func (c *Connector) SourceTimestampMode() string {
	return strings.ToLower(c.Get(KeySourceTimestampMode, "commit"))
}

// MessageKeyColumns are the columns message.key.columns keys table
// schema.table of database db with (nil when no entry names it). The
// setting is a semicolon-separated list of <table>:<column>,<column>,
// each table a regular expression matched against the whole name
// (schema.table, or database.schema.table on SQL Server),
// case-insensitively as Debezium's table filters are.
func (c *Connector) MessageKeyColumns(db, schema, table string) []string {
	ids := []string{schema + "." + table}
	if db != "" {
		ids = append(ids, db+"."+schema+"."+table)
	}
	for _, entry := range strings.Split(c.Config[KeyMessageKeyColumns], ";") {
		expr, cols, ok := strings.Cut(strings.TrimSpace(entry), ":")
		if !ok {
			continue
		}
		rx, err := regexp.Compile(`(?i)^(?:` + strings.TrimSpace(expr) + `)$`)
		if err != nil {
			continue
		}
		for _, id := range ids {
			if rx.MatchString(id) {
				return SplitList(cols)
			}
		}
	}
	return nil
}

// MessageKeyFor is MessageKeyColumns for a configured table name
// ([database.]schema.table, or a bare name in the connector's default
// schema): tried in the table's own database, else in each database the
// connector reads.
func (c *Connector) MessageKeyFor(table string) []string {
	schema, name := SplitTable(c.Kind().Driver(), table)
	dbs := []string{TableDatabase(table)}
	if dbs[0] == "" {
		dbs = append(dbs, c.DatabaseNames()...)
	}
	for _, db := range dbs {
		if cols := c.MessageKeyColumns(db, schema, name); cols != nil {
			return cols
		}
	}
	return nil
}
