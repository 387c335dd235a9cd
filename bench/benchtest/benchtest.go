// Package benchtest is what the scrape benchmarks of bench/ share: a
// scrape through the Exporter as /metrics runs it, a Connect cluster with
// one Debezium source, a PostgreSQL pool sized as in production, and the
// median of the timed runs.
package benchtest

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-sentinel/cdc-sentinel/collector"
	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
)

// Scrape runs one scrape of cs through an Exporter, as /metrics does,
// fails the benchmark when a collector failed, and returns how many
// series each metric has.
func Scrape(b testing.TB, cs ...collector.Collector) map[string]int {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector.NewExporter(ctx, slog.New(slog.DiscardHandler), cs...))
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	series := make(map[string]int, len(mfs))
	for _, mf := range mfs {
		series[mf.GetName()] = len(mf.Metric)
		if mf.GetName() != "cdc_scrape_collector_success" {
			continue
		}
		for _, m := range mf.Metric {
			if m.GetGauge().GetValue() != 1 {
				b.Fatalf("collector %s failed", m.GetLabel()[0].GetValue())
			}
		}
	}
	return series
}

// Source is the name of the one connector of a Cluster.
const Source = "bench-source"

// Cluster is a Connect cluster named "bench" running one Debezium source
// connector, Source, of Class with Config, whose committed offsets are
// Committed.
type Cluster struct {
	Class     string
	Config    map[string]string
	Committed []connect.Offset
}

func (c *Cluster) Name() string { return "bench" }

func (c *Cluster) Connectors(context.Context) ([]connect.Connector, error) {
	cfg := map[string]string{"connector.class": c.Class}
	for k, v := range c.Config {
		cfg[k] = v
	}
	return []connect.Connector{{
		Status: connect.Status{Name: Source, Type: "source", Connector: connect.Instance{State: "RUNNING"}},
		Info:   connect.Info{Name: Source, Type: "source", Config: cfg},
	}}, nil
}

// Offsets are the source's committed offsets, whatever the connector.
func (c *Cluster) Offsets(context.Context, string) ([]connect.Offset, error) {
	return c.Committed, nil
}

// OpenPostgres opens the PostgreSQL database at dsn as database name, fed
// by connectors, with the pool a production configuration would have
// (4 connections); it is closed when the benchmark ends.
func OpenPostgres(b testing.TB, name, dsn string, connectors ...string) *database.DB {
	b.Helper()
	db, err := database.Open(context.Background(), config.Database{
		Name: name, Driver: config.DriverPostgres, DSN: config.Secret(dsn), Connectors: connectors,
		MaxOpenConns: 4, MaxIdleConns: 4, ConnMaxLifetime: time.Hour, QueryTimeout: 5 * time.Second,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// Median is the median of ds, which it sorts.
func Median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// MS is d in milliseconds, as the benchmarks report their medians.
func MS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
