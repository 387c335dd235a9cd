package rowhash

import (
	"regexp"
	"strings"
	"testing"
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
	golden(t, "fields-2019.sql", b.String())
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
		case KindTimestamp, KindTimestampTZ, KindTime:
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
		if c.Kind != KindText && c.Kind != KindChar {
			continue
		}
		f := (SQLServer{}).Field(c)
		if !strings.Contains(f, "CAST(CAST([c_"+c.Type+"] AS nvarchar(max)) COLLATE Latin1_General_100_BIN2_UTF8 AS varchar(max))") {
			t.Errorf("%s: %s\ndoes not convert through nvarchar to UTF-8", c.Type, f)
		}
		if trims := strings.Contains(f, "RTRIM("); trims != (c.Kind == KindChar) {
			t.Errorf("%s (%s): trims trailing spaces: %v", c.Type, c.Kind, trims)
		}
	}
}
