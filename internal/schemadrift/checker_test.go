package schemadrift

import (
	"context"
	"errors"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

func mockDB(t *testing.T, name, driver string) (*database.DB, sqlmock.Sqlmock) {
	t.Helper()
	pool, mock, err := sqlmock.New(sqlmock.QueryMatcherOption(sqlmock.QueryMatcherEqual))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := mock.ExpectationsWereMet(); err != nil {
			t.Error(err)
		}
		pool.Close()
	})
	return database.NewWithPool(config.Database{Name: name, Driver: driver, QueryTimeout: time.Second}, pool), mock
}

func columnRows(specs ...any) *sqlmock.Rows {
	rows := sqlmock.NewRows([]string{"name", "type", "len", "prec", "scale", "tprec"})
	for i := 0; i < len(specs); i += 2 {
		rows.AddRow(specs[i], specs[i+1], -1, -1, -1, -1)
	}
	return rows
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// A table is read at most once per interval, scrapes in between serve
// the cached result; a target that fails affects only its own table,
// which keeps its last result with the error.
func TestCheckerCachesPerIntervalAndIsolatesFailures(t *testing.T) {
	src, srcMock := mockDB(t, "source", driverPostgres)
	tgt, tgtMock := mockDB(t, "target", driverPostgres)
	q := PostgresColumnsQuery
	expect := func(m sqlmock.Sqlmock, table string, rows *sqlmock.Rows) {
		m.ExpectQuery(q).WithArgs("public", table).WillReturnRows(rows)
	}
	// First round: both tables read; orders' target lacks a column.
	srcMock.MatchExpectationsInOrder(false)
	tgtMock.MatchExpectationsInOrder(false)
	expect(srcMock, "customers", columnRows("id", "integer"))
	expect(tgtMock, "customers", columnRows("id", "integer"))
	expect(srcMock, "orders", columnRows("id", "integer", "note", "text"))
	expect(tgtMock, "orders", columnRows("id", "integer"))
	clock := &fakeClock{now: time.Unix(1700000000, 0)}
	c := NewChecker([]Table{
		{Name: "customers", Source: src, Target: tgt, SourceTable: "customers", TargetTable: "customers"},
		{Name: "orders", Source: src, Target: tgt, SourceTable: "orders", TargetTable: "orders"},
	}, Options{Interval: time.Minute, Now: clock.Now})
	res := c.Check(context.Background())
	if n := res["orders"].Counts()[MissingInTarget]; n != 1 || res["customers"].Err != nil || len(res["customers"].Mismatches) != 0 {
		t.Fatalf("first check: %+v", res)
	}
	// Within the interval nothing is read (sqlmock fails on an
	// unexpected query).
	clock.Add(30 * time.Second)
	if res := c.Check(context.Background()); !res["orders"].CheckedAt.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("within the interval the result was not the cached one: %+v", res["orders"])
	}
	// After it, the target of orders fails: orders keeps its last
	// result with the error, customers is checked afresh.
	clock.Add(31 * time.Second)
	expect(srcMock, "customers", columnRows("id", "integer"))
	expect(tgtMock, "customers", columnRows("id", "integer"))
	expect(srcMock, "orders", columnRows("id", "integer", "note", "text"))
	tgtMock.ExpectQuery(q).WithArgs("public", "orders").WillReturnError(errors.New("connection refused"))
	res = c.Check(context.Background())
	if r := res["orders"]; r.Err == nil || r.Counts()[MissingInTarget] != 1 || !r.CheckedAt.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("orders after a failed check: %+v, want the last result with the error", r)
	}
	if r := res["customers"]; r.Err != nil || !r.CheckedAt.Equal(clock.Now()) {
		t.Errorf("customers was held up by orders' failure: %+v", r)
	}
}

// The SQL Server catalog reads, as sent to the driver: a three-part name
// reads its own database's views, OBJECT_ID's argument is quoted, and the
// newest capture instance is the one compared.
func TestSQLServerCatalogQueries(t *testing.T) {
	db, mock := mockDB(t, "erp", driverSQLServer)
	pool, _ := db.Pool()
	mock.ExpectQuery(SQLServerColumnsQuery("[erp].")).WithArgs("dbo", "customers").
		WillReturnRows(sqlmock.NewRows([]string{"n", "t", "l", "p", "s", "tp"}).
			AddRow("id", "INT", -1, 10, 0, -1).AddRow("email", "NVARCHAR", 100, -1, -1, -1).AddRow("at", "datetime2", -1, -1, -1, 7))
	cols, err := ReadColumns(context.Background(), pool, driverSQLServer, "erp.dbo.customers")
	if err != nil || len(cols) != 3 || cols[1] != (Column{Name: "email", Type: "nvarchar", Length: 100, Precision: -1, Scale: -1, TimePrecision: -1}) {
		t.Fatalf("columns %+v, %v", cols, err)
	}
	mock.ExpectQuery(SQLServerCapturedColumnsQuery("")).WithArgs("[dbo].[odd]]name]").
		WillReturnRows(sqlmock.NewRows([]string{"ci", "c"}).
			AddRow("dbo_odd_v2", "id").AddRow("dbo_odd_v2", "email").AddRow("dbo_odd_v2", "added").
			AddRow("dbo_odd", "id").AddRow("dbo_odd", "email"))
	ci, captured, ok, err := ReadCaptured(context.Background(), pool, "dbo.odd]name")
	if err != nil || !ok || ci != "dbo_odd_v2" || len(captured) != 3 {
		t.Errorf("capture instance %q %v %v %v, want the newest, dbo_odd_v2, with 3 columns", ci, captured, ok, err)
	}
	mock.ExpectQuery(SQLServerCapturedColumnsQuery("")).WithArgs("[dbo].[plain]").WillReturnRows(sqlmock.NewRows([]string{"ci", "c"}))
	if _, _, ok, err := ReadCaptured(context.Background(), pool, "plain"); ok || err != nil {
		t.Errorf("a table without a capture instance: ok %v err %v", ok, err)
	}
	mock.ExpectQuery(SQLServerColumnsQuery("")).WithArgs("dbo", "missing").WillReturnRows(sqlmock.NewRows([]string{"n", "t", "l", "p", "s", "tp"}))
	if _, err := ReadColumns(context.Background(), pool, driverSQLServer, "missing"); err == nil || !regexp.MustCompile(`not found`).MatchString(err.Error()) {
		t.Errorf("a missing table: %v, want an error saying it is not found", err)
	}
}

// The T-SQL sent to SQL Server, written from Microsoft's documentation
// of INFORMATION_SCHEMA.COLUMNS, cdc.change_tables and
// cdc.captured_columns, is reviewed as a file.
func TestSQLServerCatalogQueriesGolden(t *testing.T) {
	testenv.Golden(t, "tsql/columns.sql", SQLServerColumnsQuery("[erp]."))
	testenv.Golden(t, "tsql/captured_columns.sql", SQLServerCapturedColumnsQuery("[erp]."))
}
