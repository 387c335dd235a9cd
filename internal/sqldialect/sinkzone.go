package sqldialect

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
)

// A JDBC sink set to a zone other than UTC (db.timezone on the Confluent
// and Aiven sinks, database.time_zone on Debezium's) binds a timestamp
// as that zone's wall clock of the instant it was sent (a timestamp
// without a zone is read as UTC, as Debezium reads it): the Confluent
// sink through setTimestamp with a calendar in the zone, Debezium's
// through ZonedDateTime.withZoneSameInstant. A target column without a
// zone keeps that wall clock; one with a zone keeps the instant. From an
// instant to a wall clock is a function, while the way back is not (in
// a daylight-saving fold one wall clock is two instants), so the source
// side is converted into the sink's zone and compared with the target's
// value as stored.

// javaOffset matches the offset forms of a Java zone id (ZoneId.of and
// TimeZone.getTimeZone): Z, +h, +hh, +hh:mm, +hhmm, +hh:mm:ss, +hhmmss,
// optionally after UTC, GMT or UT.
var javaOffset = regexp.MustCompile(`^(?:UTC|GMT|UT)?([+-])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?$`)

// zoneID names a region of the time zone database (Europe/Paris,
// America/Argentina/Buenos_Aires, EST5EDT).
var zoneID = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*$`)

// sinkZone is a sink's zone as the comparison converts into it.
type sinkZone struct {
	loc *time.Location
	// pg is the zone as PostgreSQL's AT TIME ZONE takes it: a region
	// name, or an interval for a fixed offset (an interval reads east of
	// UTC as positive, as Java does, where a POSIX text such as
	// 'UTC+2' would mean two hours west).
	pg string
}

// parseSinkZone reads a Java zone id: a fixed offset, or a region of
// the time zone database that this machine's copy holds.
func parseSinkZone(id string) (sinkZone, error) {
	id = strings.TrimSpace(id)
	if m := javaOffset.FindStringSubmatch(strings.ToUpper(id)); m != nil {
		h, _ := strconv.Atoi(m[2])
		mm, _ := strconv.Atoi("0" + m[3])
		ss, _ := strconv.Atoi("0" + m[4])
		if h > 18 || mm > 59 || ss > 59 {
			return sinkZone{}, fmt.Errorf("offset %q is out of range", id)
		}
		secs := h*3600 + mm*60 + ss
		if m[1] == "-" {
			secs = -secs
		}
		return sinkZone{loc: time.FixedZone(id, secs), pg: "INTERVAL " + Postgres{}.Literal(fmt.Sprintf("%s%02d:%02d:%02d", m[1], h, mm, ss))}, nil
	}
	if !zoneID.MatchString(id) || id == "Local" {
		return sinkZone{}, fmt.Errorf("%q is not a zone id", id)
	}
	loc, err := time.LoadLocation(id)
	if err != nil {
		return sinkZone{}, fmt.Errorf("zone %q: %w", id, err)
	}
	return sinkZone{loc: loc, pg: Postgres{}.Literal(id)}, nil
}

// pgWall is the wall clock in z of a PostgreSQL timestamp column q (a
// UTC wall clock, as Debezium reads it), whatever the session's TimeZone.
func (z sinkZone) pgWall(q string) string {
	return "((" + q + " AT TIME ZONE 'UTC') AT TIME ZONE " + z.pg + ")"
}

// sinkZoneRule decides how a temporal source column sc, compared as k
// with a native target column tc, is compared when the sink writes in
// zone: the zone the source side is converted into, or none, or a
// reason it cannot be compared exactly.
func sinkZoneRule(sc, tc Column, k rowhash.Kind, connectType bool, p Path) (string, string) {
	zone, reason := sinkZoneOf(sc, tc, k, connectType, p.SinkTimeZone)
	if reason != "" && p.SinkZoneFrom != "" {
		reason = strings.Replace(reason, "time zone "+p.SinkTimeZone, "time zone "+p.SinkTimeZone+" ("+p.SinkZoneFrom+")", 1)
	}
	return zone, reason
}

// sinkZoneOf is sinkZoneRule for the zone alone.
func sinkZoneOf(sc, tc Column, k rowhash.Kind, connectType bool, zone string) (string, string) {
	redo := "; set the sink's zone to UTC and re-snapshot the table (doctor names the setting)"
	switch {
	case k == rowhash.KindTime:
		return "", "the sink writes times of day in time zone " + zone + ", not UTC, shifted by the zone's offset on the day it writes them (Debezium's sink binds a time on today's date) or on 1970-01-01 (Kafka Connect's Time through the Confluent sink): which offset applied is not in the data" + redo
	case k == rowhash.KindDate && connectType:
		return "", "time.precision.mode=connect sends a date as Kafka Connect's Date (midnight UTC), which a sink in time zone " + zone + " may bind through a calendar in that zone (the Confluent sink does): west of UTC it lands on the day before" + redo
	case k == rowhash.KindDate, tc.Kind == rowhash.KindTimestampTZ:
		// Debezium's Date is bound as a LocalDate; a target column with
		// a zone keeps the instant.
		return "", ""
	case !isPostgresTemporal(sc.Type):
		return "", "the sink writes timestamps as wall clocks in time zone " + zone + ", not UTC, and a " + sc.Type + " source cannot be converted into a Java zone id here (SQL Server's AT TIME ZONE takes Windows zone names)" + redo
	case isTimestamptz(sc.Type):
		// Debezium's sink binds a ZonedTimestamp as an instant with its
		// offset; PostgreSQL casts that into a column without a zone in
		// the session's TimeZone, the Connect worker's own.
		return "", "a sink in time zone " + zone + ", not UTC, binds a " + sc.Type + " as an instant, which the target stores in a column without a zone as the wall clock of the sink connection's session zone (the Connect worker's default), not necessarily " + zone + redo
	}
	if _, err := parseSinkZone(zone); err != nil {
		return "", "the sink writes timestamps in time zone " + zone + ", which cannot be converted into here (" + err.Error() + ")" + redo
	}
	return zone, ""
}
