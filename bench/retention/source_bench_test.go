// Package retentionbench measures what the source retention reads
// (cdc_source_retention_headroom_*, cdc_source_changes_lost) add to a
// scrape of the source side with 200 configured tables.
//
//	go test ./bench/retention -run '^$' -bench . -benchtime 40x
//
// Both benchmarks interleave scrapes without and with the source
// retention collector in one run, so load from other work on the machine
// falls on both alike, and report the two medians and their ratio.
//
//   - PostgreSQL: a private server (testenv.StartPostgres, wal_level
//     logical) with 200 tables and a Debezium source's replication slot;
//     the baseline scrape is the lag, replication slot and offset
//     collectors, as a source-side exporter runs them.
//   - SQL Server, at the driver level (no server runs here): 200 captured
//     tables in cdc.change_tables; the baseline is the offset collector's
//     read of the same connector. It measures cdc-sentinel's own work
//     (decoding 200 capture instances, matching them against the
//     connector's table.include.list), not the server's.
package retentionbench

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/cdc-sentinel/cdc-sentinel/bench/benchtest"
	"github.com/cdc-sentinel/cdc-sentinel/collector"
	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/lag"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

const tables = 200

// interleave times b.N scrapes of each set, one of each in turn, with
// prepare (untimed) before each, and reports both medians and the ratio.
func interleave(b *testing.B, prepare func(), without, with []collector.Collector) {
	for range 10 { // warm the pools and the server's plans
		prepare()
		benchtest.Scrape(b, without...)
		prepare()
		benchtest.Scrape(b, with...)
	}
	var base, full []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, set := range []struct {
			cs  []collector.Collector
			out *[]time.Duration
		}{{without, &base}, {with, &full}} {
			b.StopTimer()
			prepare()
			b.StartTimer()
			start := time.Now()
			benchtest.Scrape(b, set.cs...)
			*set.out = append(*set.out, time.Since(start))
		}
	}
	b.StopTimer()
	mb, mf := benchtest.Median(base), benchtest.Median(full)
	b.ReportMetric(benchtest.MS(mb), "without-median-ms")
	b.ReportMetric(benchtest.MS(mf), "with-median-ms")
	b.ReportMetric(float64(mf)/float64(mb), "ratio")
}

func BenchmarkPostgresSourceScrape(b *testing.B) {
	pg := testenv.StartPostgres(b, "wal_level=logical")
	pg.Psql(b, "postgres", "CREATE DATABASE bench")
	pg.Psql(b, "bench", fmt.Sprintf(`DO $$ BEGIN FOR i IN 0..%d LOOP
  EXECUTE format('CREATE TABLE t%%s (id int PRIMARY KEY, updated_at timestamptz NOT NULL, __source_ts_ms bigint NOT NULL)', i);
  EXECUTE format('INSERT INTO t%%s SELECT g, now(), (extract(epoch from now()) * 1000)::bigint FROM generate_series(1, 100) g', i);
  EXECUTE format('CREATE INDEX ON t%%s (updated_at)', i);
  EXECUTE format('CREATE INDEX ON t%%s (__source_ts_ms)', i);
END LOOP; END $$`, tables-1))
	pg.Psql(b, "bench", "SELECT pg_create_logical_replication_slot('bench_slot', 'test_decoding')")
	dsn := testenv.PostgresDSN(pg.Addr, "bench")
	src, tgt := benchtest.OpenPostgres(b, "src", dsn, benchtest.Source), benchtest.OpenPostgres(b, "tgt", dsn, benchtest.Source)
	ts := make([]config.Table, tables)
	for i := range ts {
		name := fmt.Sprintf("public.t%d", i)
		ts[i] = config.Table{Name: fmt.Sprintf("t%d", i), Source: config.TableRef{Database: "src", Table: name}, Target: config.TableRef{Database: "tgt", Table: name},
			WatermarkColumn: config.DefaultWatermarkColumn, SourceTimestampColumn: "updated_at"}
	}
	cl := &benchtest.Cluster{
		Class: connectorkind.ClassPostgres, Config: map[string]string{"slot.name": "bench_slot"},
		Committed: []connect.Offset{{Partition: map[string]any{"server": "bench"}, Offset: map[string]any{"lsn": 1.0, "ts_usec": float64(time.Now().UnixMicro())}}},
	}
	dbs := map[string]*database.DB{"src": src, "tgt": tgt}
	reader := lag.NewReader(dbs, nil)
	without := []collector.Collector{
		collector.NewLagCollector(ts, dbs, reader, slog.New(slog.DiscardHandler)),
		collector.NewSlotsCollector(src),
		collector.NewOffsetsCollector(reader, []*database.DB{src}, ts, cl),
	}
	with := append(append([]collector.Collector(nil), without...), collector.NewSourceRetentionCollector([]*database.DB{src}, cl))
	interleave(b, func() {}, without, with)
}

func BenchmarkSQLServerSourceScrape(b *testing.B) {
	pool, mock, err := sqlmock.New(sqlmock.QueryMatcherOption(sqlmock.QueryMatcherEqual))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { pool.Close() })
	db := database.NewWithPool(config.Database{Name: "erp", Driver: config.DriverSQLServer, Connectors: []string{benchtest.Source}}, pool)
	include := make([]string, 0, tables)
	for i := range tables {
		include = append(include, fmt.Sprintf("dbo.t%d", i))
	}
	cl := &benchtest.Cluster{
		Class: connectorkind.ClassSQLServer, Config: map[string]string{"table.include.list": strings.Join(include, ",")},
		Committed: []connect.Offset{{Partition: map[string]any{"server": "erp", "database": "erp"},
			Offset: map[string]any{"commit_lsn": "0000002b:000002e3:0003", "change_lsn": "0000002b:000002e3:0003", "event_serial_no": 1.0}}},
	}
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	offsetsRead := func() {
		mock.ExpectQuery(database.LSNTimesQuery).WithArgs("0000002b000002e30003").WillReturnRows(sqlmock.NewRows([]string{"c", "n"}).AddRow(at, at.Add(time.Minute)))
	}
	retentionRead := func() {
		mock.ExpectQuery(database.SQLServerPositionQuery).WithArgs("0000002b000002e30003").WillReturnRows(
			sqlmock.NewRows([]string{"retention", "newest", "at", "next"}).AddRow(int64(4320), at.Add(time.Minute), at, at.Add(time.Second)))
		rows := sqlmock.NewRows([]string{"schema", "table", "capture_instance", "min_lsn", "create_date"})
		for i := range tables {
			rows.AddRow("dbo", fmt.Sprintf("t%d", i), fmt.Sprintf("dbo_t%d", i), []byte{0, 0, 0, 0x2b, 0, 0, 0, 1, 0, 1}, at.Add(-time.Hour))
		}
		mock.ExpectQuery(database.CaptureInstancesQuery).WillReturnRows(rows)
	}
	mock.MatchExpectationsInOrder(false)
	offsets := collector.NewOffsetsCollector(lag.NewReader(map[string]*database.DB{"erp": db}, nil), []*database.DB{db}, nil, cl)
	retention := collector.NewSourceRetentionCollector([]*database.DB{db}, cl)
	// Each scrape's expected queries are queued untimed; the offsets read
	// is queued for both sets, the retention reads ahead of every scrape
	// (a scrape without them leaves them for the next with-scrape).
	turn := 0
	interleave(b, func() {
		offsetsRead()
		if turn%2 == 1 {
			retentionRead()
		}
		turn++
	}, []collector.Collector{offsets}, []collector.Collector{offsets, retention})
}
