package rowhash

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestSplitFieldsInvertsEncodeRow(t *testing.T) {
	kinds := []Kind{KindText, KindInt, KindChar, KindUUID, KindTimestamp}
	rows := [][]Value{
		{"a|b", int64(-7), "x  ", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", time.Date(2024, 1, 2, 3, 4, 5, 123456700, time.UTC)},
		{nil, nil, nil, nil, nil},
		{"", int64(0), "", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", time.Date(9999, 12, 31, 23, 59, 59, 999999900, time.UTC)},
		{"N", int64(1), "N|", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"😀|3:x", int64(1), "é", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", time.Unix(0, 0)},
	}
	for _, r := range rows {
		enc, err := EncodeRow(kinds, r)
		if err != nil {
			t.Fatal(err)
		}
		fields, err := SplitFields(kinds, string(enc))
		if err != nil {
			t.Fatalf("%q: %v", enc, err)
		}
		var again []Value
		for i, f := range fields {
			v, err := ParseField(kinds[i], f)
			if err != nil {
				t.Fatal(err)
			}
			again = append(again, v)
		}
		enc2, err := EncodeRow(kinds, again)
		if err != nil {
			t.Fatal(err)
		}
		if string(enc2) != string(enc) {
			t.Errorf("%q split and parsed re-encodes as %q", enc, enc2)
		}
	}
	for _, bad := range []string{"", "5:ab|1|N|N|N", "N|1|N|N|N|N", "N|1|N|N"} {
		if _, err := SplitFields(kinds, bad); err == nil {
			t.Errorf("%q split without error", bad)
		}
	}
}

var castLit = regexp.MustCompile(`CAST\('([^']+)' AS ([a-z0-9()]+)\)`)

// A key read on PostgreSQL (microseconds, true, lower-case uuid) must
// find its SQL Server row (100 ns, 1, any case), and the other way round.
func TestSQLServerMatchFindsTheSourceRow(t *testing.T) {
	d := SQLServer{}
	v := time.Date(2024, 3, 31, 1, 59, 59, 999999700, time.UTC) // rounds up into the next second
	field := string(must(AppendField(nil, KindTimestamp, v)))
	m, err := d.Match(Column{Name: "at", Type: "datetime2", Scale: 7, Kind: KindTimestamp}, field)
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
	m, _ = d.Match(Column{Name: "until", Type: "datetime2", Scale: 7, Kind: KindTimestamp}, string(must(AppendField(nil, KindTimestamp, end))))
	if !strings.Contains(m.Hi, "'9999-12-31T23:59:59.9999999'") {
		t.Errorf("end of time: %s", m.SQL())
	}

	for _, tc := range []struct {
		col   Column
		field string
		want  string
	}{
		{Column{Name: "b", Type: "bit", Kind: KindBool}, "t", "[b] = 1"},
		{Column{Name: "u", Type: "uniqueidentifier", Kind: KindUUID}, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "[u] = CAST('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' AS uniqueidentifier)"},
		{Column{Name: "s", Type: "varchar", Kind: KindText}, "5:café", "[s] = CONVERT(varchar(8000), N'café')"},
		{Column{Name: "s", Type: "nvarchar", Kind: KindText}, "4:it's", "[s] = N'it''s'"},
		{Column{Name: "d", Type: "date", Kind: KindDate}, "19000", "[d] = CAST('2022-01-08' AS date)"},
		{Column{Name: "x", Type: "int", Kind: KindInt}, "N", "[x] IS NULL"},
		{Column{Name: "m", Type: "money", Kind: KindDecimal}, "-12.5", "[m] = -12.5"},
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
		{Column{Name: "at", Type: "timestamp without time zone", Kind: KindTimestamp}, "253402300800000000", `"at" = '10000-01-01 00:00:00.000000+00'`},
		{Column{Name: "u", Type: "uuid", Kind: KindUUID}, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", `"u" = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'`},
		// Text written by the sink from SQL Server holds the upper case.
		{Column{Name: "u", Type: "text", Kind: KindUUID}, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", `"u" IN ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11')`},
		{Column{Name: "c", Type: "text", Kind: KindChar, Width: 4}, "2:ab", `"c" IN ('ab', 'ab  ')`},
		{Column{Name: "c", Type: "character", Kind: KindChar, Width: 4}, "2:ab", `"c" = 'ab'`},
		{Column{Name: "b", Type: "boolean", Kind: KindBool}, "f", `"b" = false`},
		{Column{Name: "t", Type: "time without time zone", Kind: KindTime}, "0", `"t" = '00:00:00.000000'`},
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
	cols := []Column{{Name: "u", Type: "uuid", Kind: KindUUID}}
	got, err := Lookup(Postgres{}, cols, []string{"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `"u" IN ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')`; got != want {
		t.Errorf("%s\nwant %s", got, want)
	}
	two := []Column{{Name: "a", Kind: KindInt}, {Name: "s", Type: "text", Kind: KindText}}
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
