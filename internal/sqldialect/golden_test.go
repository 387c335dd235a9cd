package sqldialect

import (
	"crypto/md5"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash/rowhashtest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// sqlServerColumns is one column of every SQL Server type the encoding
// supports, with the kind each is compared as.
func sqlServerColumns() []Column {
	var cols []Column
	for _, typ := range []string{"tinyint", "smallint", "int", "bigint", "decimal", "numeric", "money", "smallmoney", "bit",
		"char", "nchar", "varchar", "nvarchar", "text", "ntext", "datetime", "datetime2", "smalldatetime",
		"datetimeoffset", "date", "time", "uniqueidentifier", "binary", "varbinary"} {
		k, err := SQLServer{}.KindOf(typ)
		if err != nil {
			panic(err)
		}
		cols = append(cols, Column{Name: "c_" + typ, Type: typ, Kind: k, Scale: 7})
	}
	return cols
}

// TestSQLServerGolden pins the T-SQL the encoding generates for every
// supported type (SQL Server 2019 and later: UTF-8 collations). It has
// not been run against a live SQL Server; docs/sqlserver.md says which
// documented behaviour each part relies on.
func TestSQLServerGolden(t *testing.T) {
	d := SQLServer{}
	var b strings.Builder
	cols := sqlServerColumns()
	b.WriteString("-- Field: one canonical field per column type (NULL stays NULL)\n")
	for _, c := range cols {
		b.WriteString("-- " + c.Type + " as " + c.Kind.String() + "\n" + d.Field(c) + "\n")
	}
	b.WriteString("\n-- Hashed: the row hash of every column, keyed by the first\n")
	b.WriteString(d.Hashed("dbo.t", cols, []string{d.Encode(cols[2:3]) + " AS kenc"}, "") + "\n")
	testenv.Golden(t, "tsql/fields-2019.sql", b.String())
}

// No field may be a fixed-length character type: ISNULL(field, 'N')
// takes the field's type, so a char(36) would turn NULL into "N" and 35
// spaces, an encoding no other NULL has.
func TestSQLServerNullEncodesAlikeForEveryType(t *testing.T) {
	fixed := regexp.MustCompile(`(?i)(^|[^a-z])n?char\(\d+\)`)
	for _, c := range sqlServerColumns() {
		if f := (SQLServer{}).Field(c); fixed.MatchString(f) {
			t.Errorf("%s: field has a fixed-length type, so ISNULL would pad its NULL marker:\n%s", c.Type, f)
		}
	}
}

// DATEADD on a value near the top of its type's range fails with msg 517
// ("Adding a value to a 'datetime2' column caused an overflow"), and
// 9999-12-31 23:59:59.9999999 is the usual "valid until further notice"
// of slowly-changing dimension tables. No temporal field may shift the
// value itself.
func TestSQLServerTimestampsNeverOverflow(t *testing.T) {
	for _, c := range sqlServerColumns() {
		switch c.Kind {
		case rowhash.KindTimestamp, rowhash.KindTimestampTZ, rowhash.KindTime:
			if f := (SQLServer{}).Field(c); strings.Contains(f, "DATEADD") {
				t.Errorf("%s: %s\nmoves the value and can overflow at the end of the range", c.Type, f)
			}
		}
	}
}

// varchar in a code page (cp1252) must reach UTF-8 through nvarchar, the
// documented lossless conversion, for the same bytes as PostgreSQL.
func TestSQLServerTextGoesThroughUnicode(t *testing.T) {
	for _, c := range sqlServerColumns() {
		if c.Kind != rowhash.KindText && c.Kind != rowhash.KindChar {
			continue
		}
		f := (SQLServer{}).Field(c)
		if !strings.Contains(f, "CAST(CAST([c_"+c.Type+"] AS nvarchar(max)) COLLATE Latin1_General_100_BIN2_UTF8 AS varchar(max))") {
			t.Errorf("%s: %s\ndoes not convert through nvarchar to UTF-8", c.Type, f)
		}
		if trims := strings.Contains(f, "RTRIM("); trims != (c.Kind == rowhash.KindChar) {
			t.Errorf("%s (%s): trims trailing spaces: %v", c.Type, c.Kind, trims)
		}
	}
}

// The T-SQL that samples and looks up tables keyed by a uniqueidentifier,
// a datetime2 and a (varchar, int) pair: TABLESAMPLE reads only the
// sampled pages, and each lookup compares the bare key column with a
// literal of its own type, which an index seek serves (no conversion of
// the column, no function on it).
func TestGoldenSQLServerNonIntegerKeys(t *testing.T) {
	d := SQLServer{}
	var b strings.Builder
	for _, tc := range []struct {
		name string
		key  []Column
		vals [][]rowhash.Value
	}{
		{"uniqueidentifier", []Column{{Name: "id", Type: "uniqueidentifier", Kind: rowhash.KindUUID}},
			[][]rowhash.Value{{"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"}, {"b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12"}}},
		{"datetime2(7)", []Column{{Name: "valid_to", Type: "datetime2", Scale: 7, Kind: rowhash.KindTimestamp}},
			[][]rowhash.Value{{time.Date(9999, 12, 31, 23, 59, 59, 999999900, time.UTC)}, {time.Date(2024, 1, 2, 3, 4, 5, 123456700, time.UTC)}}},
		{"varchar, int", []Column{{Name: "code", Type: "varchar", Kind: rowhash.KindText, Collation: "Cyrillic_General_CI_AS"}, {Name: "n", Type: "int", Kind: rowhash.KindInt}},
			[][]rowhash.Value{{"café", int64(1)}, {"it's", int64(2)}}},
		{"nchar(4)", []Column{{Name: "code", Type: "nchar", Width: 4, Kind: rowhash.KindChar}},
			[][]rowhash.Value{{"ab  "}}},
	} {
		var encs []string
		kinds := make([]rowhash.Kind, len(tc.key))
		for i, c := range tc.key {
			kinds[i] = c.Kind
		}
		for _, v := range tc.vals {
			enc, err := rowhashtest.EncodeRow(kinds, v)
			if err != nil {
				t.Fatal(err)
			}
			encs = append(encs, string(enc))
		}
		cond, err := Lookup(d, tc.key, encs)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("-- lookup by " + tc.name + "\n" + cond + "\n")
	}
	b.WriteString("-- sample of a large table keyed by a uniqueidentifier\n")
	b.WriteString(d.Sample("dbo.orders", 1_000_000, 100, []string{"LOWER(CONVERT(varchar(36), [id])) AS kenc"}, "") + "\n")
	testenv.Golden(t, "tsql/keys-2019.sql", b.String())
}

// The literals a repair's filter quotes keys back with (from the text
// Dialect.Text shows): temporal keys in ISO 8601 with a T, typed as the
// column, which SET LANGUAGE and SET DATEFORMAT do not change; varchar
// keys converted through the column's own collation.
func TestGoldenSQLServerRepairLiterals(t *testing.T) {
	var b strings.Builder
	for _, tc := range []struct {
		col  Column
		text string
	}{
		{Column{Name: "at", Type: "datetime", Kind: rowhash.KindTimestamp, Scale: 3}, "2024-01-02 03:04:05.123"},
		{Column{Name: "at", Type: "smalldatetime", Kind: rowhash.KindTimestamp, Scale: 0}, "2024-01-02 03:04:00.000"},
		{Column{Name: "at", Type: "datetime2", Kind: rowhash.KindTimestamp, Scale: 7}, "2024-01-02 03:04:05.1234567"},
		{Column{Name: "at", Type: "datetimeoffset", Kind: rowhash.KindTimestampTZ, Scale: 7}, "2024-01-02 03:04:05.1234567 +01:00"},
		{Column{Name: "on", Type: "date", Kind: rowhash.KindDate}, "2024-01-02"},
		{Column{Name: "tm", Type: "time", Kind: rowhash.KindTime, Scale: 7}, "03:04:05.1234567"},
		{Column{Name: "name", Type: "nvarchar", Kind: rowhash.KindText}, "Жук"},
		{Column{Name: "name", Type: "varchar", Kind: rowhash.KindText, Collation: "Cyrillic_General_CI_AS"}, "Жук"},
	} {
		lit, err := KeyLiteral(SQLServer{}, tc.col, tc.text)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("-- " + tc.col.Type + " key " + tc.text + "\n" + (SQLServer{}).QuoteIdent(tc.col.Name) + " = " + lit + "\n")
	}
	testenv.Golden(t, "tsql/repair-literals-2019.sql", strings.TrimSuffix(b.String(), "\n"))
}

// The T-SQL of a datetime2(7) and a datetimeoffset(7) compared at
// milliseconds under each rule decideTime gives a source side: truncated
// (connect mode), through microseconds and truncated (compare.time_precision:
// ms into a timestamp(6)), through microseconds and rounded half away from
// 2000-01-01 (a timestamp(3) target). Each is one threshold on the
// value's own nanoseconds past the millisecond, as msCarry says.
func TestGoldenSQLServerMilliseconds(t *testing.T) {
	var b strings.Builder
	for _, typ := range []string{"datetime2", "datetimeoffset"} {
		k, _ := SQLServer{}.KindOf(typ)
		src := Column{Name: "at", Type: typ, Scale: 7, Kind: k}
		for _, tc := range []struct {
			what string
			tgt  Column
			path Path
		}{
			{"connect mode", Column{Type: "timestamp without time zone", Scale: 6, Kind: rowhash.KindTimestamp}, Path{Mode: ModeConnect}},
			{"compare.time_precision: ms", Column{Type: "timestamp without time zone", Scale: 6, Kind: rowhash.KindTimestamp}, Path{Precision: PrecisionMillis}},
			{"timestamp(3) target", Column{Type: "timestamp without time zone", Scale: 3, Kind: rowhash.KindTimestamp}, Path{}},
		} {
			_, sr, _, reason := decideTime(src, tc.tgt, tc.path)
			if reason != "" {
				t.Fatal(reason)
			}
			c := src
			c.Time = sr
			b.WriteString("-- " + typ + "(7), " + tc.what + ": " + describeRule(sr) + "\n" + (SQLServer{}).Field(c) + "\n")
		}
	}
	testenv.Golden(t, "tsql/millis-2019.sql", strings.TrimSuffix(b.String(), "\n"))
}

// Surplus copies on SQL Server are deleted by their hash, named as the
// first eight bytes of HASHBYTES('MD5', …) over the same encoding Hashed
// reads, in the order Hash keeps them (big-endian halves A then B).
func TestGoldenSQLServerDeleteCopies(t *testing.T) {
	cols := []Column{{Name: "OrderID", Type: "int", Kind: rowhash.KindInt}, {Name: "note", Type: "nvarchar", Kind: rowhash.KindText}}
	enc, err := rowhashtest.EncodeRow([]rowhash.Kind{rowhash.KindInt, rowhash.KindText}, []rowhash.Value{int64(7), "x"})
	if err != nil {
		t.Fatal(err)
	}
	h := rowhashtest.HashBytes(enc)
	sum := md5.Sum(enc)
	got := (SQLServer{}).DeleteCopies("dbo.orders", cols, "[OrderID] = 7", h, 2)
	if want := fmt.Sprintf("0x%X", sum[:8]); !strings.HasSuffix(got, want) {
		t.Errorf("hash literal: %s; want it to end with %s", got, want)
	}
	if !strings.Contains(got, (SQLServer{}).Encode(cols)) {
		t.Errorf("the hash is not over Hashed's encoding: %s", got)
	}
	testenv.Golden(t, "tsql/delete-copies-2019.sql", got)
}
