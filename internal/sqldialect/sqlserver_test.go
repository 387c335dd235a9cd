package sqldialect

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/DATA-DOG/go-sqlmock"

	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
)

// SQL Server's SQL is checked at the driver level only: no SQL Server
// runs here, so these tests pin the conversions docs/drift.md promises
// and that the catalog queries scan. It has not been run against a live
// server.
func TestSQLServerFieldConversions(t *testing.T) {
	d := SQLServer{}
	cases := []struct {
		col  Column
		want []string
	}{
		{Column{Name: "n", Type: "nvarchar", Kind: rowhash.KindText}, []string{"COLLATE Latin1_General_100_BIN2_UTF8 AS varchar(max)", "DATALENGTH("}},
		{Column{Name: "c", Type: "nchar", Kind: rowhash.KindChar}, []string{"RTRIM("}},
		{Column{Name: "m", Type: "money", Kind: rowhash.KindDecimal}, []string{"CONVERT(varchar(60), [m], 2)", "REVERSE("}},
		{Column{Name: "d", Type: "decimal", Kind: rowhash.KindDecimal}, []string{"CONVERT(varchar(60), [d])", "PATINDEX('%[^0]%'"}},
		{Column{Name: "t", Type: "datetime2", Kind: rowhash.KindTimestamp}, []string{"DATEDIFF_BIG(microsecond", "DATEPART(nanosecond, [t]) % 1000 >= 500"}},
		{Column{Name: "t", Type: "datetime", Kind: rowhash.KindTimestamp}, []string{"CAST(CAST([t] AS datetime2(3)) AS datetime2(7))"}},
		// adaptive_time_microseconds: a time(7) truncated to microseconds.
		{Column{Name: "t", Type: "time", Scale: 7, Kind: rowhash.KindTime, Time: TimeRule{Floor: true}}, []string{"CONVERT(varchar(20), DATEDIFF_BIG(microsecond, CAST('00:00' AS time(7)), CAST([t] AS time(7))) % 86400000000)"}},
		{Column{Name: "o", Type: "datetimeoffset", Kind: rowhash.KindTimestampTZ}, []string{"'1970-01-01 00:00:00 +00:00' AS datetimeoffset(7)"}},
		{Column{Name: "u", Type: "uniqueidentifier", Kind: rowhash.KindUUID}, []string{"LOWER(CONVERT(varchar(36), [u]))"}},
		{Column{Name: "b", Type: "bit", Kind: rowhash.KindBool}, []string{"WHEN 1 THEN 't' WHEN 0 THEN 'f'"}},
		{Column{Name: "x]y", Type: "int", Kind: rowhash.KindInt}, []string{"[x]]y]"}},
	}
	for _, tc := range cases {
		got := d.Field(tc.col)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s %s: %s\nlacks %s", tc.col.Type, tc.col.Name, got, w)
			}
		}
	}
	enc := d.Encode([]Column{{Name: "a", Kind: rowhash.KindInt}, {Name: "b", Kind: rowhash.KindText, Type: "nvarchar"}})
	if !strings.HasPrefix(enc, "CAST('' AS varchar(max)) + ISNULL(") || !strings.Contains(enc, " + '|' + ") {
		t.Errorf("row encoding %s", enc)
	}
	agg := d.Aggregate(d.Hashed("dbo.t", []Column{{Name: "a", Kind: rowhash.KindInt}}, []string{"1 AS bkt"}, "[a] > 0"))
	for _, w := range []string{"COUNT_BIG(*)", "SUM(CAST(a AS bigint))", "CROSS APPLY (SELECT HASHBYTES('MD5',", "CAST(SUBSTRING(x.h, 1, 4) AS int) AS a", "WHERE [a] > 0"} {
		if !strings.Contains(agg, w) {
			t.Errorf("aggregate query lacks %s:\n%s", w, agg)
		}
	}
}

func TestSQLServerDescribe(t *testing.T) {
	db, mock, err := sqlmock.New()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mock.ExpectQuery(`FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = @p1`).WithArgs("dbo", "orders").
		WillReturnRows(sqlmock.NewRows([]string{"c", "t", "p", "w", "coll", "computed", "always"}).
			AddRow("id", "int", -1, -1, "", 0, 0).AddRow("code", "NVARCHAR", -1, 20, "", 0, 0).AddRow("at", "datetime2", 7, -1, "", 0, 0).AddRow("f", "float", -1, -1, "", 0, 0))
	mock.ExpectQuery(`CONSTRAINT_TYPE = 'PRIMARY KEY'`).WithArgs("dbo", "orders").
		WillReturnRows(sqlmock.NewRows([]string{"c"}).AddRow("id").AddRow("code"))
	mock.ExpectQuery(`sys.dm_db_partition_stats`).WithArgs("dbo", "orders").
		WillReturnRows(sqlmock.NewRows([]string{"n"}).AddRow(int64(1234)))
	d, err := Describe(context.Background(), Side{DB: db, Dialect: SQLServer{}, Table: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Columns) != 4 || d.Columns[1].Kind != rowhash.KindText || d.Columns[1].Type != "nvarchar" || d.Columns[2].Scale != 7 || d.Columns[1].Width != 20 {
		t.Errorf("columns %+v", d.Columns)
	}
	if d.Columns[3].Kind != rowhash.KindInvalid {
		t.Errorf("float described as %s, want unsupported", d.Columns[3].Kind)
	}
	if strings.Join(d.Key, ",") != "id,code" || d.EstRows != 1234 {
		t.Errorf("key %v, estimate %d", d.Key, d.EstRows)
	}
	if err := mock.ExpectationsWereMet(); err != nil {
		t.Fatal(err)
	}
}

// A primary key whose read is cut short fails the description: part of
// a composite key would make rows told apart by the rest look alike.
func TestDescribeFailsOnAKeyReadCutShort(t *testing.T) {
	db, mock, err := sqlmock.New()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mock.ExpectQuery(`FROM INFORMATION_SCHEMA.COLUMNS`).WithArgs("dbo", "orders").
		WillReturnRows(sqlmock.NewRows([]string{"c", "t", "p", "w", "coll", "computed", "always"}).
			AddRow("id", "int", -1, -1, "", 0, 0).AddRow("line", "int", -1, -1, "", 0, 0))
	mock.ExpectQuery(`CONSTRAINT_TYPE = 'PRIMARY KEY'`).WithArgs("dbo", "orders").
		WillReturnRows(sqlmock.NewRows([]string{"c"}).AddRow("id").AddRow("line").RowError(1, errors.New("connection reset")))
	_, err = Describe(context.Background(), Side{DB: db, Dialect: SQLServer{}, Table: "orders"})
	if err == nil || err.Error() != "describe orders: primary key: connection reset" {
		t.Fatalf("got %v, want the primary key's read error", err)
	}
}

// A float column is refused with a message naming it and the way out.
func TestPlanRejectsUnsupportedColumn(t *testing.T) {
	_, err := planOnSQLServer(t, [][]any{{"id", "int", -1, -1, "", 0, 0}, {"score", "float", -1, -1, "", 0, 0}}, "id", PlanOptions{})
	if err == nil || !strings.Contains(err.Error(), `"score"`) || !strings.Contains(err.Error(), "ignore_columns") {
		t.Fatalf("error %v: want one naming score and ignore_columns", err)
	}
}

// planOnSQLServer plans dbo.t against itself on a mocked SQL Server 2019
// whose catalog describes cols (name, type, precision, width, collation,
// is computed, generated-always type) keyed by key.
func planOnSQLServer(t *testing.T, cols [][]any, key string, o PlanOptions) (*Plan, error) {
	t.Helper()
	db, mock, err := sqlmock.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	mock.MatchExpectationsInOrder(false)
	for range 2 {
		expectVersion(mock, 15, "RTM", 150)
		rows := sqlmock.NewRows([]string{"c", "t", "p", "w", "coll", "computed", "always"})
		for _, c := range cols {
			rows.AddRow(toDriverValues(c)...)
		}
		mock.ExpectQuery(`COLUMNPROPERTY\(.*'IsComputed'.*'GeneratedAlwaysType'`).WillReturnRows(rows)
		keys := sqlmock.NewRows([]string{"c"})
		if key != "" {
			keys.AddRow(key)
		}
		mock.ExpectQuery(`PRIMARY KEY`).WillReturnRows(keys)
		mock.ExpectQuery(`dm_db_partition_stats`).WillReturnRows(sqlmock.NewRows([]string{"n"}).AddRow(int64(1)))
	}
	s := Side{DB: db, Dialect: SQLServer{}, Table: "dbo.t"}
	return NewPlan(context.Background(), s, s, o)
}

func toDriverValues(c []any) []driver.Value {
	out := make([]driver.Value, len(c))
	for i, v := range c {
		out[i] = v
	}
	return out
}

// The key list is one parameter split on the server, so the statement is
// the same for every sample.
func TestSQLServerIntInBindsOneParameter(t *testing.T) {
	db, mock, err := sqlmock.New()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d := SQLServer{}
	cond, arg := d.IntIn("id", []int64{3, -1, 42})
	q := d.Hashed("dbo.t", []Column{{Name: "id", Kind: rowhash.KindInt}}, []string{"[id] AS k0"}, cond)
	if !strings.Contains(q, "WHERE [id] IN (SELECT CAST(value AS bigint) FROM STRING_SPLIT(@p1, ','))") {
		t.Errorf("query %s", q)
	}
	mock.ExpectQuery(`STRING_SPLIT\(@p1, ','\)`).WithArgs("3,-1,42").
		WillReturnRows(sqlmock.NewRows([]string{"k0", "a", "b"}).AddRow(int64(3), int64(1), int64(2)))
	rows, err := db.QueryContext(context.Background(), q, arg)
	if err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if err := mock.ExpectationsWereMet(); err != nil {
		t.Error(err)
	}
	if c, a := (Postgres{}).IntIn("id", []int64{1}); c != `"id" = ANY($1::int8[])` || fmt.Sprint(a) != "[1]" {
		t.Errorf("postgres: %s %v", c, a)
	}
}

// Columns SQL Server writes itself never reach the target as the source
// holds them: change data capture stores NULL for a computed column
// ("Changes to computed columns are not tracked"), a rowversion is the
// source database's own counter, and a temporal table's period end of
// 9999-12-31 23:59:59.9999999 does not fit io.debezium.time.NanoTimestamp
// (adaptive mode, datetime2(7)). They are left out by themselves, each
// with its reason in the plan (and so in every report), not failed nor
// counted as changes; a period end that travels (connect mode:
// milliseconds) is compared.
func TestPlanLeavesOutColumnsTheEngineWrites(t *testing.T) {
	for _, tc := range []struct {
		mode     string
		compared []string
		left     []string
	}{
		{ModeAdaptive, []string{"id", "name", "valid_from"}, []string{"total", "rv", "valid_to"}},
		{ModeConnect, []string{"id", "name", "valid_from", "valid_to"}, []string{"total", "rv"}},
	} {
		p, err := planOnSQLServer(t, [][]any{
			{"id", "int", -1, -1, "", 0, 0},
			{"name", "varchar", -1, 40, "Cyrillic_General_CI_AS", 0, 0},
			{"total", "decimal", -1, -1, "", 1, 0},
			{"rv", "timestamp", -1, -1, "", 0, 0},
			{"valid_from", "datetime2", 7, -1, "", 0, 1},
			{"valid_to", "datetime2", 7, -1, "", 0, 2},
		}, "id", PlanOptions{Path: func(context.Context) (Path, error) { return Path{Mode: tc.mode}, nil }})
		if err != nil {
			t.Fatalf("%s: %v", tc.mode, err)
		}
		var compared, left []string
		for _, c := range p.SourceCols {
			compared = append(compared, c.Name)
		}
		for _, e := range p.NotComparable {
			left = append(left, e.Column)
			if e.Reason == "" {
				t.Errorf("%s: %s left out without a reason", tc.mode, e.Column)
			}
		}
		if strings.Join(compared, ",") != strings.Join(tc.compared, ",") || strings.Join(left, ",") != strings.Join(tc.left, ",") {
			t.Errorf("%s: compared %v, left out %v; want %v and %v", tc.mode, compared, left, tc.compared, tc.left)
		}
		if p.SourceCols[1].Collation != "Cyrillic_General_CI_AS" {
			t.Errorf("collation not read: %+v", p.SourceCols[1])
		}
	}
}

// A key the engine writes itself cannot be compared: refused, naming it.
func TestPlanRefusesAComputedKey(t *testing.T) {
	_, err := planOnSQLServer(t, [][]any{{"k", "int", -1, -1, "", 1, 0}, {"v", "int", -1, -1, "", 0, 0}}, "k", PlanOptions{})
	if err == nil || !strings.Contains(err.Error(), `"k"`) || !strings.Contains(err.Error(), "computed") {
		t.Fatalf("error %v: want one naming the computed key k", err)
	}
}

// A three-part name (database.schema.table, as data collections name
// tables) is the schema and table of that database: its catalog views
// are read there, not in the login's database as schema "ERP".
func TestSQLServerDescribeThreePartName(t *testing.T) {
	db, mock, err := sqlmock.New()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mock.ExpectQuery(`OBJECT_ID\(N'\[ERP\]\.' \+ QUOTENAME\(TABLE_SCHEMA\).*FROM \[ERP\]\.INFORMATION_SCHEMA\.COLUMNS WHERE`).WithArgs("dbo", "orders").
		WillReturnRows(sqlmock.NewRows([]string{"c", "t", "p", "w", "coll", "computed", "always"}).AddRow("id", "int", -1, -1, "", 0, 0))
	mock.ExpectQuery(`FROM \[ERP\]\.INFORMATION_SCHEMA\.TABLE_CONSTRAINTS tc\s+JOIN \[ERP\]\.INFORMATION_SCHEMA\.KEY_COLUMN_USAGE`).WithArgs("dbo", "orders").
		WillReturnRows(sqlmock.NewRows([]string{"c"}).AddRow("id"))
	mock.ExpectQuery(`FROM \[ERP\]\.sys\.dm_db_partition_stats\s+WHERE object_id = OBJECT_ID\(N'\[ERP\]\.' \+ QUOTENAME\(@p1\)`).WithArgs("dbo", "orders").
		WillReturnRows(sqlmock.NewRows([]string{"n"}).AddRow(int64(7)))
	d, err := Describe(context.Background(), Side{DB: db, Dialect: SQLServer{}, Table: "ERP.dbo.orders"})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Columns) != 1 || strings.Join(d.Key, ",") != "id" || d.EstRows != 7 {
		t.Errorf("described %+v", d)
	}
	if q := (SQLServer{}).QuoteTable("ERP.dbo.orders"); q != "[ERP].[dbo].[orders]" {
		t.Errorf("quoted %s", q)
	}
	if err := mock.ExpectationsWereMet(); err != nil {
		t.Fatal(err)
	}
}

// A table without a primary key is keyed as its events are: by the
// source connector's message.key.columns (the path's MessageKey), which
// the sink keys the target rows by; with neither, the error says both
// ways out.
func TestPlanKeysAKeylessTableByTheMessageKey(t *testing.T) {
	cols := [][]any{{"order_no", "int", -1, -1, "", 0, 0}, {"line", "int", -1, -1, "", 0, 0}, {"qty", "int", -1, -1, "", 0, 0}}
	p, err := planOnSQLServer(t, cols, "", PlanOptions{Path: func(context.Context) (Path, error) {
		return Path{MessageKey: []string{"order_no", "line"}}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.KeyNames(), ","); got != "order_no,line" {
		t.Errorf("key %s, want order_no,line", got)
	}
	_, err = planOnSQLServer(t, cols, "", PlanOptions{})
	if err == nil || !strings.Contains(err.Error(), "tables[].key") || !strings.Contains(err.Error(), "message.key.columns") {
		t.Errorf("error %v: want one naming tables[].key and message.key.columns", err)
	}
}
