package schemadrift

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database/databasetest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

func mockDB(t *testing.T, name, driver string) (*database.DB, sqlmock.Sqlmock) {
	t.Helper()
	pool, mock := databasetest.Mock(t)
	return database.NewWithPool(config.Database{Name: name, Driver: driver, QueryTimeout: time.Second}, pool), mock
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
// the cached result; a target database that fails affects only its own
// tables, which keep their last result with the error. Each database's
// catalog is read once per round, whatever the number of its tables.
func TestCheckerCachesPerIntervalAndIsolatesFailures(t *testing.T) {
	src, srcMock := mockDB(t, "source", "postgres")
	tgtA, tgtAMock := mockDB(t, "target-a", "postgres")
	tgtB, tgtBMock := mockDB(t, "target-b", "postgres")
	both := sqldialect.PostgresTablesColumnsQuery("('public', 'customers'), ('public', 'orders')")
	one := func(table string) string { return sqldialect.PostgresTablesColumnsQuery("('public', '" + table + "')") }
	rows := func(specs ...string) *sqlmock.Rows {
		r := sqlmock.NewRows([]string{"schema", "table", "name", "type", "len", "prec", "scale", "tprec"})
		for i := 0; i+2 < len(specs); i += 3 {
			r.AddRow("public", specs[i], specs[i+1], specs[i+2], -1, -1, -1, -1)
		}
		return r
	}
	round := func(ordersTarget error) {
		srcMock.ExpectQuery(both).WillReturnRows(rows("customers", "id", "integer", "orders", "id", "integer", "orders", "note", "text"))
		tgtAMock.ExpectQuery(one("customers")).WillReturnRows(rows("customers", "id", "integer"))
		if ordersTarget != nil {
			tgtBMock.ExpectQuery(one("orders")).WillReturnError(ordersTarget)
		} else {
			tgtBMock.ExpectQuery(one("orders")).WillReturnRows(rows("orders", "id", "integer"))
		}
	}
	round(nil)
	clock := &fakeClock{now: time.Unix(1700000000, 0)}
	c := NewChecker([]Table{
		{Name: "customers", Source: src, Target: tgtA, SourceTable: "customers", TargetTable: "customers"},
		{Name: "orders", Source: src, Target: tgtB, SourceTable: "orders", TargetTable: "orders"},
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
	round(errors.New("connection refused"))
	res = c.Check(context.Background())
	if r := res["orders"]; r.Err == nil || r.Counts()[MissingInTarget] != 1 || !r.CheckedAt.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("orders after a failed check: %+v, want the last result with the error", r)
	}
	if r := res["customers"]; r.Err != nil || !r.CheckedAt.Equal(clock.Now()) {
		t.Errorf("customers was held up by orders' failure: %+v", r)
	}
}
