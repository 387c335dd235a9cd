package lagbench

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
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/lag"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// benchCluster is a Connect cluster running one Debezium PostgreSQL
// source on the benchmark database, whose committed offset is a minute
// old.
type benchCluster struct{ committed time.Time }

func (benchCluster) Name() string { return "bench" }

func (benchCluster) Connectors(context.Context) ([]connect.Connector, error) {
	return []connect.Connector{{
		Status: connect.Status{Name: "bench-source", Type: "source", Connector: connect.Instance{State: "RUNNING"}},
		Info:   connect.Info{Name: "bench-source", Type: "source", Config: map[string]string{"connector.class": connectorkind.ClassPostgres}},
	}}, nil
}

func (c benchCluster) Offsets(context.Context, string) ([]connect.Offset, error) {
	return []connect.Offset{{Partition: map[string]any{"server": "bench"}, Offset: map[string]any{"ts_usec": float64(c.committed.UnixMicro()), "lsn": 1.0}}}, nil
}

// scrapeAll runs one scrape of cs through an Exporter, as /metrics does,
// and counts the offset lag series.
func scrapeAll(b *testing.B, cs ...collector.Collector) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector.NewExporter(ctx, slog.New(slog.DiscardHandler), cs...))
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		if mf.GetName() == "cdc_scrape_collector_success" {
			for _, m := range mf.Metric {
				if m.GetGauge().GetValue() != 1 {
					b.Fatalf("a collector failed: %v", m)
				}
			}
		}
		if mf.GetName() == "cdc_connector_offset_lag_seconds" {
			n = len(mf.Metric)
		}
	}
	return n
}

// What offset lag adds to a scrape when the source does not track commit
// timestamps (the pipeline's PostgreSQL): the newest change is the
// newest source timestamp among the database's 200 tables. Alone, and in
// the same scrape as the 200 tables' lag, whose reads share the pool.
//
//	go test ./bench/lag -run '^$' -bench OffsetLag -benchtime 30x
func BenchmarkOffsetLagScrape(b *testing.B) {
	p := testenv.Need(b)
	dsn := setup(b, p)
	for _, withTables := range []bool{false, true} {
		name := "offsets"
		if withTables {
			name = "offsets+tables"
		}
		b.Run(name, func(b *testing.B) {
			dbs := map[string]*database.DB{"src": openSource(b, dsn), "tgt": open(b, "tgt", dsn)}
			tables := configured(tables, config.DefaultWatermarkColumn)
			reader := lag.NewReader(dbs, nil)
			cs := []collector.Collector{collector.NewOffsetsCollector(reader, []*database.DB{dbs["src"], dbs["tgt"]}, tables, benchCluster{committed: time.Now().Add(-time.Minute)})}
			if withTables {
				cs = append(cs, collector.NewLagCollector(tables, dbs, reader, slog.New(slog.DiscardHandler)))
			}
			for range 25 {
				if got := scrapeAll(b, cs...); got != 1 {
					b.Fatalf("%d offset lag series, want 1", got)
				}
			}
			durs := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				scrapeAll(b, cs...)
				durs = append(durs, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(durs)
			b.ReportMetric(float64(durs[len(durs)/2].Microseconds())/1000, "median-ms")
		})
	}
}

// openSource opens the benchmark database as the source bench-source
// reads, with the pool open does.
func openSource(b *testing.B, dsn string) *database.DB {
	db, err := database.Open(context.Background(), config.Database{
		Name: "src", Driver: config.DriverPostgres, DSN: config.Secret(dsn), Connectors: []string{"bench-source"},
		MaxOpenConns: 4, MaxIdleConns: 4, ConnMaxLifetime: time.Hour, QueryTimeout: 5 * time.Second,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}
