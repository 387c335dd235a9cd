package wiring

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-sentinel/cdc-sentinel/collector"
	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// BenchmarkScrapeSchemaChecks measures one whole scrape of a runtime
// watching 200 tables on the pipeline's PostgreSQL, in one run:
// without schema checks (as before them), with them serving the cached
// result (every scrape within schema_check.interval), and with every
// table due (the one scrape per interval that reads the catalogs).
//
//	go test ./internal/wiring -run '^$' -bench ScrapeSchemaChecks -count 5
func BenchmarkScrapeSchemaChecks(b *testing.B) {
	p := testenv.Need(b)
	src, tgt := p.SourceDB(b), p.TargetDB(b)
	const n = 200
	schema := fmt.Sprintf("schema_bench_%d", os.Getpid())
	b.Cleanup(func() {
		_, _ = src.Exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE")
		_, _ = tgt.Exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE")
	})
	var tables strings.Builder
	ddl := "CREATE SCHEMA " + schema + ";"
	for i := range n {
		ddl += fmt.Sprintf("CREATE TABLE %s.t%d (id int PRIMARY KEY, name text, amount numeric(12,2), at timestamp(6), ok boolean, __source_ts_ms bigint);", schema, i)
		fmt.Fprintf(&tables, "  - {name: t%d, source: {database: source, table: %s.t%d}, target: {database: target, table: %s.t%d}}\n", i, schema, i, schema, i)
	}
	for _, db := range []string{"source", "target"} {
		conn := src
		if db == "target" {
			conn = tgt
		}
		if _, err := conn.Exec(ddl); err != nil {
			b.Fatal(err)
		}
	}
	scrape := func(b *testing.B, check string) {
		cfg, err := config.Parse("bench.yml", []byte(fmt.Sprintf(`
databases:
  - {name: source, driver: postgres, dsn: %q}
  - {name: target, driver: postgres, dsn: %q}
drift: {disabled: true}
schema_check: %s
tables:
%s`, p.SourceDSN, p.TargetDSN, check, tables.String())))
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		rt, err := Build(ctx, cfg, Deps{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(rt.Close)
		gather := func() {
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(collector.NewExporter(sctx, slog.New(slog.DiscardHandler), rt.Collectors...))
			if _, err := reg.Gather(); err != nil {
				b.Fatal(err)
			}
		}
		gather() // pools open, first check done
		b.ResetTimer()
		for b.Loop() {
			gather()
		}
	}
	b.Run("without", func(b *testing.B) { scrape(b, "{disabled: true}") })
	b.Run("cached", func(b *testing.B) { scrape(b, "{interval: 1h}") })
	b.Run("all-due", func(b *testing.B) { scrape(b, "{interval: 1ns}") })
}
