package sqldialect

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
)

// Key is one row's key: column name → value (a json.Number for integer
// columns, a string otherwise), as drift reports and reconcile lists it.
type Key map[string]any

// KeyValue is the value a key column's text form (Dialect.Text) is kept
// as in a Key.
func KeyValue(c Column, text string) any {
	if c.Kind == rowhash.KindInt {
		return json.Number(text)
	}
	return text
}

// KeyLiteral is v, a key column's value, as a SQL literal of d. Integer
// columns take only integers, so nothing but digits reaches the SQL.
func KeyLiteral(d Dialect, c Column, v any) (string, error) {
	s := fmt.Sprint(v)
	if c.Kind == rowhash.KindInt {
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			return "", fmt.Errorf("key column %s: %q is not an integer", c.Name, s)
		}
		return s, nil
	}
	if ss, ok := d.(SQLServer); ok {
		switch {
		case isTemporal(c.Kind):
			return ss.temporalLiteral(c, s)
		case c.Kind == rowhash.KindText || c.Kind == rowhash.KindChar:
			return ss.textLiteral(c, s), nil
		}
	}
	return d.Literal(s), nil
}

// collationName is what a collation name may be made of (names listed by
// sys.fn_helpcollations); anything else never reaches the SQL.
var collationName = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// textLiteral is x as a literal compared with character column c, typed
// as the column's own family: comparing a varchar column with an nvarchar
// literal converts the column, which under a SQL collation turns an index
// seek into a scan. The nvarchar literal is converted to varchar through
// the column's own collation: a literal without COLLATE has the
// database's default collation (Microsoft: "If you do not specify a
// collation, the literal is assigned the database default collation"),
// whose code page would turn 'Жук' into '???' in a Latin1 database
// holding a Cyrillic column. With no collation known, the nvarchar
// literal is compared as it is: correct, if possibly a scan.
func (s SQLServer) textLiteral(c Column, x string) string {
	lit := s.Literal(x)
	if strings.HasPrefix(c.Type, "n") || c.Type == "sysname" {
		return lit
	}
	if !collationName.MatchString(c.Collation) {
		return lit
	}
	return "CONVERT(varchar(8000), " + lit + " COLLATE " + c.Collation + ")"
}

// sqlServerTemporalText is a temporal key's text as SQL Server writes it
// (style 121: "2024-01-02 03:04:05.1234567", a datetimeoffset with
// " +01:00") or as a user types it in ISO 8601 with a T.
var sqlServerTemporalText = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2})?(?:[ T]?(\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?))?(?: ?([+-]\d{2}:\d{2}|Z))?$`)

// temporalLiteral is a temporal key's text (Text's style 121, or ISO 8601)
// as a literal typed as column c. The text is rewritten in ISO 8601 with
// a T between date and time: Microsoft documents that form as read the
// same whatever SET LANGUAGE and SET DATEFORMAT say, while
// "yyyy-mm-dd hh:mi:ss" read into a datetime or smalldatetime follows
// the login's date order (under dmy, 2024-01-02 is 1 February, and
// 2024-01-13 fails).
func (s SQLServer) temporalLiteral(c Column, text string) (string, error) {
	m := sqlServerTemporalText.FindStringSubmatch(strings.TrimSpace(text))
	if m == nil || (m[1] == "" && m[2] == "") {
		return "", fmt.Errorf("key column %s: %q is not a date or time", c.Name, text)
	}
	date, clock, offset := m[1], m[2], m[3]
	var lit string
	switch c.Kind {
	case rowhash.KindTime:
		if clock == "" {
			return "", fmt.Errorf("key column %s: %q is not a time of day", c.Name, text)
		}
		lit = clock
	case rowhash.KindDate:
		if date == "" {
			return "", fmt.Errorf("key column %s: %q is not a date", c.Name, text)
		}
		// yyyy-mm-dd alone is language-independent for date.
		lit = date
	default:
		if date == "" {
			return "", fmt.Errorf("key column %s: %q has no date", c.Name, text)
		}
		if clock == "" {
			// A bare yyyy-mm-dd read into a datetime follows DATEFORMAT.
			clock = "00:00:00"
		}
		if strings.Count(clock, ":") == 1 {
			clock += ":00"
		}
		if _, frac, ok := strings.Cut(clock, "."); ok && len(frac) > 3 && (c.Type == "datetime" || c.Type == "smalldatetime") {
			// The server refuses more digits for these types.
			return "", fmt.Errorf("key column %s: %q has more fractional digits than a %s keeps (3)", c.Name, text, c.Type)
		}
		lit = date + "T" + clock + offset
	}
	return "CAST(" + s.Literal(lit) + " AS " + s.typeName(c) + ")", nil
}

// typeName is column c's declared temporal type, with its scale.
func (SQLServer) typeName(c Column) string {
	scale := c.Scale
	if scale < 0 || scale > 7 {
		scale = 7
	}
	switch c.Type {
	case "datetime", "smalldatetime", "date":
		return c.Type
	case "datetimeoffset", "datetime2", "time":
		return c.Type + "(" + strconv.Itoa(scale) + ")"
	}
	switch c.Kind {
	case rowhash.KindDate:
		return "date"
	case rowhash.KindTime:
		return "time(" + strconv.Itoa(scale) + ")"
	case rowhash.KindTimestampTZ:
		return "datetimeoffset(" + strconv.Itoa(scale) + ")"
	}
	return "datetime2(" + strconv.Itoa(scale) + ")"
}

// KeyRangeQuery selects the smallest and the largest value of an integer
// leading key column, as bigints: two index end lookups when an index
// leads with the column. The aggregates read the bare column and only
// their results are cast: min(id::bigint) is an expression no index
// holds, so it scans the whole table.
func KeyRangeQuery(d Dialect, table, column string) string {
	col := d.QuoteIdent(column)
	return fmt.Sprintf("SELECT %s, %s FROM %s", d.Bigint("min("+col+")"), d.Bigint("max("+col+")"), d.QuoteTable(table))
}

// KeyRange is the smallest and the largest leading key value over both
// sides of an integer-led plan, both sides read at once; ok is false when
// both are empty.
func (p *Plan) KeyRange(ctx context.Context) (lo, hi int64, ok bool, err error) {
	var mins, maxs [2]sql.NullInt64
	errs := make(chan error, 2)
	for i := range 2 {
		s, cols := p.Side(i)
		q := KeyRangeQuery(s.Dialect, s.Table, cols[p.Key[0]].Name)
		if w := s.Where(""); w != "" {
			q += " WHERE " + w
		}
		go func() {
			if err := s.DB.QueryRowContext(ctx, q).Scan(&mins[i], &maxs[i]); err != nil {
				errs <- fmt.Errorf("%s: key range of %s: %w", SideName(i), s.Table, err)
				return
			}
			errs <- nil
		}()
	}
	for range 2 {
		if e := <-errs; e != nil && err == nil {
			err = e
		}
	}
	if err != nil {
		return 0, 0, false, err
	}
	for i := range mins {
		if !mins[i].Valid {
			continue
		}
		if !ok || mins[i].Int64 < lo {
			lo = mins[i].Int64
		}
		if !ok || maxs[i].Int64 > hi {
			hi = maxs[i].Int64
		}
		ok = true
	}
	return lo, hi, ok, nil
}

// Keys are matched between the engines on their canonical encoding, never
// on a text form: SQL Server writes datetime2 with seven digits and bit as
// 1, PostgreSQL writes six digits and true, and uniqueidentifier comes out
// upper-case on one side and lower-case on the other. A key sampled on one
// side is looked up on the other by a condition built from its canonical
// fields (Lookup), in the other engine's own literals and on the bare
// column, so the key's index serves it. The condition may select a few
// more rows than asked (a timestamp range, a case-insensitive collation);
// callers match the rows they get back by their canonical encoding.

// Match is a condition on one key column selecting (at least) the rows
// whose canonical field is a given one, written on the bare column so an
// index on it serves the condition.
type Match struct {
	Col string
	// In lists literals any of which matches (col = lit or col IN (...)).
	In []string
	// Lo and Hi bound an inclusive range when In is empty.
	Lo, Hi string
	// Expr is a ready condition when neither applies (IS NULL).
	Expr string
}

// SQL is the condition.
func (m Match) SQL() string {
	switch {
	case m.Expr != "":
		return m.Expr
	case len(m.In) == 1:
		return m.Col + " = " + m.In[0]
	case len(m.In) > 1:
		return m.Col + " IN (" + strings.Join(m.In, ", ") + ")"
	}
	return m.Col + " BETWEEN " + m.Lo + " AND " + m.Hi
}

// KeyMatcher is implemented by dialects that can look keys up by their
// canonical fields.
type KeyMatcher interface {
	// Match is the condition on column c selecting the rows whose field
	// is field (a canonical field of c's kind, or Null).
	Match(c Column, field string) (Match, error)
}

// Lookup is a WHERE condition selecting the rows whose key, encoded
// canonically over keyCols, is one of encs (and possibly a few more: match
// the rows read back by their encoded key). Each key column is compared
// bare, so the key's index serves the lookup whatever its type.
func Lookup(d Dialect, keyCols []Column, encs []string) (string, error) {
	if len(encs) == 0 {
		return "1 = 0", nil
	}
	m, ok := d.(KeyMatcher)
	if !ok {
		return "", fmt.Errorf("sqldialect: %s cannot look keys up", d.Name())
	}
	kinds := make([]rowhash.Kind, len(keyCols))
	for i, c := range keyCols {
		kinds[i] = c.Kind
	}
	// One column, every match a list of literals: one IN list, which
	// PostgreSQL runs as a single index scan over = ANY(array).
	single := len(keyCols) == 1
	var in []string
	seen := map[string]bool{}
	terms := make([]string, 0, len(encs))
	for _, enc := range encs {
		fields, err := rowhash.SplitFields(kinds, enc)
		if err != nil {
			return "", err
		}
		parts := make([]string, len(keyCols))
		for i, c := range keyCols {
			mt, err := m.Match(c, fields[i])
			if err != nil {
				return "", fmt.Errorf("key column %s: %w", c.Name, err)
			}
			if single && len(mt.In) > 0 {
				for _, lit := range mt.In {
					if !seen[lit] {
						seen[lit] = true
						in = append(in, lit)
					}
				}
			} else {
				single = false
			}
			parts[i] = mt.SQL()
		}
		if len(parts) == 1 {
			terms = append(terms, parts[0])
		} else {
			terms = append(terms, "("+strings.Join(parts, " AND ")+")")
		}
	}
	if single {
		return Match{Col: d.QuoteIdent(keyCols[0].Name), In: in}.SQL(), nil
	}
	return strings.Join(terms, " OR "), nil
}

// civil formats t (UTC) as yyyy-mm-dd hh:mm:ss plus digits fractional
// digits, sep between date and time; years beyond 9999 keep all digits.
func civil(t time.Time, sep string, digits int) string {
	t = t.UTC()
	y, mo, d := t.Date()
	s := fmt.Sprintf("%04d-%02d-%02d%s%02d:%02d:%02d", y, mo, d, sep, t.Hour(), t.Minute(), t.Second())
	if digits > 0 {
		frac := fmt.Sprintf("%09d", t.Nanosecond())
		s += "." + frac[:digits]
	}
	return s
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

func dateOf(t time.Time) string {
	y, mo, d := t.UTC().Date()
	return fmt.Sprintf("%04d-%02d-%02d", y, mo, d)
}

func clockOf(d time.Duration, digits int) string {
	us := d.Microseconds()
	s := fmt.Sprintf("%02d:%02d:%02d", us/3_600_000_000, us/60_000_000%60, us/1_000_000%60)
	if digits > 0 {
		frac := fmt.Sprintf("%09d", d.Nanoseconds()%1_000_000_000)
		s += "." + frac[:digits]
	}
	return s
}

// newMatch starts the match of field on the quoted column col: done
// (Expr set) for NULL, else with the field's value.
func newMatch(col string, c Column, field string) (Match, rowhash.Value, error) {
	m := Match{Col: col}
	if field == rowhash.Null {
		m.Expr = col + " IS NULL"
		return m, nil, nil
	}
	v, err := rowhash.ParseField(c.Kind, field)
	return m, v, err
}

// Match writes PostgreSQL literals; microsecond values are exact there.
func (p Postgres) Match(c Column, field string) (Match, error) {
	m, v, err := newMatch(p.QuoteIdent(c.Name), c, field)
	if err != nil || m.Expr != "" {
		return m, err
	}
	switch c.Kind {
	case rowhash.KindInt:
		m.In = []string{field}
	case rowhash.KindDecimal:
		m.In = []string{p.Literal(field)}
	case rowhash.KindBool:
		m.In = []string{map[bool]string{true: "true", false: "false"}[v.(bool)]}
	case rowhash.KindText:
		m.In = []string{p.Literal(v.(string))}
	case rowhash.KindChar:
		s := v.(string)
		m.In = []string{p.Literal(s)}
		// A text column holds the sink's padded copy: look for that
		// too (character(n) compares without padding by itself).
		if c.Width > len([]rune(s)) && !isFixed(c.Type) {
			m.In = append(m.In, p.Literal(s+strings.Repeat(" ", c.Width-len([]rune(s)))))
		}
	case rowhash.KindTimestamp, rowhash.KindTimestampTZ, rowhash.KindTime:
		p.matchTime(&m, c, v)
	case rowhash.KindDate:
		if c.Time.Stored == StoredEpochDays {
			m.In = []string{field}
			break
		}
		m.In = []string{p.Literal(dateOf(v.(time.Time)))}
	case rowhash.KindUUID:
		m.In = []string{p.Literal(field)}
		if c.Type != "uuid" {
			// A text column holds what Debezium sent: SQL Server's
			// upper-case form.
			m.In = append(m.In, p.Literal(strings.ToUpper(field)))
		}
	default:
		return m, fmt.Errorf("%s keys are not supported", c.Kind)
	}
	return m, nil
}

// matchTime matches a temporal value as the target holds it: within one
// microsecond (one millisecond when compared at milliseconds) either
// side, in the unit of an integer target, as an instant for ISO-8601
// text, else as a literal of the column's type.
func (p Postgres) matchTime(m *Match, c Column, v rowhash.Value) {
	var us int64
	if t, ok := v.(time.Time); ok {
		us = t.UnixMicro()
	} else {
		us = v.(time.Duration).Microseconds()
	}
	tick := int64(1)
	if c.Time.Millis {
		tick = 1000
	}
	lit := func(us int64) string {
		if c.Kind == rowhash.KindTime {
			return p.Literal(clockOf(time.Duration(max(us, 0))*time.Microsecond, 6))
		}
		// A timestamp column ignores the offset; a timestamptz one
		// reads the value as UTC, as the encoding does.
		return p.Literal(civil(time.UnixMicro(us), " ", 6) + "+00")
	}
	switch c.Time.Stored {
	case StoredEpochMillis:
		m.Lo, m.Hi = strconv.FormatInt(floorDiv(us-tick, 1000), 10), strconv.FormatInt(-floorDiv(-(us+tick), 1000), 10)
	case StoredEpochMicros:
		m.Lo, m.Hi = strconv.FormatInt(us-tick, 10), strconv.FormatInt(us+tick, 10)
	case StoredEpochNanos:
		// Clamped: a NanoTimestamp ends in 2262.
		ns := func(us int64) string {
			return strconv.FormatInt(min(max(us, math.MinInt64/1000), math.MaxInt64/1000)*1000, 10)
		}
		m.Lo, m.Hi = ns(us-tick), ns(us+tick)
		if us+tick > math.MaxInt64/1000 {
			m.Hi = strconv.FormatInt(math.MaxInt64, 10)
		}
	case StoredISOText:
		// The text's own form varies (offsets, digits): compared as an
		// instant, which no index on the text serves.
		m.Expr = "(" + m.Col + ")::timestamptz BETWEEN " + lit(us-tick) + " AND " + lit(us+tick)
	default:
		if tick == 1 {
			m.In = []string{lit(us)}
		} else {
			m.Lo, m.Hi = lit(us-tick), lit(us+tick)
		}
	}
}

// isFixed tells a fixed-length character type, which compares without
// its padding by itself.
func isFixed(typ string) bool {
	switch typ {
	case "character", "char", "bpchar", "nchar":
		return true
	}
	return false
}

// sqlServerMin and sqlServerMax bound datetime2 and datetimeoffset.
var (
	sqlServerMin = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	sqlServerMax = time.Date(9999, 12, 31, 23, 59, 59, 999999900, time.UTC)
)

// Match writes SQL Server literals. Temporal keys are ranges typed as the
// column: a datetime2(7) value is rounded to microseconds by the
// encoding, so the row's own value lies within half a microsecond of the
// field; the range is one microsecond (one tick of coarser types) either
// side, and the encoded key picks the row out.
func (s SQLServer) Match(c Column, field string) (Match, error) {
	m, v, err := newMatch(s.QuoteIdent(c.Name), c, field)
	if err != nil || m.Expr != "" {
		return m, err
	}
	str := func(x string) string { return s.textLiteral(c, x) }
	scale := c.Scale
	if scale < 0 || scale > 7 {
		scale = 7
	}
	switch c.Kind {
	case rowhash.KindInt:
		m.In = []string{field}
	case rowhash.KindDecimal:
		m.In = []string{field}
	case rowhash.KindBool:
		m.In = []string{map[bool]string{true: "1", false: "0"}[v.(bool)]}
	case rowhash.KindText, rowhash.KindChar:
		// = ignores trailing spaces in SQL Server (ANSI padding).
		m.In = []string{str(v.(string))}
	case rowhash.KindTimestamp, rowhash.KindTimestampTZ:
		m.Lo, m.Hi = timestampRange(c, v.(time.Time), scale)
	case rowhash.KindDate:
		m.In = []string{"CAST('" + dateOf(v.(time.Time)) + "' AS date)"}
	case rowhash.KindTime:
		timeRange(&m, c, v.(time.Duration), scale)
	case rowhash.KindUUID:
		if c.Type == "uniqueidentifier" {
			m.In = []string{"CAST('" + field + "' AS uniqueidentifier)"}
		} else {
			m.In = []string{str(field), str(strings.ToUpper(field))}
		}
	default:
		return m, fmt.Errorf("%s keys are not supported", c.Kind)
	}
	return m, nil
}

// timestampRange bounds a SQL Server timestamp key: one tick of the
// column's type (one millisecond when compared at milliseconds) either
// side of t, within the type's range, typed as the column.
func timestampRange(c Column, t time.Time, scale int) (lo, hi string) {
	typ, tick, first, last := "datetime2("+strconv.Itoa(scale)+")", time.Microsecond, sqlServerMin, sqlServerMax
	suffix := ""
	switch c.Type {
	case "datetime":
		typ, tick, first = "datetime", time.Millisecond, time.Date(1753, 1, 1, 0, 0, 0, 0, time.UTC)
		last = time.Date(9999, 12, 31, 23, 59, 59, 997e6, time.UTC)
	case "smalldatetime":
		typ, tick, first = "smalldatetime", time.Minute, time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
		last = time.Date(2079, 6, 6, 23, 59, 0, 0, time.UTC)
	case "datetimeoffset":
		typ, suffix = "datetimeoffset("+strconv.Itoa(scale)+")", "+00:00"
	}
	if c.Time.Millis {
		tick = max(tick, time.Millisecond)
	}
	from, to := t.Add(-tick), t.Add(tick)
	if from.Before(first) {
		from = first
	}
	if to.After(last) {
		to = last
	}
	// ISO 8601 with a T: read the same whatever SET DATEFORMAT or
	// the login's language say.
	digits := 7
	switch typ {
	case "datetime":
		digits = 3
	case "smalldatetime":
		digits = 0
	}
	return "CAST('" + civil(from, "T", digits) + suffix + "' AS " + typ + ")",
		"CAST('" + civil(to, "T", digits) + suffix + "' AS " + typ + ")"
}

// timeRange matches a SQL Server time key: one tick either side of d,
// within the day.
func timeRange(m *Match, c Column, d time.Duration, scale int) {
	tick := time.Microsecond
	if c.Time.Millis {
		tick = time.Millisecond
	}
	from, to := max(d-tick, 0), min(d+tick, 24*time.Hour-100*time.Nanosecond)
	typ := "time(" + strconv.Itoa(scale) + ")"
	m.Lo = "CAST('" + clockOf(from, 7) + "' AS " + typ + ")"
	m.Hi = "CAST('" + clockOf(to, 7) + "' AS " + typ + ")"
	if d < tick {
		// Midnight is also the end of the day rounded up.
		m.Expr = "(" + m.SQL() + " OR " + m.Col + " >= CAST('" + clockOf(24*time.Hour-tick, 7) + "' AS " + typ + "))"
	}
}
