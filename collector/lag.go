package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
)

var (
	dbUpDesc = prometheus.NewDesc("cdc_db_up",
		"Whether the database answered a ping within its query timeout in this scrape.",
		[]string{"database"}, nil)
	tableLagDesc = prometheus.NewDesc("cdc_table_lag_seconds",
		"Commit time of the newest change at the source minus that of the newest change applied at the target; 0 when caught up, also while the source is idle. Stays constant while a stopped sink has one change pending: alert on it together with cdc_table_last_applied_timestamp_seconds.",
		[]string{"table"}, nil)
	tableLastAppliedDesc = prometheus.NewDesc("cdc_table_last_applied_timestamp_seconds",
		"Source commit time of the newest change applied at the target (max of the watermark column).",
		[]string{"table"}, nil)
)

// LagCollector reports per-table replication lag and the health of every
// configured database. Each table costs two index lookups per scrape, run
// in parallel but never more at once per database than its pool holds.
type LagCollector struct {
	tables []config.Table
	dbs    map[string]*database.DB
	sems   map[string]chan struct{}
	logger *slog.Logger

	mu sync.Mutex
	// captureInstances caches each SQL Server table's capture instance;
	// it changes only when CDC is re-enabled for the table.
	captureInstances map[string]string
	// indexChecked remembers which max() columns were checked for an
	// index, so the warning is logged once per Runtime.
	indexChecked map[string]bool
}

// NewLagCollector watches tables over the opened databases (by name).
func NewLagCollector(tables []config.Table, dbs map[string]*database.DB, logger *slog.Logger) *LagCollector {
	c := &LagCollector{
		tables: tables, dbs: dbs, logger: logger,
		sems:             map[string]chan struct{}{},
		captureInstances: map[string]string{},
		indexChecked:     map[string]bool{},
	}
	for name, db := range dbs {
		n := db.Config().MaxOpenConns
		if n <= 0 {
			n = 4
		}
		c.sems[name] = make(chan struct{}, n)
	}
	for _, t := range tables {
		if src := dbs[t.Source.Database]; src != nil && src.Driver() == config.DriverPostgres && t.SourceTimestampColumn == "" {
			logger.Info("table has no source_timestamp_column: only cdc_table_last_applied_timestamp_seconds is reported for it, not its lag", "table", t.Name)
		}
	}
	return c
}

// Name implements Collector.
func (c *LagCollector) Name() string { return "lag" }

// Collect implements Collector.
func (c *LagCollector) Collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	up := c.pingAll(ctx, ch)
	var errs []error
	var emu sync.Mutex
	var wg sync.WaitGroup
	for i := range c.tables {
		t := &c.tables[i]
		if !up[t.Target.Database] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.collectTable(ctx, t, up[t.Source.Database], ch); err != nil {
				emu.Lock()
				errs = append(errs, fmt.Errorf("table %s: %w", t.Name, err))
				emu.Unlock()
			}
		}()
	}
	wg.Wait()
	for name, ok := range up {
		if !ok {
			errs = append(errs, fmt.Errorf("database %s is down", name))
		}
	}
	return errors.Join(errs...)
}

// pingAll pings every database concurrently and reports cdc_db_up. A
// dead or hanging database costs one query timeout, once, instead of
// one per table.
func (c *LagCollector) pingAll(ctx context.Context, ch chan<- prometheus.Metric) map[string]bool {
	names := make([]string, 0, len(c.dbs))
	for n := range c.dbs {
		names = append(names, n)
	}
	sort.Strings(names)
	up := make(map[string]bool, len(names))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.dbs[n].Ping(ctx)
			if err != nil {
				c.logger.Warn("database down", "database", n, "err", err)
			}
			mu.Lock()
			up[n] = err == nil
			mu.Unlock()
			ch <- prometheus.MustNewConstMetric(dbUpDesc, prometheus.GaugeValue, boolValue(err == nil), n)
		}()
	}
	wg.Wait()
	return up
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// acquire takes one of the database's pool slots, or gives up with ctx.
func (c *LagCollector) acquire(ctx context.Context, db string) (func(), error) {
	sem := c.sems[db]
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a connection to %s: %w", db, ctx.Err())
	}
}

type sideResult struct {
	t   time.Time
	ok  bool
	err error
}

func (c *LagCollector) collectTable(ctx context.Context, t *config.Table, sourceUp bool, ch chan<- prometheus.Metric) error {
	var src, tgt sideResult
	var wg sync.WaitGroup
	wantSource := sourceUp && c.hasSourceTime(t)
	if wantSource {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src.t, src.ok, src.err = c.sourceNewest(ctx, t)
		}()
	}
	tgt.t, tgt.ok, tgt.err = c.maxTime(ctx, t.Target.Database, t.Target.Table, t.WatermarkColumn)
	wg.Wait()

	if tgt.err != nil {
		return fmt.Errorf("target: %w", tgt.err)
	}
	if tgt.ok {
		ch <- prometheus.MustNewConstMetric(tableLastAppliedDesc, prometheus.GaugeValue, seconds(tgt.t), t.Name)
	}
	switch {
	case !wantSource:
		return nil
	case src.err != nil:
		return fmt.Errorf("source: %w", src.err)
	case !src.ok:
		// No change at the source (or none left in the change table):
		// nothing is waiting to be applied.
		ch <- prometheus.MustNewConstMetric(tableLagDesc, prometheus.GaugeValue, 0, t.Name)
	case tgt.ok:
		// The same clock (the source's commit time) on both sides, so no
		// skew between hosts enters; equal newest changes give exactly 0
		// however long the source has been idle. Debezium's ts_ms has
		// millisecond resolution: a microsecond source timestamp is cut to
		// it, or an applied change would look 0.6 ms behind itself.
		lag := max(0, src.t.Truncate(time.Millisecond).Sub(tgt.t.Truncate(time.Millisecond)).Seconds())
		ch <- prometheus.MustNewConstMetric(tableLagDesc, prometheus.GaugeValue, lag, t.Name)
	}
	// Source changes but an empty target: nothing applied yet, no lag to
	// speak of; cdc_table_last_applied_timestamp_seconds is absent too.
	return nil
}

func seconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func (c *LagCollector) hasSourceTime(t *config.Table) bool {
	src := c.dbs[t.Source.Database]
	return src != nil && (src.Driver() == config.DriverSQLServer || t.SourceTimestampColumn != "")
}

// sourceNewest is the commit time of the table's newest change at the
// source: the change table's newest LSN on SQL Server, max of the
// source_timestamp_column on PostgreSQL.
func (c *LagCollector) sourceNewest(ctx context.Context, t *config.Table) (time.Time, bool, error) {
	db := c.dbs[t.Source.Database]
	if db.Driver() != config.DriverSQLServer {
		return c.maxTime(ctx, t.Source.Database, t.Source.Table, t.SourceTimestampColumn)
	}
	release, err := c.acquire(ctx, t.Source.Database)
	if err != nil {
		return time.Time{}, false, err
	}
	defer release()
	c.mu.Lock()
	ci, ok := c.captureInstances[t.Name]
	c.mu.Unlock()
	if !ok {
		if ci, err = db.CaptureInstance(ctx, t.Source.Table); err != nil {
			return time.Time{}, false, err
		}
		c.mu.Lock()
		c.captureInstances[t.Name] = ci
		c.mu.Unlock()
	}
	ts, ok, err := db.NewestChange(ctx, ci)
	if errors.Is(err, database.ErrCDCNotEnabled) {
		// The capture instance went away (CDC re-enabled under a new
		// name): look it up again next scrape.
		c.mu.Lock()
		delete(c.captureInstances, t.Name)
		c.mu.Unlock()
	}
	return ts, ok, err
}

func (c *LagCollector) maxTime(ctx context.Context, dbName, table, column string) (time.Time, bool, error) {
	release, err := c.acquire(ctx, dbName)
	if err != nil {
		return time.Time{}, false, err
	}
	defer release()
	db := c.dbs[dbName]
	ts, ok, err := db.MaxTime(ctx, table, column)
	if err == nil {
		c.checkIndex(ctx, db, table, column)
	}
	return ts, ok, err
}

// checkIndex warns once when max(column) has no index to read from: the
// lag query then scans the whole table on every scrape.
func (c *LagCollector) checkIndex(ctx context.Context, db *database.DB, table, column string) {
	key := db.Name() + "\x00" + table + "\x00" + column
	c.mu.Lock()
	done := c.indexChecked[key]
	c.indexChecked[key] = true
	c.mu.Unlock()
	if done {
		return
	}
	has, err := db.HasLeadingIndex(ctx, table, column)
	switch {
	case err != nil:
		c.mu.Lock()
		delete(c.indexChecked, key) // try again next scrape
		c.mu.Unlock()
	case !has:
		c.logger.Warn("no index leads with the column cdc-sentinel reads max() of: every scrape scans the table; create one",
			"database", db.Name(), "table", table, "column", column,
			"sql", fmt.Sprintf("CREATE INDEX %s ON %s (%s)", db.QuoteIdent("cdc_sentinel_"+strings.ReplaceAll(table, ".", "_")+"_"+column), db.QuoteTable(table), db.QuoteIdent(column)))
	}
}
