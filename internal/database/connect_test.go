package database

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// A connection to a database that accepts and never answers fails within
// query_timeout even when the caller's own deadline is far off (a
// reconcile's is an hour), with either driver: go-mssqldb reads its
// pre-login answer without watching the context, and the caller stops
// waiting for it all the same.
func TestConnectingIsBoundedByTheQueryTimeout(t *testing.T) {
	addr, _ := testenv.HungListener(t)
	for driver, dsn := range map[string]string{
		config.DriverPostgres:  "postgres://u:p@" + addr + "/db?sslmode=disable",
		config.DriverSQLServer: "sqlserver://u:p@" + addr + "?database=db",
	} {
		db, err := Open(context.Background(), config.Database{Name: "frozen", Driver: driver, DSN: config.Secret(dsn), QueryTimeout: 200 * time.Millisecond, MaxOpenConns: 1})
		if err != nil {
			t.Fatal(err)
		}
		pool, _ := db.Pool()
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		done := make(chan error, 1)
		go func() { _, err := pool.ExecContext(ctx, "SELECT 1"); done <- err }()
		select {
		case err := <-done:
			if err == nil || errors.Is(ctx.Err(), context.DeadlineExceeded) {
				t.Errorf("%s: connecting to a hung database: %v, want a failure within query_timeout", driver, err)
			}
		case <-time.After(time.Minute): // generous: only tells "bounded" from "held for the caller's hour"
			t.Errorf("%s: connecting to a hung database still waits after a minute, with query_timeout 200ms", driver)
		}
		cancel()
		db.Close()
	}
}
