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
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/cdc-sentinel/cdc-sentinel/bench/benchtest"
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
			dbs := map[string]*database.DB{"src": benchtest.OpenPostgres(b, "src", dsn), "tgt": benchtest.OpenPostgres(b, "tgt", dsn)}
			c := collector.NewLagCollector(configured(n, bc.wm), dbs, lag.NewReader(dbs, nil), slog.New(slog.DiscardHandler))
			// Warm up as a running exporter is: the pools, the index
			// check, each connection's prepared statements and
			// PostgreSQL's plan for them (chosen after five executions).
			for range 25 {
				if got := benchtest.Scrape(b, c)["cdc_table_lag_seconds"]; got != n {
					b.Fatalf("%d lag series, want %d", got, n)
				}
			}
			durs := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				benchtest.Scrape(b, c)
				durs = append(durs, time.Since(start))
			}
			b.StopTimer()
			b.ReportMetric(benchtest.MS(benchtest.Median(durs)), "median-ms")
		})
	}
}
