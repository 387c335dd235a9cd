// Package lagbench measures what the lag collector adds to a scrape with
// 200 configured tables on the local pipeline's PostgreSQL.
//
//	go test ./bench/lag -run '^$' -bench . -benchtime 30x
//
// Each table has an indexed source timestamp column and an indexed
// watermark column, as the README asks; a scrape runs 400 max() index
// lookups in parallel on two pools of 4 connections. The baseline is the
// same collector with no tables (the database pings only), measured in
// the same run; both report the median scrape in ms.
package lagbench

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-sentinel/cdc-sentinel/collector"
	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/lag"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

const (
	benchDB = "cdc_sentinel_bench_lag"
	tables  = 200
	rows    = 2000
)

func dsnFor(t testing.TB, base, dbname string) string {
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + dbname
	return u.String()
}

// setup creates the benchmark database once (kept between runs; drop it
// with DROP DATABASE cdc_sentinel_bench_lag).
func setup(b *testing.B, p *testenv.Pipeline) string {
	admin, err := sql.Open("pgx", p.SourceDSN)
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	var exists bool
	if err := admin.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, benchDB).Scan(&exists); err != nil {
		b.Fatal(err)
	}
	dsn := dsnFor(b, p.SourceDSN, benchDB)
	if exists {
		return dsn
	}
	if _, err := admin.Exec(`CREATE DATABASE ` + benchDB); err != nil {
		b.Fatal(err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for i := 0; i < tables; i++ {
		name := fmt.Sprintf("t%03d", i)
		stmts := []string{
			fmt.Sprintf(`CREATE TABLE %s (id int PRIMARY KEY, payload text, updated_at timestamptz NOT NULL, __source_ts_ms bigint NOT NULL)`, name),
			fmt.Sprintf(`INSERT INTO %s SELECT g, md5(g::text), now() - (g || ' s')::interval, (extract(epoch from now() - (g || ' s')::interval) * 1000)::bigint FROM generate_series(1, %d) g`, name, rows),
			fmt.Sprintf(`CREATE INDEX ON %s (updated_at)`, name),
			fmt.Sprintf(`CREATE INDEX ON %s (__source_ts_ms)`, name),
			fmt.Sprintf(`ANALYZE %s`, name),
		}
		for _, s := range stmts {
			if _, err := db.Exec(s); err != nil {
				b.Fatal(err)
			}
		}
	}
	return dsn
}

func open(b *testing.B, name, dsn string) *database.DB {
	db, err := database.Open(context.Background(), config.Database{
		Name: name, Driver: config.DriverPostgres, DSN: config.Secret(dsn),
		MaxOpenConns: 4, MaxIdleConns: 4, ConnMaxLifetime: time.Hour, QueryTimeout: 5 * time.Second,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// configured is n tables whose target watermark is column wm.
func configured(n int, wm string) []config.Table {
	ts := make([]config.Table, n)
	for i := range ts {
		name := fmt.Sprintf("public.t%03d", i)
		ts[i] = config.Table{
			Name:                  fmt.Sprintf("t%03d", i),
			Source:                config.TableRef{Database: "src", Table: name},
			Target:                config.TableRef{Database: "tgt", Table: name},
			WatermarkColumn:       wm,
			SourceTimestampColumn: "updated_at",
		}
	}
	return ts
}

// scrape runs one scrape through an Exporter, as /metrics does.
func scrape(b *testing.B, c collector.Collector) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector.NewExporter(ctx, slog.New(slog.DiscardHandler), c))
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		if mf.GetName() == "cdc_scrape_collector_success" && mf.Metric[0].GetGauge().GetValue() != 1 {
			b.Fatal("lag collector failed")
		}
		if strings.HasPrefix(mf.GetName(), "cdc_table_lag_seconds") {
			n = len(mf.Metric)
		}
	}
	return n
}

func BenchmarkLagScrape(b *testing.B) {
	p := testenv.Need(b)
	dsn := setup(b, p)
	for _, bc := range []struct {
		name string
		n    int
		wm   string
	}{
		{"tables=0", 0, config.DefaultWatermarkColumn},
		// Caught up: each table's watermark holds its newest change.
		{fmt.Sprintf("tables=%d", tables), tables, config.DefaultWatermarkColumn},
		// Behind: the primary key read as epoch milliseconds is a
		// watermark in 1970, so every source change is pending and each
		// table also reads its oldest pending change.
		{fmt.Sprintf("tables=%d/behind", tables), tables, "id"},
	} {
		n := bc.n
		b.Run(bc.name, func(b *testing.B) {
			dbs := map[string]*database.DB{"src": open(b, "src", dsn), "tgt": open(b, "tgt", dsn)}
			c := collector.NewLagCollector(configured(n, bc.wm), dbs, lag.NewReader(dbs, nil), slog.New(slog.DiscardHandler))
			// Warm up as a running exporter is: the pools, the index
			// check, each connection's prepared statements and
			// PostgreSQL's plan for them (chosen after five executions).
			for range 25 {
				if got := scrape(b, c); got != n {
					b.Fatalf("%d lag series, want %d", got, n)
				}
			}
			durs := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				scrape(b, c)
				durs = append(durs, time.Since(start))
			}
			b.StopTimer()
			sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
			b.ReportMetric(float64(durs[len(durs)/2].Microseconds())/1000, "median-ms")
		})
	}
}
