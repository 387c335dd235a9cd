package sqldialect

import (
	"strconv"
	"strings"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash/rowhashtest"
)

// AppendColumn appends v encoded as column c is compared: its kind, and
// for temporal columns its rule (milliseconds, truncation). It is the Go
// reference of Dialect.Field over c.
func AppendColumn(dst []byte, c Column, v rowhash.Value) ([]byte, error) {
	if x, ok := v.(time.Time); ok && c.Time.Zone != "" {
		z, err := parseSinkZone(c.Time.Zone)
		if err != nil {
			return nil, err
		}
		v = z.wall(x)
	}
	if v != nil && c.Time.Floor && !c.Time.Millis {
		// Whole microseconds, truncated.
		switch x := v.(type) {
		case time.Time:
			if c.Kind == rowhash.KindTimestamp || c.Kind == rowhash.KindTimestampTZ {
				return strconv.AppendInt(dst, x.Unix()*1e6+int64(x.Nanosecond())/1000, 10), nil
			}
		case time.Duration:
			if c.Kind == rowhash.KindTime {
				return strconv.AppendInt(dst, int64(x/time.Microsecond)%rowhash.MicrosPerDay, 10), nil
			}
		}
	}
	if v == nil || !c.Time.Millis {
		return rowhashtest.AppendField(dst, c.Kind, v)
	}
	ms := func(sec, ns int64) int64 {
		q, r := ns/1e6, ns%1e6
		if r >= msCarry(c.Time, sec < pgEpoch) {
			q++
		}
		return (sec*1000 + q) * 1000
	}
	switch x := v.(type) {
	case time.Time:
		if c.Kind == rowhash.KindTimestamp || c.Kind == rowhash.KindTimestampTZ {
			return strconv.AppendInt(dst, ms(x.Unix(), int64(x.Nanosecond())), 10), nil
		}
	case time.Duration:
		if c.Kind == rowhash.KindTime {
			return strconv.AppendInt(dst, ms(int64(x/time.Second), int64(x%time.Second))%rowhash.MicrosPerDay, 10), nil
		}
	}
	return rowhashtest.AppendField(dst, c.Kind, v)
}

// wall is the wall clock in z of the instant t, as a UTC time (how a
// timestamp without a zone is held).
func (z sinkZone) wall(t time.Time) time.Time {
	l := t.In(z.loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// describeRule names a rule in test failures.
func describeRule(r TimeRule) string {
	var parts []string
	if r.Stored != StoredNative {
		parts = append(parts, "stored as "+r.Stored.String())
	}
	unit, how := "microseconds", ""
	if r.Millis {
		unit = "milliseconds"
		if r.ViaMicros {
			unit = "milliseconds of the microseconds rounded half up"
		}
		how = ", rounded"
		if r.HalfFrom2000 {
			how = ", rounded half away from 2000-01-01"
		}
	}
	if r.Floor {
		how = ", truncated"
	}
	parts = append(parts, unit+how)
	if r.Zone != "" {
		parts = append(parts, "as the wall clock in time zone "+r.Zone)
	}
	return strings.Join(parts, ", ")
}
