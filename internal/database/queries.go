package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

// Dialect is the SQL dialect of the database's driver: the one place
// identifiers are quoted and key ranges read for it.
func (db *DB) Dialect() sqldialect.Dialect {
	if db.cfg.Driver == config.DriverSQLServer {
		return sqldialect.SQLServer{}
	}
	return sqldialect.Postgres{}
}

// QuoteTable quotes a possibly qualified table name ("schema.table") for
// the database's dialect, so configured names cannot inject SQL.
func (db *DB) QuoteTable(name string) string { return db.Dialect().QuoteTable(name) }

// QuoteIdent quotes one identifier for the database's dialect.
func (db *DB) QuoteIdent(id string) string { return db.Dialect().QuoteIdent(id) }

// MaxTimeQuery is the statement NewestTime runs. MAX over a column that leads
// a B-tree index is answered from the index's end (PostgreSQL's min/max
// optimisation, SQL Server's backward index seek) and so costs the same
// on ten rows and on a billion. Without such an index it scans the table.
func (db *DB) MaxTimeQuery(table, column string) string {
	return "SELECT MAX(" + db.QuoteIdent(column) + ") FROM " + db.QuoteTable(table)
}

// ColumnTime is a value read from a time column, and whether the column
// holds epoch milliseconds rather than a timestamp: a bound compared
// with the column must be of the column's own kind to keep its index.
type ColumnTime struct {
	Time   time.Time
	Millis bool
}

// NewestTime returns the greatest value of column in table as a time,
// and the kind of the column. The column may hold a timestamp (with or
// without time zone; without is read as UTC) or an integer of
// milliseconds since the epoch (Debezium's ts_ms). ok is false when the
// table is empty.
func (db *DB) NewestTime(ctx context.Context, table, column string) (ColumnTime, bool, error) {
	pool, err := db.Pool()
	if err != nil {
		return ColumnTime{}, false, err
	}
	ctx, cancel := db.QueryContext(ctx)
	defer cancel()
	var v any
	if err := pool.QueryRowContext(ctx, db.MaxTimeQuery(table, column)).Scan(&v); err != nil {
		return ColumnTime{}, false, db.queryError(fmt.Sprintf("max(%s) of %s", column, table), err)
	}
	t, ok, err := timeValue(v)
	return ColumnTime{Time: t, Millis: isMillis(v)}, ok, err
}

// OldestAfterQuery is the statement OldestAfter runs (PostgreSQL). MIN
// over a range of a column that leads a B-tree index is answered by the
// first index entry at or after the bound, as cheap as MaxTimeQuery.
// now() is the source's clock, which the age is measured on.
func (db *DB) OldestAfterQuery(table, column string) string {
	return "SELECT now(), MIN(" + db.QuoteIdent(column) + ") FROM " + db.QuoteTable(table) + " WHERE " + db.QuoteIdent(column) + " >= $1"
}

// OldestAfter returns the smallest value of column in table at or after
// from, of the kind of column from was read from, and the database's
// clock read in the same statement; ok is false when no value is that
// late.
func (db *DB) OldestAfter(ctx context.Context, table, column string, from ColumnTime) (now, oldest time.Time, ok bool, err error) {
	pool, err := db.Pool()
	if err != nil {
		return time.Time{}, time.Time{}, false, err
	}
	ctx, cancel := db.QueryContext(ctx)
	defer cancel()
	var bound any = from.Time.UTC()
	if from.Millis {
		bound = from.Time.UnixMilli()
	}
	var v any
	if err := pool.QueryRowContext(ctx, db.OldestAfterQuery(table, column), bound).Scan(&now, &v); err != nil {
		return time.Time{}, time.Time{}, false, db.queryError(fmt.Sprintf("oldest %s of %s after %s", column, table, from.Time.UTC().Format(time.RFC3339Nano)), err)
	}
	oldest, ok, err = timeValue(v)
	return now, oldest, ok, err
}

// isMillis tells whether a driver value of a time column is a number of
// epoch milliseconds.
func isMillis(v any) bool {
	switch v.(type) {
	case int64, int32, float64, []byte, string:
		return true
	}
	return false
}

// timeValue converts what the drivers return for a timestamp or epoch
// milliseconds column.
func timeValue(v any) (time.Time, bool, error) {
	switch x := v.(type) {
	case nil:
		return time.Time{}, false, nil
	case time.Time:
		return x, true, nil
	case int64:
		return time.UnixMilli(x), true, nil
	case int32:
		return time.UnixMilli(int64(x)), true, nil
	case float64:
		return msToTime(x), true, nil
	case []byte:
		return parseMillis(string(x))
	case string:
		return parseMillis(x)
	}
	return time.Time{}, false, fmt.Errorf("unsupported column type %T: want a timestamp or epoch milliseconds", v)
}

func parseMillis(s string) (time.Time, bool, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("value %q is neither a timestamp nor epoch milliseconds", s)
	}
	return msToTime(f), true, nil
}

func msToTime(ms float64) time.Time {
	sec, frac := math.Modf(ms / 1000)
	return time.Unix(int64(sec), int64(frac*1e9))
}

// HasLeadingIndex reports whether some index of table has column as its
// first key column, which NewestTime needs to be an index lookup.
func (db *DB) HasLeadingIndex(ctx context.Context, table, column string) (bool, error) {
	pool, err := db.Pool()
	if err != nil {
		return false, err
	}
	ctx, cancel := db.QueryContext(ctx)
	defer cancel()
	var q string
	if db.cfg.Driver == config.DriverSQLServer {
		q = `SELECT CASE WHEN EXISTS (
  SELECT 1 FROM sys.index_columns ic
  JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
  WHERE ic.object_id = OBJECT_ID(@p1) AND ic.key_ordinal = 1 AND c.name = @p2) THEN 1 ELSE 0 END`
	} else {
		q = `SELECT EXISTS (
  SELECT 1 FROM pg_index i
  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
  WHERE i.indrelid = $1::regclass AND a.attname = $2)`
	}
	var has bool
	if err := pool.QueryRowContext(ctx, q, db.QuoteTable(table), column).Scan(&has); err != nil {
		return false, db.queryError("looking up indexes of "+table, err)
	}
	return has, nil
}

// Ping checks that the database answers, within the query timeout.
func (db *DB) Ping(ctx context.Context) error {
	pool, err := db.Pool()
	if err != nil {
		return err
	}
	ctx, cancel := db.QueryContext(ctx)
	defer cancel()
	if err := pool.PingContext(ctx); err != nil {
		return db.queryError("ping", err)
	}
	return nil
}

// Errors a query can be classified as, for errors.Is.
var (
	// ErrPermission: the login lacks a permission the query needs.
	ErrPermission = errors.New("permission denied")
	// ErrCDCNotEnabled: change data capture is not enabled for the
	// database or the table.
	ErrCDCNotEnabled = errors.New("change data capture not enabled")
	// ErrTimeout: the query ran past the query timeout or the scrape's
	// deadline.
	ErrTimeout = errors.New("timed out")
)

// queryError names the database and what was being done, and classifies
// the driver's error. Driver messages do not carry the DSN.
func (db *DB) queryError(what string, err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return fmt.Errorf("database %s: %s: %w (query_timeout %s, or the scrape's deadline when sooner): %w", db.cfg.Name, what, ErrTimeout, db.cfg.QueryTimeout, err)
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("database %s: %s: %w", db.cfg.Name, what, err)
	}
	if kind := classify(err); kind != nil {
		return fmt.Errorf("database %s: %s: %w: %w", db.cfg.Name, what, kind, err)
	}
	return fmt.Errorf("database %s: %s: %w", db.cfg.Name, what, err)
}
