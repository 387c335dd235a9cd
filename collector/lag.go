package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/lag"
)

var (
	dbUpDesc = prometheus.NewDesc("cdc_db_up",
		"Whether the database answered a ping within its query timeout in this scrape.",
		[]string{"database"}, nil)
	tableLagDesc = prometheus.NewDesc("cdc_table_lag_seconds",
		"While a change is pending, the age of the oldest source change the target has not applied, on the source database's clock: it grows while the sink is stuck, even when nothing new arrives. Exactly 0 when caught up, also while the source is idle.",
		[]string{"table"}, nil)
	tableLastAppliedDesc = prometheus.NewDesc("cdc_table_last_applied_timestamp_seconds",
		"Source commit time of the newest change applied at the target (max of the watermark column).",
		[]string{"table"}, nil)
)

// LagCollector reports per-table replication lag, as internal/lag
// measures it, and the health of every configured database.
type LagCollector struct {
	tables []config.Table
	dbs    map[string]*database.DB
	reader *lag.Reader
	logger *slog.Logger
}

// NewLagCollector watches tables over the opened databases (by name),
// reading their lag with reader.
func NewLagCollector(tables []config.Table, dbs map[string]*database.DB, reader *lag.Reader, logger *slog.Logger) *LagCollector {
	for _, t := range tables {
		if src := dbs[t.Source.Database]; src != nil && !reader.HasSourceTime(t) {
			logger.Info("table has no source_timestamp_column: only cdc_table_last_applied_timestamp_seconds is reported for it, not its lag", "table", t.Name)
		}
	}
	return &LagCollector{tables: tables, dbs: dbs, reader: reader, logger: logger}
}

// Name implements Collector.
func (c *LagCollector) Name() string { return "lag" }

// Collect implements Collector.
func (c *LagCollector) Collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	pings := c.pingAll(ctx, ch)
	var errs []error
	var emu sync.Mutex
	var wg sync.WaitGroup
	for i := range c.tables {
		t := &c.tables[i]
		tp, sp := pings[t.Target.Database], pings[t.Source.Database]
		if tp == nil || sp == nil {
			continue // not a configured database: refused by the config
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A table waits for its own databases only: a hanging one
			// elsewhere delays nothing here.
			if !tp.wait(ctx) {
				return // the target's cdc_db_up 0 says why
			}
			if err := c.collectTable(ctx, t, func() bool { return sp.wait(ctx) }, ch); err != nil {
				emu.Lock()
				errs = append(errs, fmt.Errorf("table %s: %w", t.Name, err))
				emu.Unlock()
			}
		}()
	}
	wg.Wait()
	// Every ping ends by ctx's deadline (Ping bounds itself by it), and
	// must have sent its cdc_db_up before Collect returns and ch closes.
	for _, name := range sortedNames(pings) {
		p := pings[name]
		<-p.done
		if !p.up {
			errs = append(errs, fmt.Errorf("database %s is down", name))
		}
	}
	return errors.Join(errs...)
}

// dbPing is one database's ping in this scrape.
type dbPing struct {
	done chan struct{}
	up   bool
}

// wait returns whether the database answered; it gives up (false) at
// ctx's end.
func (p *dbPing) wait(ctx context.Context) bool {
	select {
	case <-p.done:
		return p.up
	case <-ctx.Done():
		return false
	}
}

// pingAll pings every database concurrently, each within min(its query
// timeout, the scrape's remaining budget), and reports cdc_db_up as each
// answers or gives up. A dead or hanging database costs one wait, once,
// and only the tables that use it wait for it.
func (c *LagCollector) pingAll(ctx context.Context, ch chan<- prometheus.Metric) map[string]*dbPing {
	pings := make(map[string]*dbPing, len(c.dbs))
	for n := range c.dbs {
		pings[n] = &dbPing{done: make(chan struct{})}
	}
	for n, p := range pings {
		go func() {
			err := c.dbs[n].Ping(ctx)
			if err != nil {
				c.logger.Warn("database down", "database", n, "err", err)
			}
			p.up = err == nil
			ch <- prometheus.MustNewConstMetric(dbUpDesc, prometheus.GaugeValue, boolValue(err == nil), n)
			close(p.done)
		}()
	}
	return pings
}

func sortedNames(m map[string]*dbPing) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (c *LagCollector) collectTable(ctx context.Context, t *config.Table, sourceUp func() bool, ch chan<- prometheus.Metric) error {
	rd, err := c.reader.Read(ctx, *t, sourceUp)
	if rd.Applied {
		ch <- prometheus.MustNewConstMetric(tableLastAppliedDesc, prometheus.GaugeValue, seconds(rd.LastApplied), t.Name)
	}
	if err != nil {
		return err
	}
	// Source changes but an empty target (rd.Waiting): nothing applied
	// yet, no lag to speak of; cdc_table_last_applied_timestamp_seconds is
	// absent too.
	if rd.Known {
		ch <- prometheus.MustNewConstMetric(tableLagDesc, prometheus.GaugeValue, rd.Lag.Seconds(), t.Name)
	}
	return nil
}

func seconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
