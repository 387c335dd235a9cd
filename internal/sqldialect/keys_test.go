package sqldialect

import (
	"math/rand"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash/rowhashtest"
)

var castLit = regexp.MustCompile(`CAST\('([^']+)' AS ([a-z0-9()]+)\)`)

// A key read on PostgreSQL (microseconds, true, lower-case uuid) must
// find its SQL Server row (100 ns, 1, any case), and the other way round.
func TestSQLServerMatchFindsTheSourceRow(t *testing.T) {
	d := SQLServer{}
	v := time.Date(2024, 3, 31, 1, 59, 59, 999999700, time.UTC) // rounds up into the next second
	field := string(must(rowhashtest.AppendField(nil, rowhash.KindTimestamp, v)))
	m, err := d.Match(Column{Name: "at", Type: "datetime2", Scale: 7, Kind: rowhash.KindTimestamp}, field)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := castLit.FindStringSubmatch(m.Lo), castLit.FindStringSubmatch(m.Hi)
	if lo == nil || hi == nil || lo[2] != "datetime2(7)" {
		t.Fatalf("range %s .. %s", m.Lo, m.Hi)
	}
	const layout = "2006-01-02T15:04:05.9999999"
	from, _ := time.Parse(layout, lo[1])
	to, _ := time.Parse(layout, hi[1])
	if v.Before(from) || v.After(to) {
		t.Errorf("%s .. %s does not hold the source value %s", lo[1], hi[1], v.Format(layout))
	}
	if !strings.HasPrefix(m.SQL(), "[at] BETWEEN CAST(") {
		t.Errorf("condition %s is not on the bare column", m.SQL())
	}

	// The end of time: no literal beyond 9999-12-31.
	end := time.Date(9999, 12, 31, 23, 59, 59, 999999900, time.UTC)
	m, _ = d.Match(Column{Name: "until", Type: "datetime2", Scale: 7, Kind: rowhash.KindTimestamp}, string(must(rowhashtest.AppendField(nil, rowhash.KindTimestamp, end))))
	if !strings.Contains(m.Hi, "'9999-12-31T23:59:59.9999999'") {
		t.Errorf("end of time: %s", m.SQL())
	}

	for _, tc := range []struct {
		col   Column
		field string
		want  string
	}{
		{Column{Name: "b", Type: "bit", Kind: rowhash.KindBool}, "t", "[b] = 1"},
		{Column{Name: "u", Type: "uniqueidentifier", Kind: rowhash.KindUUID}, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "[u] = CAST('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' AS uniqueidentifier)"},
		// Through the column's code page, not the database default's.
		{Column{Name: "s", Type: "varchar", Kind: rowhash.KindText, Collation: "Cyrillic_General_CI_AS"}, "6:Жук", "[s] = CONVERT(varchar(8000), N'Жук' COLLATE Cyrillic_General_CI_AS)"},
		// No collation known: the nvarchar literal, converting the column.
		{Column{Name: "s", Type: "varchar", Kind: rowhash.KindText}, "5:café", "[s] = N'café'"},
		{Column{Name: "s", Type: "varchar", Kind: rowhash.KindText, Collation: "x] = 1; --"}, "5:café", "[s] = N'café'"},
		{Column{Name: "s", Type: "nvarchar", Kind: rowhash.KindText}, "4:it's", "[s] = N'it''s'"},
		{Column{Name: "d", Type: "date", Kind: rowhash.KindDate}, "19000", "[d] = CAST('2022-01-08' AS date)"},
		{Column{Name: "x", Type: "int", Kind: rowhash.KindInt}, "N", "[x] IS NULL"},
		{Column{Name: "m", Type: "money", Kind: rowhash.KindDecimal}, "-12.5", "[m] = -12.5"},
	} {
		m, err := d.Match(tc.col, tc.field)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.SQL(); got != tc.want {
			t.Errorf("%s %q: %s, want %s", tc.col.Type, tc.field, got, tc.want)
		}
	}
}

func TestPostgresMatch(t *testing.T) {
	p := Postgres{}
	for _, tc := range []struct {
		col   Column
		field string
		want  string
	}{
		{Column{Name: "at", Type: "timestamp without time zone", Kind: rowhash.KindTimestamp}, "253402300800000000", `"at" = '10000-01-01 00:00:00.000000+00'`},
		{Column{Name: "u", Type: "uuid", Kind: rowhash.KindUUID}, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", `"u" = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'`},
		// Text written by the sink from SQL Server holds the upper case.
		{Column{Name: "u", Type: "text", Kind: rowhash.KindUUID}, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", `"u" IN ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11')`},
		{Column{Name: "c", Type: "text", Kind: rowhash.KindChar, Width: 4}, "2:ab", `"c" IN ('ab', 'ab  ')`},
		{Column{Name: "c", Type: "character", Kind: rowhash.KindChar, Width: 4}, "2:ab", `"c" = 'ab'`},
		{Column{Name: "b", Type: "boolean", Kind: rowhash.KindBool}, "f", `"b" = false`},
		{Column{Name: "t", Type: "time without time zone", Kind: rowhash.KindTime}, "0", `"t" = '00:00:00.000000'`},
	} {
		m, err := p.Match(tc.col, tc.field)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.SQL(); got != tc.want {
			t.Errorf("%s %q: %s, want %s", tc.col.Type, tc.field, got, tc.want)
		}
	}
}

func TestLookupOneColumnIsOneList(t *testing.T) {
	cols := []Column{{Name: "u", Type: "uuid", Kind: rowhash.KindUUID}}
	got, err := Lookup(Postgres{}, cols, []string{"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `"u" IN ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')`; got != want {
		t.Errorf("%s\nwant %s", got, want)
	}
	two := []Column{{Name: "a", Kind: rowhash.KindInt}, {Name: "s", Type: "text", Kind: rowhash.KindText}}
	got, err = Lookup(Postgres{}, two, []string{"1|3:x|y", "2|N"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `("a" = 1 AND "s" = 'x|y') OR ("a" = 2 AND "s" IS NULL)`; got != want {
		t.Errorf("%s\nwant %s", got, want)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// Repair filters quote temporal keys back from their style-121 text.
// Read into a datetime, "2024-01-02 03:04:05" follows the login's
// DATEFORMAT (dmy makes it 1 February, and the 13th of a month fails);
// Microsoft documents ISO 8601 with a T as read the same in every
// language. Every temporal key literal must be that form, typed as the
// column, and denote the same instant as the text it came from.
func TestSQLServerTemporalKeyLiteralIgnoresDateFormat(t *testing.T) {
	seed := time.Now().UnixNano()
	r := rand.New(rand.NewSource(seed))
	iso := regexp.MustCompile(`^CAST\(N'(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,7})?(?:[+-]\d{2}:\d{2})?)' AS (datetime|smalldatetime|datetime2\(\d\)|datetimeoffset\(\d\))\)$`)
	cols := []Column{
		{Name: "a", Type: "datetime", Kind: rowhash.KindTimestamp, Scale: 3},
		{Name: "b", Type: "smalldatetime", Kind: rowhash.KindTimestamp, Scale: 0},
		{Name: "c", Type: "datetime2", Kind: rowhash.KindTimestamp, Scale: 7},
		{Name: "d", Type: "datetimeoffset", Kind: rowhash.KindTimestampTZ, Scale: 7},
	}
	for range 500 {
		c := cols[r.Intn(len(cols))]
		v := time.Date(1900+r.Intn(8000), time.Month(1+r.Intn(12)), 1+r.Intn(28), r.Intn(24), r.Intn(60), r.Intn(60), r.Intn(1e7)*100, time.UTC)
		// Text's style 121 for this column.
		layout := "2006-01-02 15:04:05.0000000"
		switch c.Type {
		case "datetime":
			v, layout = v.Truncate(time.Millisecond), "2006-01-02 15:04:05.000"
		case "smalldatetime":
			v, layout = v.Truncate(time.Minute), "2006-01-02 15:04:05.000"
		}
		text := v.Format(layout)
		if c.Kind == rowhash.KindTimestampTZ {
			text += " +00:00"
		}
		lit, err := KeyLiteral(SQLServer{}, c, text)
		if err != nil {
			t.Fatalf("seed %d: %s %q: %v", seed, c.Type, text, err)
		}
		m := iso.FindStringSubmatch(lit)
		if m == nil {
			t.Fatalf("seed %d: %s %q: literal %s is not ISO 8601 with a T", seed, c.Type, text, lit)
		}
		back, err := time.Parse("2006-01-02T15:04:05.999999999Z07:00", m[1]+map[bool]string{true: "", false: "Z"}[c.Kind == rowhash.KindTimestampTZ])
		if err != nil || !back.Equal(v) {
			t.Fatalf("seed %d: %s %q became %s (%v)", seed, c.Type, text, lit, err)
		}
	}
	for _, tc := range []struct {
		col      Column
		in, want string
	}{
		{Column{Name: "d", Type: "datetime", Kind: rowhash.KindTimestamp}, "2024-01-02", "CAST(N'2024-01-02T00:00:00' AS datetime)"},
		{Column{Name: "d", Type: "date", Kind: rowhash.KindDate}, "2024-01-02", "CAST(N'2024-01-02' AS date)"},
		{Column{Name: "t", Type: "time", Kind: rowhash.KindTime, Scale: 3}, "03:04:05.123", "CAST(N'03:04:05.123' AS time(3))"},
		{Column{Name: "o", Type: "datetimeoffset", Kind: rowhash.KindTimestampTZ, Scale: 7}, "2024-01-02 03:04:05.1234567 -05:00", "CAST(N'2024-01-02T03:04:05.1234567-05:00' AS datetimeoffset(7))"},
		{Column{Name: "s", Type: "smalldatetime", Kind: rowhash.KindTimestamp}, "2024-01-02T03:04", "CAST(N'2024-01-02T03:04:00' AS smalldatetime)"},
	} {
		if got, err := KeyLiteral(SQLServer{}, tc.col, tc.in); err != nil || got != tc.want {
			t.Errorf("%s %q: %s, %v; want %s", tc.col.Type, tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"x' OR 1=1 --", "02/01/2024", "2024-01-02 03:04:05; DROP TABLE t", "", "2024-01-02 03:04:05.1234"} {
		if lit, err := KeyLiteral(SQLServer{}, cols[0], bad); err == nil {
			t.Errorf("%q quoted as %s, want an error naming the column", bad, lit)
		} else if !strings.Contains(err.Error(), "key column a") {
			t.Errorf("%q: %v does not name the column", bad, err)
		}
	}
}
