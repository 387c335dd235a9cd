package collector

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect/connecttest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
	"github.com/cdc-sentinel/cdc-sentinel/internal/lag"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// These tests pause and resume the demo connectors of the local pipeline
// and always resume them in t.Cleanup, so the pipeline is left running.

func pipelineDBs(t *testing.T, p *testenv.Pipeline) map[string]*database.DB {
	t.Helper()
	dbs := map[string]*database.DB{}
	for name, dsn := range map[string]string{"source": p.SourceDSN, "target": p.TargetDSN} {
		db, err := database.Open(context.Background(), config.Database{
			Name: name, Driver: config.DriverPostgres, DSN: config.Secret(dsn),
			MaxOpenConns: 4, MaxIdleConns: 4, ConnMaxLifetime: time.Minute, QueryTimeout: 5 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[name] = db
	}
	return dbs
}

func customersTable() config.Table {
	return config.Table{
		Name:                  "customers",
		Source:                config.TableRef{Database: "source", Table: "inventory.customers"},
		Target:                config.TableRef{Database: "target", Table: "public.customers"},
		WatermarkColumn:       config.DefaultWatermarkColumn,
		SourceTimestampColumn: "updated_at",
	}
}

// metricValue reads one series' value from exposition text; ok is false
// when the series is absent.
func metricValue(out, series string) (float64, bool) {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(out)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	return v, err == nil
}

func scrapeValue(t *testing.T, series string, cs ...Collector) (float64, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := collect(t, ctx, cs...)
	v, ok := metricValue(out, series)
	if !ok {
		t.Fatalf("no %s in\n%s", series, out)
	}
	return v, out
}

// waitValue scrapes until cond holds for the series' value.
func waitValue(t *testing.T, d time.Duration, series, what string, cond func(float64) bool, cs ...Collector) float64 {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out := collect(t, ctx, cs...)
		cancel()
		v, ok := metricValue(out, series)
		if ok && cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s, %s is %v (present %v), want %s", d, series, v, ok, what)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func touchCustomer(t *testing.T, db *database.DB) {
	t.Helper()
	pool, err := db.Pool()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(`UPDATE inventory.customers SET balance = balance WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
}

// confirmCapturedChange changes a captured row and waits until the slot
// has confirmed it.
func confirmCapturedChange(t *testing.T, db *database.DB, slot string) {
	t.Helper()
	pool, err := db.Pool()
	if err != nil {
		t.Fatal(err)
	}
	touchCustomer(t, db)
	var after string
	if err := pool.QueryRow(`SELECT pg_current_wal_lsn()::text`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var confirmed bool
		if err := pool.QueryRow(`SELECT confirmed_flush_lsn >= $1::pg_lsn FROM pg_replication_slots WHERE slot_name = $2`, after, slot).Scan(&confirmed); err != nil {
			t.Fatal(err)
		}
		if confirmed {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot %s has not confirmed a change made at %s", slot, after)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// writeWALBeyond writes at least n bytes of WAL after now, into a table
// of its own that no publication includes (dropped when the test ends).
func writeWALBeyond(t *testing.T, db *database.DB, n float64) {
	t.Helper()
	pool, err := db.Pool()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(`CREATE TABLE IF NOT EXISTS public.cdc_sentinel_wal_filler (v text)`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = pool.Exec(`DROP TABLE IF EXISTS public.cdc_sentinel_wal_filler`) })
	var start string
	if err := pool.QueryRow(`SELECT pg_current_wal_lsn()::text`).Scan(&start); err != nil {
		t.Fatal(err)
	}
	const chunk = 64 << 10
	for i := 0; ; i++ {
		var written float64
		if err := pool.QueryRow(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::float8`, start).Scan(&written); err != nil {
			t.Fatal(err)
		}
		if written > n+chunk {
			return
		}
		if i > 8192 {
			t.Fatalf("wrote %.0f bytes of WAL and the slot lag to outgrow is %.0f", written, n)
		}
		// md5 text does not compress, so each row is about chunk bytes of WAL.
		if _, err := pool.Exec(`INSERT INTO public.cdc_sentinel_wal_filler SELECT string_agg(md5(random()::text), '') FROM generate_series(1, $1::int)`, chunk/32); err != nil {
			t.Fatal(err)
		}
	}
}

// pause pauses a connector until the test ends, waiting for its tasks to
// report PAUSED.
func pause(t *testing.T, c *connect.Client, name string) {
	t.Helper()
	ctx := context.Background()
	t.Cleanup(func() {
		if err := c.Resume(context.Background(), name); err != nil {
			t.Errorf("resuming %s: %v", name, err)
		}
	})
	if err := c.Pause(ctx, name); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := c.Status(ctx, name)
		if err == nil && len(s.Tasks) > 0 && s.Tasks[0].State == connect.StatePaused {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not PAUSED after 30s: %+v %v", name, s, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// customersLag is the pipeline's customers table read by a lag
// collector, once its lag is back to 0 after a change.
func customersLag(t *testing.T) (*testenv.Pipeline, map[string]*database.DB, *connect.Client, *LagCollector) {
	t.Helper()
	p := testenv.Need(t)
	dbs := pipelineDBs(t, p)
	c := connecttest.Local(t, p)
	lc := NewLagCollector([]config.Table{customersTable()}, dbs, lag.NewReader(dbs, nil), discard())
	touchCustomer(t, dbs["source"])
	waitValue(t, 60*time.Second, customersLagSeries, "0 before the test", func(v float64) bool { return v == 0 }, lc)
	return p, dbs, c, lc
}

const customersLagSeries = `cdc_table_lag_seconds{table="customers"}`

func TestPipelineLagGrowsWhileTheSinkIsPausedAndReturnsToZero(t *testing.T) {
	p, dbs, c, lc := customersLag(t)
	const series = customersLagSeries

	// The same row changes again and again behind the paused sink: the
	// source shows only its newest change, and the lag must still grow
	// by at least the time that passes, from the change first seen
	// waiting.
	pause(t, c, p.Env["CDC_SINK_CONNECTOR"])
	touchCustomer(t, dbs["source"])
	time.Sleep(1500 * time.Millisecond)
	touchCustomer(t, dbs["source"])
	first, _ := scrapeValue(t, series, lc)
	time.Sleep(2 * time.Second)
	touchCustomer(t, dbs["source"])
	second, _ := scrapeValue(t, series, lc)
	if !(first > 0 && second >= first+1.99) {
		t.Fatalf("lag while the sink is paused went %v → %v over 2s of a row changing again; want it to grow by at least 2s", first, second)
	}
	t.Logf("lag while paused: %.1fs → %.1fs", first, second)

	if err := c.Resume(context.Background(), p.Env["CDC_SINK_CONNECTOR"]); err != nil {
		t.Fatal(err)
	}
	got := waitValue(t, 60*time.Second, series, "near 0 after resume", func(v float64) bool { return v < 1 }, lc)
	t.Logf("lag after resume: %.3fs", got)
	// Idle source, caught-up sink: it must stay at exactly 0.
	time.Sleep(2 * time.Second)
	if v, _ := scrapeValue(t, series, lc); v != 0 {
		t.Errorf("lag %v with an idle source and a caught-up sink, want 0", v)
	}
}

// The case lag used to miss: one change, then nothing, while the sink is
// stuck. The lag is the age of that change and keeps growing with no new
// change at the source.
func TestPipelineLagGrowsWhileAStuckSinkHasOneChangeOnAQuietSource(t *testing.T) {
	p, dbs, c, lc := customersLag(t)
	const series = customersLagSeries

	pause(t, c, p.Env["CDC_SINK_CONNECTOR"])
	touchCustomer(t, dbs["source"]) // the one change, then a quiet source
	first := waitValue(t, 30*time.Second, series, "above 0 with the change pending", func(v float64) bool { return v > 0 }, lc)
	got := waitValue(t, 60*time.Second, series, "grown by 3s with no new change", func(v float64) bool { return v >= first+3 }, lc)
	t.Logf("lag of the one pending change: %.1fs → %.1fs", first, got)

	if err := c.Resume(context.Background(), p.Env["CDC_SINK_CONNECTOR"]); err != nil {
		t.Fatal(err)
	}
	waitValue(t, 60*time.Second, series, "0 once the change is applied", func(v float64) bool { return v == 0 }, lc)
}

func TestPipelineSlotLagGrowsWhileTheSourceIsPaused(t *testing.T) {
	p := testenv.Need(t)
	dbs := pipelineDBs(t, p)
	c := connecttest.Local(t, p)
	slots := NewSlotsCollector(dbs["source"], dbs["target"])
	series := `cdc_replication_slot_lag_bytes{database="source",slot="` + p.Env["CDC_SLOT_NAME"] + `"}`

	// The slot's confirmed position moves only when the source commits
	// the offset of a captured change; WAL written since the last one
	// (heartbeats of an uncaptured table, other databases) is lag. Start
	// from a confirmed position close to the end of the WAL.
	confirmCapturedChange(t, dbs["source"], p.Env["CDC_SLOT_NAME"])
	pause(t, c, p.Env["CDC_SOURCE_CONNECTOR"])
	touchCustomer(t, dbs["source"])
	first, out := scrapeValue(t, series, slots)
	// Connect may still commit the offset of what the task read before
	// the pause (every offset.flush.interval.ms), moving the confirmed
	// position forward by at most the lag first saw. Writing more WAL
	// than that makes growth certain, however late the commit. The
	// captured changes come last, so once resumed the source confirms
	// past the filler and the next run starts without it.
	writeWALBeyond(t, dbs["source"], first)
	for i := 0; i < 20; i++ {
		touchCustomer(t, dbs["source"])
	}
	second, _ := scrapeValue(t, series, slots)
	if second <= first {
		t.Fatalf("slot lag while the source is paused went %v → %v bytes; want growth", first, second)
	}
	if _, ok := metricValue(out, `cdc_replication_slot_active{database="source",slot="`+p.Env["CDC_SLOT_NAME"]+`"}`); !ok {
		t.Error("no cdc_replication_slot_active series")
	}
	if strings.Contains(out, `database="target"`) {
		t.Error("the target database reported the source's slot (slots are cluster-wide)")
	}
	t.Logf("slot lag while paused: %.0f → %.0f bytes", first, second)
}

func TestPipelineDLQCountsExactlyTheBadRecords(t *testing.T) {
	p := testenv.Need(t)
	c := connecttest.Local(t, p)
	k, err := kafka.New(config.Kafka{Brokers: strings.Split(p.KafkaBrokers, ","), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	dlq := NewDLQCollector(k, c)
	series := `cdc_dlq_records_total{connect_cluster="local",connector="` + p.Env["CDC_SINK_CONNECTOR"] + `",topic="` + p.Env["CDC_DLQ_TOPIC"] + `"}`
	before, out := scrapeValue(t, series, dlq)
	if v, _ := metricValue(out, "cdc_kafka_up"); v != 1 {
		t.Fatalf("cdc_kafka_up %v", v)
	}

	// Not JSON at all: the sink's JsonConverter fails on each, and
	// errors.tolerance=all sends each to the DLQ.
	const bad = 5
	topic := strings.Split(p.Env["CDC_TOPICS"], ",")[0]
	recs := make([]*kgo.Record, bad)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Key: []byte("not json {"), Value: []byte("cdc-sentinel dlq test: not json {")}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := k.Kgo().ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	got := waitValue(t, 60*time.Second, series, "to rise by the bad records", func(v float64) bool { return v >= before+bad }, dlq)
	time.Sleep(3 * time.Second)
	after, _ := scrapeValue(t, series, dlq)
	if got != before+bad || after != before+bad {
		t.Errorf("cdc_dlq_records_total went %v → %v → %v; want exactly +%d", before, got, after, bad)
	}
}

func TestPipelineOffsetLagOfTheDemoSource(t *testing.T) {
	p := testenv.Need(t)
	dbs := pipelineDBs(t, p)
	c := connecttest.Local(t, p)
	// The source database is found from the connector's database.dbname
	// and database.port; no connectors: list is configured.
	off := newOffsetsCollector([]*database.DB{dbs["source"], dbs["target"]}, []config.Table{customersTable()}, c)
	series := `cdc_connector_offset_lag_seconds{connect_cluster="local",connector="` + p.Env["CDC_SOURCE_CONNECTOR"] + `"}`
	touchCustomer(t, dbs["source"])
	v := waitValue(t, 60*time.Second, series, "near 0 while the source runs", func(v float64) bool { return v < 5 }, off)
	t.Logf("offset lag: %.3fs", v)
}

// The real source and target next to a database that accepts connections
// and never answers, its query_timeout longer than the scrape: the real
// table's lag is in the first scrape, within its deadline.
func TestPipelineHangingDatabaseNextToTheRealOnes(t *testing.T) {
	p := testenv.Need(t)
	dbs := pipelineDBs(t, p)
	hang, err := database.Open(context.Background(), config.Database{
		Name: "hang", Driver: config.DriverPostgres, DSN: config.Secret("postgres://u:pw@" + hangingListener(t) + "/x?sslmode=disable"),
		MaxOpenConns: 2, QueryTimeout: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hang.Close() })
	dbs["hang"] = hang
	// A table of its own, so the test needs only the two databases.
	name := fmt.Sprintf("public.lag_hang_%d", time.Now().UnixNano())
	now := time.Now()
	for db, q := range map[string]string{
		"source": "CREATE TABLE " + name + " (id int PRIMARY KEY, updated_at timestamptz); INSERT INTO " + name + " VALUES (1, '" + now.Format(time.RFC3339Nano) + "')",
		"target": "CREATE TABLE " + name + " (id int PRIMARY KEY, __source_ts_ms bigint); INSERT INTO " + name + " VALUES (1, " + fmt.Sprint(now.UnixMilli()) + ")",
	} {
		pool, err := dbs[db].Pool()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(q); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pool.Exec("DROP TABLE IF EXISTS " + name) })
	}
	own := config.Table{Name: "customers", Source: config.TableRef{Database: "source", Table: name}, Target: config.TableRef{Database: "target", Table: name},
		WatermarkColumn: config.DefaultWatermarkColumn, SourceTimestampColumn: "updated_at"}
	stuck := own
	stuck.Name, stuck.Source.Database = "stuck", "hang"
	lc := NewLagCollector([]config.Table{own, stuck}, dbs, lag.NewReader(dbs, nil), discard())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	out := collect(t, ctx, lc)
	for _, want := range []string{
		`cdc_db_up{database="hang"} 0`, `cdc_db_up{database="source"} 1`, `cdc_db_up{database="target"} 1`,
		`cdc_table_lag_seconds{table="customers"} 0`, `cdc_table_last_applied_timestamp_seconds{table="stuck"}`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
}
