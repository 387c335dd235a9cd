// Package database opens the configured source and target databases as
// bounded connection pools, with the DSN from the config, a file, or Vault.
package database

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"  // registers the "pgx" driver
	_ "github.com/microsoft/go-mssqldb" // registers the "sqlserver" driver

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	dsnpkg "github.com/cdc-sentinel/cdc-sentinel/internal/dsn"
)

// DB is one configured database. Its pool can be swapped underneath (when
// Vault hands out new credentials), so callers fetch Pool() per use
// rather than keeping the *sql.DB.
type DB struct {
	cfg      config.Database
	pool     atomic.Pointer[sql.DB]
	endpoint atomic.Pointer[Endpoint]
	// info caches a SQL Server's version and zone once read.
	info atomic.Pointer[ServerInfo]
	// memo keeps the offset each LSN time was first seen with (see
	// lsnToUTC).
	memoMu sync.Mutex
	memo   map[string]lsnMemo
}

// Open builds the pool; it does not connect until first use, so a dead
// database fails its queries, not cdc-sentinel's start.
func Open(ctx context.Context, cfg config.Database) (*DB, error) {
	dsn, err := staticDSN(cfg)
	if err != nil {
		return nil, err
	}
	db := &DB{cfg: cfg}
	if dsn != "" {
		pool, err := db.newPool(dsn)
		if err != nil {
			return nil, err
		}
		db.pool.Store(pool)
	}
	return db, nil
}

func staticDSN(cfg config.Database) (string, error) {
	switch {
	case cfg.DSN != "":
		return cfg.DSN.Reveal(), nil
	case cfg.DSNFile != "":
		b, err := os.ReadFile(cfg.DSNFile)
		if err != nil {
			return "", fmt.Errorf("database %s: reading dsn_file: %w", cfg.Name, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", nil
}

// driverName maps the config's driver to the registered database/sql name.
func driverName(d string) string {
	if d == config.DriverPostgres {
		return "pgx"
	}
	return d
}

func (db *DB) newPool(dsn string) (*sql.DB, error) {
	ep, err := dsnpkg.Parse(db.cfg.Driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", db.cfg.Name, err)
	}
	pool, err := sql.Open(driverName(db.cfg.Driver), dsn)
	if err != nil {
		return nil, fmt.Errorf("database %s: invalid DSN for driver %s", db.cfg.Name, db.cfg.Driver)
	}
	if dc, ok := pool.Driver().(driver.DriverContext); ok {
		c, err := dc.OpenConnector(dsn)
		if err != nil {
			pool.Close()
			return nil, fmt.Errorf("database %s: invalid DSN for driver %s", db.cfg.Name, db.cfg.Driver)
		}
		pool.Close()
		pool = sql.OpenDB(boundedConnector{Connector: c, timeout: db.cfg.QueryTimeout})
	}
	pool.SetMaxOpenConns(db.cfg.MaxOpenConns)
	pool.SetMaxIdleConns(db.cfg.MaxIdleConns)
	pool.SetConnMaxLifetime(db.cfg.ConnMaxLifetime)
	db.endpoint.Store(&ep)
	return pool, nil
}

// boundedConnector gives every new connection at most the database's
// query_timeout to be made, whatever the caller's deadline: a reconcile
// runs under an hour-long one, and a database that accepts connections
// and never answers must fail its connection long before.
// go-mssqldb dials within the context but reads its pre-login answer
// without watching it, so the caller stops waiting at the deadline
// whatever the driver does; a connection the driver makes after that is
// closed as soon as it arrives.
type boundedConnector struct {
	driver.Connector
	timeout time.Duration
}

func (c boundedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	if c.timeout <= 0 {
		return c.Connector.Connect(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	type made struct {
		conn driver.Conn
		err  error
	}
	ch := make(chan made, 1)
	go func() {
		defer cancel()
		conn, err := c.Connector.Connect(ctx)
		ch <- made{conn, err}
	}()
	select {
	case m := <-ch:
		return m.conn, m.err
	case <-ctx.Done():
		go func() {
			// A driver may hand back a typed nil beside its error.
			if m := <-ch; m.err == nil && m.conn != nil {
				_ = m.conn.Close()
			}
		}()
		return nil, fmt.Errorf("connecting: %w", ctx.Err())
	}
}

// Swap replaces the pool with one for dsn. The old pool is closed only
// after a query timeout has passed: a caller that fetched it from Pool()
// just before the swap still gets to run its query, so rotating
// credentials never fails a scrape.
func (db *DB) Swap(dsn string) error {
	pool, err := db.newPool(dsn)
	if err != nil {
		return err
	}
	if old := db.pool.Swap(pool); old != nil {
		time.AfterFunc(2*db.cfg.QueryTimeout, func() { old.Close() })
	}
	return nil
}

// NewWithPool wraps an already opened pool; tests use it with go-sqlmock.
func NewWithPool(cfg config.Database, pool *sql.DB) *DB {
	if cfg.QueryTimeout == 0 {
		cfg.QueryTimeout = 5 * time.Second
	}
	db := &DB{cfg: cfg}
	db.pool.Store(pool)
	// The endpoint of a DSN written in the configuration is known
	// without opening it.
	if dsn, err := staticDSN(cfg); err == nil && dsn != "" {
		if ep, err := dsnpkg.Parse(cfg.Driver, dsn); err == nil {
			db.endpoint.Store(&ep)
		}
	}
	return db
}

// Endpoint is where a database's DSN points; used to match the database to
// the connectors that capture from it.
func (db *DB) Endpoint() Endpoint {
	if ep := db.endpoint.Load(); ep != nil {
		return *ep
	}
	return Endpoint{}
}

// Name is the configured name.
func (db *DB) Name() string { return db.cfg.Name }

// Driver is "postgres" or "sqlserver".
func (db *DB) Driver() string { return db.cfg.Driver }

// Config is the database's configuration.
func (db *DB) Config() config.Database { return db.cfg }

// ErrNoPool is returned before the first credentials arrive.
var ErrNoPool = fmt.Errorf("no credentials yet")

// Pool returns the current pool.
func (db *DB) Pool() (*sql.DB, error) {
	p := db.pool.Load()
	if p == nil {
		return nil, fmt.Errorf("database %s: %w", db.cfg.Name, ErrNoPool)
	}
	return p, nil
}

// QueryContext bounds ctx by the database's query timeout: every wait
// ends at min(query_timeout, ctx's deadline), the scrape's for a scrape.
func (db *DB) QueryContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, db.cfg.QueryTimeout)
}

// Close closes the pool.
func (db *DB) Close() error {
	if p := db.pool.Swap(nil); p != nil {
		return p.Close()
	}
	return nil
}

// WaitForPool waits up to max for a Vault-backed database's first
// credentials; a database with a static DSN has its pool at once.
func (db *DB) WaitForPool(ctx context.Context, max time.Duration) error {
	deadline := time.Now().Add(max)
	for {
		_, err := db.Pool()
		if err == nil || !errors.Is(err, ErrNoPool) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
