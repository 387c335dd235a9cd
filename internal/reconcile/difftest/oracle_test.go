package difftest

import (
	"database/sql"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The oracle: both tables read in full with pgx, every value as its
// PostgreSQL text form, scoped and compared in Go by the rules of
// docs/drift.md (decimals by value, char padding ignored, timestamps as
// instants at the precision the path keeps). It never calls
// internal/rowhash: a shared encoder would prove nothing.

// truth is what differs between the two tables, by oracle key.
type truth struct {
	Source     map[string][]string // in scope: canonical values by key
	Target     map[string][][]string
	SourceAll  map[string]bool // every source key, whatever the filter
	Missing    []string
	Extra      []string
	Changed    map[string][]string // key → source names of the differing columns
	Duplicate  []string
	TargetRows int
	// Tie are keys whose source row has a timestamp on a millisecond's
	// half before 2000, bound for a timestamp(3) target: PostgreSQL
	// rounds it down there, the documented rule ("rounded half up")
	// up. Checked on their own (defects.md, timestamp3-before-2000).
	Tie map[string][]string
}

const keySep = "\x1f"

// compared are the columns the comparison covers: jsonb is not a
// supported type (docs/drift.md), so it is left out on both sides.
func (tb *table) compared() []column {
	var out []column
	for _, c := range tb.Cols {
		if c.Kind != kJSONB && !c.leftOut() {
			out = append(out, c)
		}
	}
	return out
}

// readSide reads every row of one side: the compared columns' text forms,
// plus the filter and soft-delete columns.
func (w *world) readSide(target bool) [][]sql.NullString {
	w.t.Helper()
	var sel []string
	for _, c := range w.tb.Cols {
		n := c.Name
		if target {
			n = c.TgtName
		}
		if target && c.Absent {
			sel = append(sel, "NULL::text")
			continue
		}
		sel = append(sel, qi(n)+"::text")
	}
	name := w.tb.Name
	db := w.src
	if target {
		name, db = w.tb.TgtName, w.tgt
		if w.tb.SoftDelete {
			sel = append(sel, "__deleted::text")
		}
	}
	rows, err := db.QueryContext(w.ctx, "SELECT "+strings.Join(sel, ", ")+" FROM "+qt(name))
	if err != nil {
		w.t.Fatal(err)
	}
	return scanTexts(w.t, rows, len(sel))
}

// truth computes what differs now.
func (w *world) truth() *truth {
	w.t.Helper()
	tr := &truth{Source: map[string][]string{}, Target: map[string][][]string{}, SourceAll: map[string]bool{}, Changed: map[string][]string{}, Tie: map[string][]string{}}
	inScope := func(row []sql.NullString) bool {
		for i, c := range w.tb.Cols {
			if c.Region && row[i].String != "eu" {
				return false
			}
		}
		return true
	}
	for _, row := range w.readSide(false) {
		k := w.tb.oracleKey(row)
		tr.SourceAll[k] = true
		if inScope(row) {
			tr.Source[k] = w.tb.canon(w.t, row, false)
			for i, c := range w.tb.Cols {
				if c.Kind == kTimestamp && c.Tgt == "timestamp(3)" && !c.leftOut() && row[i].Valid {
					if ts, err := parseTimestamp(row[i].String); err == nil && pgRoundMillis(ts.UnixMicro()) != floorDiv(ts.UnixMicro()+500, 1000)*1000 {
						tr.Tie[k] = append(tr.Tie[k], c.Name)
					}
				}
			}
		}
	}
	for _, row := range w.readSide(true) {
		if w.tb.SoftDelete {
			if d := strings.ToLower(row[len(w.tb.Cols)].String); d == "true" || d == "t" || d == "1" {
				continue
			}
		}
		if !inScope(row) {
			continue
		}
		k := w.tb.oracleKey(row)
		tr.Target[k] = append(tr.Target[k], w.tb.canon(w.t, row, true))
		tr.TargetRows++
	}
	for k, s := range tr.Source {
		ts, ok := tr.Target[k]
		switch {
		case !ok:
			tr.Missing = append(tr.Missing, k)
		case len(ts) > 1:
			tr.Duplicate = append(tr.Duplicate, k)
		default:
			if cols := w.tb.differing(s, ts[0]); len(cols) > 0 {
				tr.Changed[k] = cols
			}
		}
	}
	for k := range tr.Target {
		if _, ok := tr.Source[k]; ok {
			continue
		}
		// A key the source does not have is extra, however many copies
		// the target holds (reconcile and drift agree on that order).
		tr.Extra = append(tr.Extra, k)
	}
	slices.Sort(tr.Missing)
	slices.Sort(tr.Extra)
	slices.Sort(tr.Duplicate)
	return tr
}

func (tr *truth) changedKeys() []string {
	var out []string
	for k := range tr.Changed {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// values shows the oracle's canonical values of cols in k's rows.
func (tr *truth) values(tb *table, k string, cols []string) string {
	var out []string
	for i, c := range tb.compared() {
		if !slices.Contains(cols, c.Name) {
			continue
		}
		s := "absent"
		if row, ok := tr.Source[k]; ok {
			s = row[i]
		}
		var ts []string
		for _, row := range tr.Target[k] {
			ts = append(ts, row[i])
		}
		out = append(out, fmt.Sprintf("%s (%s → %s): source %s, target %v", c.Name, c.Src, c.Tgt, s, ts))
	}
	return strings.Join(out, "; ")
}

// differs tells whether key k's rows differ: changed or duplicated.
func (tr *truth) differs(k string) bool {
	_, changed := tr.Changed[k]
	return changed || slices.Contains(tr.Duplicate, k)
}

// oracleKey is a row's key: its key columns' canonical forms.
func (tb *table) oracleKey(row []sql.NullString) string {
	var parts []string
	for i, c := range tb.Cols {
		if c.Key {
			parts = append(parts, canonKey(c, row[i].String))
		}
	}
	return joinKey(parts)
}

func joinKey(parts []string) string { return strings.Join(parts, keySep) }

// canonKey is a key value's canonical form; the report's keys are
// turned into the same.
func canonKey(c column, v string) string {
	switch c.Kind {
	case kInt:
		n, ok := new(big.Int).SetString(v, 10)
		if !ok {
			return "bad int " + v
		}
		return n.String()
	case kUUID:
		return strings.ToLower(v)
	}
	return v
}

// canon is a row's compared values in canonical form.
func (tb *table) canon(t testing.TB, row []sql.NullString, target bool) []string {
	t.Helper()
	var out []string
	for i, c := range tb.Cols {
		if c.Kind == kJSONB || c.leftOut() {
			continue
		}
		if !row[i].Valid {
			out = append(out, "NULL")
			continue
		}
		v, err := canonValue(c, row[i].String, target)
		if err != nil {
			t.Fatalf("oracle: column %s, value %q: %v", c.Name, row[i].String, err)
		}
		out = append(out, v)
	}
	return out
}

func (tb *table) differing(a, b []string) []string {
	var out []string
	for i, c := range tb.compared() {
		if a[i] != b[i] {
			out = append(out, c.Name)
		}
	}
	return out
}

// canonValue is the canonical form of one value of c.
func canonValue(c column, v string, target bool) (string, error) {
	switch c.Kind {
	case kInt:
		// By value: a target's numeric(12,2) holds 7 as 7.00.
		r, ok := new(big.Rat).SetString(v)
		if !ok || !r.IsInt() {
			return "", fmt.Errorf("not an integer")
		}
		return r.RatString(), nil
	case kText:
		if strings.HasPrefix(c.Tgt, "char(") {
			// A fixed-length target makes trailing blanks padding.
			return strings.TrimRight(v, " "), nil
		}
		return v, nil
	case kDecimal:
		// By value: 1.50 in numeric(20,6) is 1.5 in numeric(14,2).
		r, ok := new(big.Rat).SetString(v)
		if !ok {
			return "", fmt.Errorf("not a decimal")
		}
		return r.RatString(), nil
	case kChar:
		// Padding is not data, on either side.
		return strings.TrimRight(v, " "), nil
	case kTimestamp, kTimestampTZ:
		ts, err := parseTimestamp(v)
		if err != nil {
			return "", err
		}
		us := ts.UnixMicro()
		switch {
		case c.TruncMillis:
			// connect mode: whole milliseconds, truncated.
			us = floorDiv(us, 1000) * 1000
		case c.Kind == kTimestamp && c.Tgt == "timestamp(3)" && !target:
			// The target keeps milliseconds: the source value as
			// PostgreSQL rounds it when the sink writes it there.
			us = pgRoundMillis(us)
		}
		return fmt.Sprint(us), nil
	case kTime:
		d, err := parseTime(v)
		if err != nil {
			return "", err
		}
		if c.TruncMillis {
			d = d / 1000 * 1000
		}
		return fmt.Sprint(d), nil
	case kUUID:
		return strings.ToLower(v), nil
	}
	// text, date, bool, bytea: PostgreSQL's text forms are canonical.
	return v, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// pgEpoch is PostgreSQL's own epoch, 2000-01-01, in Unix microseconds.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()

// pgRoundMillis rounds a timestamp to milliseconds as PostgreSQL does
// when it stores one in timestamp(3) (AdjustTimestampForTypmod): half
// away from its epoch of 2000-01-01, so half down before 2000. Checked
// on PostgreSQL 15: '1999-06-01 00:00:00.0005'::timestamp(3) is
// 00:00:00.000, '2001-06-01 00:00:00.0005'::timestamp(3) is 00:00:00.001.
func pgRoundMillis(us int64) int64 {
	rel := us - pgEpoch
	if rel >= 0 {
		return (rel+500)/1000*1000 + pgEpoch
	}
	return -((-rel + 500) / 1000 * 1000) + pgEpoch
}

// parseTimestamp reads PostgreSQL's ISO text form of a timestamp or a
// timestamptz (with its offset, as +05 or +05:30).
func parseTimestamp(v string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999-07:00", "2006-01-02 15:04:05.999999-07", "2006-01-02 15:04:05.999999"} {
		if ts, err := time.Parse(layout, v); err == nil {
			return ts, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a timestamp")
}

// parseTime is a time of day in microseconds; 24:00:00 is midnight, 0,
// as docs/drift.md says.
func parseTime(v string) (int64, error) {
	parts := strings.SplitN(v, ":", 3)
	if len(parts) != 3 {
		return 0, fmt.Errorf("not a time")
	}
	sec, frac, _ := strings.Cut(parts[2], ".")
	var h, m, ss, us int64
	for _, f := range []struct {
		s string
		p *int64
	}{{parts[0], &h}, {parts[1], &m}, {sec, &ss}, {(frac + "000000")[:6], &us}} {
		n, err := strconv.ParseInt(f.s, 10, 64) // decimal: "08" is eight
		if err != nil {
			return 0, fmt.Errorf("not a time: %v", err)
		}
		*f.p = n
	}
	return (((h*60+m)*60+ss)*1_000_000 + us) % (86400 * 1_000_000), nil
}
