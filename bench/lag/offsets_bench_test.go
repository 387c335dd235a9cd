package lagbench

import (
	"log/slog"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/bench/benchtest"
	"github.com/cdc-sentinel/cdc-sentinel/collector"
	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/lag"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

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
			dbs := map[string]*database.DB{"src": benchtest.OpenPostgres(b, "src", dsn, benchtest.Source), "tgt": benchtest.OpenPostgres(b, "tgt", dsn)}
			tables := configured(tables, config.DefaultWatermarkColumn)
			reader := lag.NewReader(dbs, nil)
			cs := []collector.Collector{collector.NewOffsetsCollector(reader, []*database.DB{dbs["src"], dbs["tgt"]}, tables, committedAMinuteAgo())}
			if withTables {
				cs = append(cs, collector.NewLagCollector(tables, dbs, reader, slog.New(slog.DiscardHandler)))
			}
			for range 25 {
				if got := benchtest.Scrape(b, cs...)["cdc_connector_offset_lag_seconds"]; got != 1 {
					b.Fatalf("%d offset lag series, want 1", got)
				}
			}
			durs := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				benchtest.Scrape(b, cs...)
				durs = append(durs, time.Since(start))
			}
			b.StopTimer()
			b.ReportMetric(benchtest.MS(benchtest.Median(durs)), "median-ms")
		})
	}
}

// committedAMinuteAgo is a Connect cluster running one Debezium
// PostgreSQL source on the benchmark database, whose committed offset is
// a minute old.
func committedAMinuteAgo() *benchtest.Cluster {
	return &benchtest.Cluster{Class: connectorkind.ClassPostgres, Committed: []connect.Offset{{
		Partition: map[string]any{"server": "bench"},
		Offset:    map[string]any{"ts_usec": float64(time.Now().Add(-time.Minute).UnixMicro()), "lsn": 1.0},
	}}}
}
