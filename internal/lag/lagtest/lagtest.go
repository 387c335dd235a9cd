// Package lagtest sets up what the lag reader queries, for the tests of
// the packages that read lag (internal/lag and collector/): databases
// backed by sqlmock, the MAX and MIN queries lag runs, and a table to read.
package lagtest

import (
	"regexp"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
)

// MockDB is a database called name of driver whose queries go to the
// returned mock, in any order; the pool is closed when the test ends.
func MockDB(t testing.TB, name, driver string) (*database.DB, sqlmock.Sqlmock) {
	t.Helper()
	pool, mock, err := sqlmock.New()
	if err != nil {
		t.Fatal(err)
	}
	mock.MatchExpectationsInOrder(false)
	t.Cleanup(func() { pool.Close() })
	return database.NewWithPool(config.Database{Name: name, Driver: driver, MaxOpenConns: 2, QueryTimeout: time.Second}, pool), mock
}

// ExpectMax expects one read of the newest value of column in table on
// db, whose queries go to mock, answered with v, and the check that the
// column is indexed: the statements db itself writes for its driver.
func ExpectMax(db *database.DB, mock sqlmock.Sqlmock, table, column string, v any) {
	mock.ExpectQuery(regexp.QuoteMeta(db.MaxTimeQuery(table, column))).WillReturnRows(sqlmock.NewRows([]string{"max"}).AddRow(v))
	index := `pg_index`
	if db.Driver() == config.DriverSQLServer {
		index = `sys\.index_columns`
	}
	mock.ExpectQuery(index).WillReturnRows(sqlmock.NewRows([]string{"exists"}).AddRow(true))
}

// ExpectOldestAfter expects one read, on a PostgreSQL source db, of the
// oldest value of column in table later than the newest applied change,
// answered with oldest (nil: none) and the source's clock now.
func ExpectOldestAfter(db *database.DB, mock sqlmock.Sqlmock, table, column string, now time.Time, oldest any) {
	mock.ExpectQuery(regexp.QuoteMeta(db.OldestAfterQuery(table, column))).WillReturnRows(sqlmock.NewRows([]string{"now", "min"}).AddRow(now, oldest))
}

// Source and target tables of OrdersTable, as ExpectMax takes them.
const (
	OrdersSource = "inventory.orders"
	OrdersTarget = "public.orders"
)

// OrdersTable is a table "orders" from database src (inventory.orders,
// timestamped by updated_at) to database tgt (public.orders, with the
// sink's __source_ts_ms watermark).
func OrdersTable() config.Table {
	return config.Table{
		Name:                  "orders",
		Source:                config.TableRef{Database: "src", Table: "inventory.orders"},
		Target:                config.TableRef{Database: "tgt", Table: "public.orders"},
		WatermarkColumn:       "__source_ts_ms",
		SourceTimestampColumn: "updated_at",
	}
}
