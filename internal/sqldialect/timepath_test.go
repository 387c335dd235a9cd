package sqldialect

import (
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
)

func TestDecideTime(t *testing.T) {
	ss := func(typ string, scale int) Column {
		k, _ := SQLServer{}.KindOf(typ)
		return Column{Name: "c", Type: typ, Scale: scale, Kind: k}
	}
	pg := func(typ string, scale int) Column {
		k, _ := Postgres{}.KindOf(typ)
		return Column{Name: "c", Type: typ, Scale: scale, Kind: k}
	}
	us, msFloor, msRound := TimeRule{}, TimeRule{Millis: true, Floor: true}, TimeRule{Millis: true}
	usFloor := TimeRule{Floor: true}
	// A source nanosecond value the sink's driver rounds to microseconds.
	viaMsFloor, viaMsRound := TimeRule{Millis: true, Floor: true, ViaMicros: true}, TimeRule{Millis: true, ViaMicros: true, HalfFrom2000: true}
	cases := []struct {
		name     string
		src, tgt Column
		path     Path
		kind     rowhash.Kind
		srcRule  TimeRule
		tgtRule  TimeRule
		reason   string
	}{
		{"adaptive through the Debezium sink: microseconds", ss("datetime2", 7), pg("timestamp without time zone", 6), Path{Mode: ModeAdaptive}, rowhash.KindTimestamp, us, us, ""},
		{"unknown mode assumes adaptive", ss("datetime2", 7), pg("timestamp without time zone", 6), Path{}, rowhash.KindTimestamp, us, us, ""},
		{"connect mode keeps milliseconds, truncated", ss("datetime2", 7), pg("timestamp without time zone", 6), Path{Mode: ModeConnect}, rowhash.KindTimestamp, msFloor, msFloor, ""},
		{"connect mode loses nothing of a datetime", ss("datetime", 3), pg("timestamp without time zone", 6), Path{Mode: ModeConnect}, rowhash.KindTimestamp, us, us, ""},
		{"connect mode time(7)", ss("time", 7), pg("time without time zone", 6), Path{Mode: ModeConnect}, rowhash.KindTime, msFloor, msFloor, ""},
		{"Confluent sink: datetime2(7) as BIGINT ns", ss("datetime2", 7), pg("bigint", -1), Path{Mode: ModeAdaptive}, rowhash.KindTimestamp, us, TimeRule{Stored: StoredEpochNanos}, ""},
		{"Confluent sink: datetime2(6) as BIGINT µs", ss("datetime2", 6), pg("bigint", -1), Path{}, rowhash.KindTimestamp, us, TimeRule{Stored: StoredEpochMicros}, ""},
		{"Confluent sink: datetime2(3) as BIGINT ms", ss("datetime2", 3), pg("bigint", -1), Path{}, rowhash.KindTimestamp, us, TimeRule{Stored: StoredEpochMillis}, ""},
		{"Confluent sink: datetime as BIGINT ms", ss("datetime", -1), pg("bigint", -1), Path{}, rowhash.KindTimestamp, us, TimeRule{Stored: StoredEpochMillis}, ""},
		{"Confluent sink: time(7) adaptive_time_microseconds as µs, truncated", ss("time", 7), pg("bigint", -1), Path{Mode: ModeAdaptiveMicros}, rowhash.KindTime, usFloor, TimeRule{Stored: StoredEpochMicros, Floor: true}, ""},
		{"Debezium sink: time(7) adaptive_time_microseconds, truncated", ss("time", 7), pg("time without time zone", 6), Path{Mode: ModeAdaptiveMicros}, rowhash.KindTime, usFloor, usFloor, ""},
		{"time(6) adaptive_time_microseconds is exact", ss("time", 6), pg("time without time zone", 6), Path{Mode: ModeAdaptiveMicros}, rowhash.KindTime, us, us, ""},
		{"datetime2(7) adaptive_time_microseconds is a NanoTimestamp", ss("datetime2", 7), pg("bigint", -1), Path{Mode: ModeAdaptiveMicros}, rowhash.KindTimestamp, us, TimeRule{Stored: StoredEpochNanos}, ""},
		{"Confluent sink: time(7) adaptive as ns", ss("time", 7), pg("bigint", -1), Path{Mode: ModeAdaptive}, rowhash.KindTime, us, TimeRule{Stored: StoredEpochNanos}, ""},
		{"Confluent sink: date as INT days", ss("date", 0), pg("integer", -1), Path{}, rowhash.KindDate, us, TimeRule{Stored: StoredEpochDays}, ""},
		{"Confluent sink: datetimeoffset as ISO text", ss("datetimeoffset", 7), pg("text", -1), Path{}, rowhash.KindTimestampTZ, us, TimeRule{Stored: StoredISOText}, ""},
		{"datetimeoffset never lands in an integer", ss("datetimeoffset", 7), pg("bigint", -1), Path{}, 0, us, us, "ISO-8601 string"},
		{"connect mode never lands in an integer", ss("datetime2", 7), pg("bigint", -1), Path{Mode: ModeConnect}, 0, us, us, "time.precision.mode=connect"},
		{"a datetime2 never lands in text", ss("datetime2", 7), pg("text", -1), Path{}, 0, us, us, "does not arrive as text"},
		{"a timestamp(3) target rounds to milliseconds", ss("datetime2", 7), pg("timestamp without time zone", 3), Path{}, rowhash.KindTimestamp, viaMsRound, msRound, ""},
		{"a timestamp(2) target cannot be compared exactly", ss("datetime2", 7), pg("timestamp without time zone", 2), Path{}, 0, us, us, "keeps 2 fractional digits"},
		{"override ms", ss("datetime2", 7), pg("timestamp without time zone", 6), Path{Precision: PrecisionMillis}, rowhash.KindTimestamp, viaMsFloor, msFloor, ""},
		{"override ms of a BIGINT ns: from the exact nanoseconds", ss("datetime2", 7), pg("bigint", -1), Path{Precision: PrecisionMillis}, rowhash.KindTimestamp, msFloor, TimeRule{Stored: StoredEpochNanos, Millis: true, Floor: true}, ""},
		{"override ms of a datetime2(6): no nanoseconds to round", ss("datetime2", 6), pg("timestamp without time zone", 6), Path{Precision: PrecisionMillis}, rowhash.KindTimestamp, msFloor, msFloor, ""},
		{"override us beats connect", ss("datetime2", 7), pg("timestamp without time zone", 6), Path{Mode: ModeConnect, Precision: PrecisionMicros}, rowhash.KindTimestamp, us, us, ""},
		{"datetimeoffset into a timestamp", ss("datetimeoffset", 7), pg("timestamp without time zone", 6), Path{}, rowhash.KindTimestamp, us, us, ""},
		// A sink writing in another zone shifts every native temporal
		// value; integers (epoch) and ISO text carry the instant itself.
		{"a sink not in UTC shifts a timestamp", ss("datetime2", 7), pg("timestamp without time zone", 6), Path{SinkTimeZone: "Europe/Paris"}, 0, us, us, "time zone Europe/Paris, not UTC"},
		{"a sink not in UTC shifts a time", ss("time", 7), pg("time without time zone", 6), Path{Mode: ModeConnect, SinkTimeZone: "Europe/Paris"}, 0, us, us, "time zone Europe/Paris"},
		{"a sink not in UTC: epoch integers are instants", ss("datetime2", 7), pg("bigint", -1), Path{SinkTimeZone: "Europe/Paris"}, rowhash.KindTimestamp, us, TimeRule{Stored: StoredEpochNanos}, ""},
		{"a sink not in UTC: ISO text is an instant", ss("datetimeoffset", 7), pg("text", -1), Path{SinkTimeZone: "Europe/Paris"}, rowhash.KindTimestampTZ, us, TimeRule{Stored: StoredISOText}, ""},
		// A PostgreSQL source is converted into the sink's zone; a target
		// column with a zone keeps the instant, a date is bound as is.
		{"a sink not in UTC: a PostgreSQL timestamp is compared in its zone", pg("timestamp without time zone", 6), pg("timestamp without time zone", 6), Path{SinkTimeZone: "Europe/Paris"}, rowhash.KindTimestamp, TimeRule{Zone: "Europe/Paris"}, us, ""},
		{"a sink not in UTC: a timestamptz into a timestamp lands in the session's zone", pg("timestamp with time zone", 6), pg("timestamp without time zone", 6), Path{SinkTimeZone: "+05:30"}, 0, us, us, "session zone"},
		{"a sink not in UTC: a timestamp(3) target rounds the wall clock", pg("timestamp without time zone", 6), pg("timestamp without time zone", 3), Path{SinkTimeZone: "America/New_York"}, rowhash.KindTimestamp, TimeRule{Millis: true, HalfFrom2000: true, Zone: "America/New_York"}, msRound, ""},
		{"a sink not in UTC: a timestamptz target keeps the instant", pg("timestamp with time zone", 6), pg("timestamp with time zone", 6), Path{SinkTimeZone: "Europe/Paris"}, rowhash.KindTimestampTZ, us, us, ""},
		{"a sink not in UTC: a date is bound as a date", pg("date", 0), pg("date", 0), Path{SinkTimeZone: "America/New_York"}, rowhash.KindDate, us, us, ""},
		{"a sink not in UTC: Kafka Connect's Date may land a day early", pg("date", 0), pg("date", 0), Path{Mode: ModeConnect, SinkTimeZone: "America/New_York"}, 0, us, us, "the day before"},
		{"a sink not in UTC: a time of day's offset is not in the data", pg("time without time zone", 6), pg("time without time zone", 6), Path{SinkTimeZone: "Europe/Paris"}, 0, us, us, "offset on the day it writes them"},
		{"a sink in a zone this machine does not know", pg("timestamp without time zone", 6), pg("timestamp without time zone", 6), Path{SinkTimeZone: "Mars/Olympus_Mons"}, 0, us, us, "cannot be converted into here"},
		{"a sink not in UTC: the reason names the sink", ss("datetime2", 7), pg("timestamp without time zone", 6), Path{SinkTimeZone: "Europe/Paris", SinkZoneFrom: "orders-sink, db.timezone"}, 0, us, us, "time zone Europe/Paris (orders-sink, db.timezone), not UTC"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, sr, tr, reason := decideTime(tc.src, tc.tgt, tc.path)
			if tc.reason != "" {
				if !strings.Contains(reason, tc.reason) {
					t.Fatalf("reason %q, want one saying %q", reason, tc.reason)
				}
				return
			}
			if reason != "" {
				t.Fatalf("not comparable: %s", reason)
			}
			if k != tc.kind || sr != tc.srcRule || tr != tc.tgtRule {
				t.Errorf("%s, source %s, target %s; want %s, %s, %s", k, describeRule(sr), describeRule(tr), tc.kind, describeRule(tc.srcRule), describeRule(tc.tgtRule))
			}
		})
	}
}

func TestAppendColumnAtMilliseconds(t *testing.T) {
	v := time.Date(2024, 1, 2, 3, 4, 5, 123_999_900, time.UTC)
	neg := time.Date(1969, 12, 31, 23, 59, 59, 999_600_000, time.UTC)
	for _, tc := range []struct {
		rule TimeRule
		v    rowhash.Value
		want string
	}{
		{TimeRule{}, v, "1704164645124000"},
		{TimeRule{Millis: true, Floor: true}, v, "1704164645123000"},
		{TimeRule{Millis: true}, v, "1704164645124000"},
		{TimeRule{Millis: true, Floor: true}, neg, "-1000"},
		{TimeRule{Millis: true}, neg, "0"},
	} {
		got, err := AppendColumn(nil, Column{Kind: rowhash.KindTimestamp, Time: tc.rule}, tc.v)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("%s: %s, want %s", describeRule(tc.rule), got, tc.want)
		}
	}
	got, _ := AppendColumn(nil, Column{Kind: rowhash.KindTime, Time: TimeRule{Millis: true, Floor: true}}, 5*time.Second+1_999_999*time.Nanosecond)
	if string(got) != "5001000" {
		t.Errorf("time at ms: %s", got)
	}
	// Microseconds truncated, as Debezium's MicroTime sends a time(7):
	// 23:59:59.9999999 stays on the same day, 500 ns is 0.
	for v, want := range map[time.Duration]string{
		24*time.Hour - 100*time.Nanosecond: "86399999999",
		500 * time.Nanosecond:              "0",
		1_999 * time.Nanosecond:            "1",
	} {
		got, _ := AppendColumn(nil, Column{Kind: rowhash.KindTime, Time: TimeRule{Floor: true}}, v)
		if string(got) != want {
			t.Errorf("time %v at µs, truncated: %s, want %s", v, got, want)
		}
	}
	got, _ = AppendColumn(nil, Column{Kind: rowhash.KindTimestamp, Time: TimeRule{Floor: true}}, time.Date(2024, 1, 2, 3, 4, 5, 123_456_900, time.UTC))
	if string(got) != "1704164645123456" {
		t.Errorf("timestamp at µs, truncated: %s", got)
	}
}
