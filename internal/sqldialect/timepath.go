package sqldialect

import (
	"fmt"
	"strconv"

	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
)

// A temporal value reaches the target at the precision and in the form
// its path lets through: the source connector's time.precision.mode
// picks the Kafka Connect type (Debezium's io.debezium.time.* in epoch
// ms/µs/ns, or Kafka Connect's own millisecond Timestamp/Time), and the
// sink either knows those types (Debezium's JDBC sink writes timestamps)
// or does not (the Confluent JDBC sink and its Aiven fork write the bare
// integers, and a ZonedTimestamp as its ISO-8601 string). Both sides of a
// temporal column are compared at what survives, as the same instant.

// Storage is how a column holds a temporal value.
type Storage int

const (
	StoredNative      Storage = iota // the engine's own temporal type
	StoredEpochMillis                // integer: ms since the epoch (or of the day, for time)
	StoredEpochMicros                // integer: µs
	StoredEpochNanos                 // integer: ns
	StoredEpochDays                  // integer: days since 1970-01-01
	StoredISOText                    // text: ISO-8601 with an offset (ZonedTimestamp)
)

var storageNames = [...]string{"native", "epoch ms", "epoch µs", "epoch ns", "epoch days", "ISO-8601 text"}

func (s Storage) String() string { return storageNames[s] }

// TimeRule is how one side of a temporal column is compared.
type TimeRule struct {
	Stored Storage
	// Millis compares whole milliseconds instead of microseconds.
	Millis bool
	// Floor truncates to the unit (milliseconds with Millis, else
	// microseconds), as Kafka Connect's Timestamp and Time do
	// (java.util.Date keeps whole milliseconds) and as Debezium's
	// MicroTime does (nanoseconds / 1000); otherwise values are rounded
	// half up, as pgjdbc rounds nanoseconds into timestamp(6).
	Floor bool
	// ViaMicros says the value reaches the target rounded half up to
	// whole microseconds first (pgjdbc writing a NanoTimestamp or
	// NanoTime into a PostgreSQL column), so the milliseconds compared
	// are taken from those microseconds: .0004995 s is 500 µs at the
	// target, 1 ms rounded, and so must it be at the source. Only a
	// source side with Millis and more than six fractional digits has it.
	ViaMicros bool
	// HalfFrom2000 says a half millisecond rounds away from 2000-01-01,
	// as PostgreSQL rounds a value into timestamp(0-5) and timestamptz(0-5)
	// (AdjustTimestampForTypmod works on microseconds since 2000-01-01
	// and rounds their magnitude half up): towards the past before 2000,
	// towards the future after. Only a source side rounding to a
	// PostgreSQL timestamp(3) has it.
	HalfFrom2000 bool
	// Zone is, on a source side, the Java zone id of a sink that writes
	// timestamps as that zone's wall clock into a column without a zone:
	// the source's value is compared converted into it (sinkZone).
	Zone string
}

// Time precision modes of Debezium's relational source connectors.
const (
	ModeAdaptive       = "adaptive"
	ModeAdaptiveMicros = "adaptive_time_microseconds"
	ModeConnect        = "connect"
)

// Values of tables[].compare.time_precision.
const (
	PrecisionAuto   = "auto"
	PrecisionMillis = "ms"
	PrecisionMicros = "us"
)

// Path is what decides how temporal values travel from source to target,
// besides the target column types. The sink is not part of it: a sink
// that knows io.debezium.time.* writes temporal columns, one that does not
// (the Confluent JDBC sink, its Aiven fork) writes integers and text, and
// the target column's type says which happened.
type Path struct {
	// Mode is the source connector's time.precision.mode; empty when
	// unknown, and then Debezium's default (adaptive) is assumed.
	Mode string
	// Precision overrides what the path implies: "ms" compares whole
	// milliseconds, truncated (as the connect mode delivers them), "us"
	// microseconds; empty or "auto" derives it.
	Precision string
	// MessageKey are the columns the source connector keys the table's
	// events with (message.key.columns), which the sink keys the target
	// by: the key of a table that has no primary key.
	MessageKey []string
	// SinkTimeZone is the zone (a Java zone id) the sink writes temporal
	// values in when it is not UTC (db.timezone, database.time_zone);
	// empty for UTC or unknown. Such a sink stores every timestamp as
	// that zone's wall clock in a column without a zone, so the source's
	// timestamps are compared converted into it (see sinkZoneRule).
	SinkTimeZone string
	// SinkZoneFrom names, in reasons, the sink and setting that say so
	// ("orders-sink, db.timezone").
	SinkZoneFrom string
}

// Excluded is a column left out of the comparison, and why.
type Excluded struct {
	Column string `json:"column"`
	Reason string `json:"reason"`
}

func isTemporal(k rowhash.Kind) bool {
	return k == rowhash.KindTimestamp || k == rowhash.KindTimestampTZ || k == rowhash.KindDate || k == rowhash.KindTime
}

// sourceDigits is the fractional-second digits a source column holds.
func sourceDigits(c Column) int {
	switch c.Type {
	case "datetime":
		return 3
	case "smalldatetime", "date":
		return 0
	}
	if c.Scale >= 0 {
		return c.Scale
	}
	if c.Kind == rowhash.KindDate {
		return 0
	}
	return 7
}

// semantic is the unit Debezium encodes a source column in under mode:
// StoredEpochMillis/Micros/Nanos/Days, or StoredISOText for a zoned
// timestamp; connect is true for Kafka Connect's own (millisecond) types.
func semantic(c Column, mode string) (unit Storage, connect bool) {
	switch c.Kind {
	case rowhash.KindDate:
		return StoredEpochDays, mode == ModeConnect
	case rowhash.KindTimestampTZ:
		return StoredISOText, false
	}
	if mode == ModeConnect {
		return StoredEpochMillis, true
	}
	if c.Kind == rowhash.KindTime && mode == ModeAdaptiveMicros {
		return StoredEpochMicros, false
	}
	switch d := sourceDigits(c); {
	case d <= 3:
		return StoredEpochMillis, false
	case d <= 6:
		return StoredEpochMicros, false
	}
	return StoredEpochNanos, false
}

// decideTime pairs a temporal source column with its target column. It
// returns the compared kind and each side's rule, or a reason the pair
// cannot be compared exactly.
func decideTime(sc, tc Column, p Path) (k rowhash.Kind, src, tgt TimeRule, reason string) {
	mode := p.Mode
	if mode == "" {
		mode = ModeAdaptive
	}
	unit, connectType := semantic(sc, mode)
	if k, tgt.Stored, reason = targetStorage(sc, tc, mode, unit, connectType); reason != "" {
		return 0, src, tgt, reason
	}
	if p.SinkTimeZone != "" && tgt.Stored == StoredNative {
		zone, reason := sinkZoneRule(sc, tc, k, connectType, p)
		if reason != "" {
			return 0, src, tgt, reason
		}
		src.Zone = zone
	}
	if k == rowhash.KindDate {
		return k, src, tgt, ""
	}
	sd := sourceDigits(sc)
	if reason := src.precision(p.Precision, tc, tgt.Stored, unit, connectType, sd); reason != "" {
		return 0, src, tgt, reason
	}
	tgt.Millis, tgt.Floor = src.Millis, src.Floor
	// Milliseconds of a nanosecond value that the sink's driver has
	// already rounded to microseconds: round once, from those (Kafka
	// Connect's own types carry whole milliseconds, truncated from the
	// nanoseconds, and integer or text targets the exact nanoseconds).
	if src.Millis && sd > 6 && !connectType && tgt.Stored == StoredNative && isPostgresTemporal(tc.Type) {
		src.ViaMicros = true
	}
	if src.Millis && !src.Floor && k != rowhash.KindTime && tgt.Stored == StoredNative && isPostgresTemporal(tc.Type) {
		src.HalfFrom2000 = true
	}
	return k, src, tgt, ""
}

// targetStorage is how the target column holds what arrives for the
// source column (Debezium's unit in an integer, ISO-8601 text, or the
// engine's own type) and the kind the pair is compared as, or why the
// target cannot hold it.
func targetStorage(sc, tc Column, mode string, unit Storage, connectType bool) (rowhash.Kind, Storage, string) {
	switch {
	case tc.Kind == rowhash.KindInt:
		if connectType {
			return 0, 0, fmt.Sprintf("time.precision.mode=%s sends Kafka Connect's %s type, which a JDBC sink writes as a temporal column, yet the target column is %s", mode, sc.Kind, tc.Type)
		}
		if unit == StoredISOText {
			return 0, 0, fmt.Sprintf("a %s arrives as an ISO-8601 string (io.debezium.time.ZonedTimestamp), yet the target column is %s", sc.Type, tc.Type)
		}
		return sc.Kind, unit, ""
	case tc.Kind == rowhash.KindText || tc.Kind == rowhash.KindChar:
		if unit != StoredISOText {
			return 0, 0, fmt.Sprintf("a %s does not arrive as text, yet the target column is %s", sc.Type, tc.Type)
		}
		return sc.Kind, StoredISOText, ""
	}
	k, err := Pair(sc.Kind, tc.Kind)
	if err != nil {
		return 0, 0, err.Error()
	}
	return k, StoredNative, ""
}

// precision sets the source side's rounding for compare.time_precision:
// whole milliseconds (Millis), truncated (Floor), as the value's trip
// through the connector and the target column leaves it; or says why
// the pair cannot be compared at that precision. sd is the source's
// fractional digits, stored the target's storage.
func (r *TimeRule) precision(precision string, tc Column, stored, unit Storage, connectType bool, sd int) string {
	switch precision {
	case PrecisionMillis:
		r.Millis, r.Floor = true, true
	case PrecisionMicros:
	case "", PrecisionAuto:
		if connectType && sd > 3 {
			// java.util.Date keeps whole milliseconds, truncated.
			r.Millis, r.Floor = true, true
			break
		}
		if unit == StoredEpochMicros && sd > 6 {
			// adaptive_time_microseconds sends a time(7) as MicroTime:
			// its nanoseconds divided by 1,000, truncated.
			r.Floor = true
		}
		if stored == StoredNative && tc.Scale >= 0 && tc.Scale < 6 && tc.Scale < sd {
			if tc.Scale != 3 {
				return fmt.Sprintf("the target column keeps %d fractional digits of the source's %d; set compare.time_precision to compare at ms or us", tc.Scale, sd)
			}
			// The target rounds what it is given to milliseconds.
			r.Millis = true
		}
	default:
		return fmt.Sprintf("unknown time precision %q", precision)
	}
	return ""
}

// isPostgresTemporal tells PostgreSQL's time and timestamp types, which
// keep microseconds.
func isPostgresTemporal(typ string) bool {
	switch typ {
	case "timestamp without time zone", "timestamp", "timestamp with time zone", "timestamptz", "time without time zone", "time":
		return true
	}
	return false
}

// pgDiv is a / b for an int8 expression a and a positive b, rounded
// half up or (floor) down; PostgreSQL's / truncates towards zero, and
// adding half first could overflow at the ends of the int8 range (a
// NanoTimestamp of 2262).
func pgDiv(a string, b int64, floor bool) string {
	bs := strconv.FormatInt(b, 10)
	q := "(" + a + ") / " + bs + " - CASE WHEN (" + a + ") % " + bs + " < 0 THEN 1 ELSE 0 END"
	if floor {
		return "(" + q + ")"
	}
	return "(" + q + " + CASE WHEN ((" + a + ") % " + bs + " + " + bs + ") % " + bs + " >= " + strconv.FormatInt(b/2, 10) + " THEN 1 ELSE 0 END)"
}

// pgMicros is the int8 microseconds of a PostgreSQL temporal column held
// as r.Stored, rounded half up from nanoseconds (truncated for r.Floor);
// for r.Millis, whole milliseconds (as microseconds) by r.Floor.
func (p Postgres) pgMicros(c Column, q string) string {
	r := c.Time
	var us string
	switch r.Stored {
	case StoredEpochMillis:
		us = "(" + q + "::int8 * 1000)"
	case StoredEpochMicros:
		us = q + "::int8"
	case StoredEpochNanos:
		if r.Millis {
			return pgMillis(q+"::int8", 1_000_000, r)
		}
		us = pgDiv(q+"::int8", 1000, r.Floor)
	case StoredISOText:
		return pgISOMicros(q, r)
	default:
		switch c.Kind {
		case rowhash.KindTime:
			us = "(date_part('epoch', " + q + ") * 1000000)::int8"
		default:
			// See Field: whole days in integers plus the time of day.
			if z, err := parseSinkZone(c.Time.Zone); c.Time.Zone != "" && err == nil {
				// decideTime gives a zone it could parse only.
				q = z.pgWall(q)
			} else if c.Kind == rowhash.KindTimestampTZ {
				q = "(" + q + " AT TIME ZONE 'UTC')"
			}
			us = "((" + q + "::date - date '1970-01-01')::int8 * 86400000000 + (date_part('epoch', " + q + "::time) * 1000000)::int8)"
		}
	}
	if r.Millis {
		return pgMillis(us, 1000, r)
	}
	return us
}

// pgMillis is whole milliseconds (as microseconds) of the int8 expression
// v, counted in units of 1/perMilli ms (1000 for microseconds, 1e6 for
// nanoseconds): the floor plus one where v's remainder reaches msCarry,
// the same threshold the Go reference and the SQL Server side use, so a
// half millisecond before 2000 rounds towards the past on this side too,
// as the timestamp(3) target rounded it.
func pgMillis(v string, perMilli int64, r TimeRule) string {
	carry := func(before2000 bool) int64 { // msCarry's nanoseconds in v's units, rounded up
		return (msCarry(r, before2000)*perMilli + 999_999) / 1_000_000
	}
	after, before := carry(false), carry(true)
	floor := pgDiv(v, perMilli, true)
	if after >= perMilli {
		return "(" + floor + " * 1000)"
	}
	threshold := strconv.FormatInt(after, 10)
	if before != after {
		threshold = "CASE WHEN (" + v + ") < " + strconv.FormatInt(pgEpoch*1000*perMilli, 10) + " THEN " + strconv.FormatInt(before, 10) + " ELSE " + threshold + " END"
	}
	per := strconv.FormatInt(perMilli, 10)
	return "((" + floor + " + CASE WHEN ((" + v + ") % " + per + " + " + per + ") % " + per + " >= " + threshold + " THEN 1 ELSE 0 END) * 1000)"
}

// msCarry is the nanoseconds past a whole millisecond from which r
// counts the next millisecond: half of one rounded, none truncated, and
// through microseconds (ViaMicros) 500 ns earlier, where rounding to
// microseconds first reaches the half or the whole. One threshold on the
// source's own nanoseconds is a single rounding, the same in Go and SQL.
// before2000 is a value before 2000-01-01 (HalfFrom2000): its exact half
// rounds towards the past.
func msCarry(r TimeRule, before2000 bool) int64 {
	carry := int64(500_000)
	if r.Floor {
		carry = 1_000_000
	}
	if r.HalfFrom2000 && before2000 {
		// Half is not enough: it must pass it.
		carry += 1000
	}
	if r.ViaMicros {
		carry -= 500
	}
	return carry
}

// pgISOMicros is the microseconds of an ISO-8601 text (Debezium's
// ZonedTimestamp, as the Confluent sink writes it), rounded from its own
// digits. PostgreSQL's ::timestamptz reads more than six fractional
// digits as a float rounded with rint (half to even, give or take the
// float's error: .0000005 becomes 0 and .0000015 becomes 2 µs), while
// SQL Server's side rounds half up from its 100 ns ticks, so about one
// datetimeoffset(7) value in twenty would differ. Only the whole seconds
// are parsed as a timestamp here; the fraction is read as an integer of
// nanoseconds and rounded half up (or truncated, or to milliseconds, per
// r), exactly as the source side and EpochMicros round.
func pgISOMicros(q string, r TimeRule) string {
	whole := "(regexp_replace(" + q + ", '\\.[0-9]+', '')::timestamptz AT TIME ZONE 'UTC')"
	wholeUS := "((" + whole + "::date - date '1970-01-01')::int8 * 86400000000 + (date_part('epoch', " + whole + "::time) * 1000000)::int8)"
	ns := "coalesce(rpad(substring(" + q + " from '\\.([0-9]+)'), 9, '0'), '0')::int8"
	if r.Millis {
		// HalfFrom2000 never applies to text: PostgreSQL does not round it.
		carry := strconv.FormatInt(1_000_000-msCarry(r, false), 10)
		return "((" + wholeUS + " / 1000 + (" + ns + " + " + carry + ") / 1000000) * 1000)"
	}
	half := "500"
	if r.Floor {
		half = "0"
	}
	return "(" + wholeUS + " + (" + ns + " + " + half + ") / 1000)"
}

// pgEpoch is 2000-01-01 00:00 UTC in Unix seconds, PostgreSQL's epoch.
const pgEpoch = 946_684_800

// sqlServerMillis is whole milliseconds (as microseconds) from epoch to
// v, truncated or rounded from v's own nanoseconds (msCarry).
func sqlServerMillis(epoch, v string, r TimeRule) string {
	ms := "DATEDIFF_BIG(millisecond, " + epoch + ", " + v + ")"
	carry, carryBefore := msCarry(r, false), msCarry(r, true)
	if carry >= 1_000_000 {
		return "(" + ms + " * 1000)"
	}
	threshold := strconv.FormatInt(carry, 10)
	if carryBefore != carry {
		// Seconds from the epoch (UTC for a datetimeoffset): before 2000
		// when below PostgreSQL's epoch.
		threshold = "CASE WHEN DATEDIFF_BIG(second, " + epoch + ", " + v + ") < " + strconv.Itoa(pgEpoch) + " THEN " + strconv.FormatInt(carryBefore, 10) + " ELSE " + threshold + " END"
	}
	return "((" + ms + " + CASE WHEN DATEPART(nanosecond, " + v + ") % 1000000 >= " + threshold + " THEN 1 ELSE 0 END) * 1000)"
}
