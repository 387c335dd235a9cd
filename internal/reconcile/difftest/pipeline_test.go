package difftest

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect/connecttest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
	"github.com/cdc-sentinel/cdc-sentinel/internal/lag"
	"github.com/cdc-sentinel/cdc-sentinel/internal/reconcile"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// pipelineKinds are the catalogue's types the real path (Debezium's
// PostgreSQL source, Kafka, Debezium's JDBC sink creating the target
// table) is run with here.
var pipelineKinds = map[kind]bool{kInt: true, kDecimal: true, kText: true, kChar: true, kTimestamp: true, kTimestampTZ: true, kDate: true, kBool: true, kBytes: true}

// newPipelineTable draws a table for the real pipeline: an integer or
// text key, columns of pipelineKinds with mixed-case names, which the
// sink folds to lower case (it does not quote identifiers).
func newPipelineTable(r *rand.Rand, schema string) *table {
	tb := &table{Name: schema + ".orders", TgtName: "public." + schema, CaseFold: true, Stamp: "ChangedAt"}
	name := namer()
	tb.Cols = keyColumns([]int{0, 1, 3}[r.IntN(3)], name) // integer or text keys
	for len(tb.Cols) < 6+r.IntN(5) {
		// The sink does not quote identifiers: no reserved word (When).
		if c := randomColumn(r, name); pipelineKinds[c.Kind] && !strings.HasPrefix(c.Name, "When") {
			tb.Cols = append(tb.Cols, c)
		}
	}
	for i := range tb.Cols {
		tb.Cols[i].Tgt = tb.Cols[i].Src
		tb.Cols[i].TgtName = strings.ToLower(tb.Cols[i].Name)
	}
	return tb
}

// TestPipelineReconcileMatchesTruth runs one case through the real
// pipeline: a source connector and a JDBC sink of its own carry a random
// table; with the sink paused under a random workload, reconcile equals
// the oracle's truth; resumed, the target catches up and reconcile finds
// nothing; with rows deleted and changed in the target, repair's
// incremental snapshot brings them back through Kafka and the sink.
func TestPipelineReconcileMatchesTruth(t *testing.T) {
	p := testenv.Need(t)
	src, tgt := p.SourceDB(t), p.TargetDB(t)
	cl := connecttest.Local(t, p)
	kc, err := kafka.New(config.Kafka{Brokers: strings.Split(p.KafkaBrokers, ","), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	seed := seeds(t)[0] // one case: the pipeline is shared
	test := t.Name()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	id := fmt.Sprintf("%d_%d", os.Getpid(), time.Now().UnixNano()%1_000_000)
	schema, slot, pub, prefix := "difftest_"+id, "difftest_slot_"+id, "difftest_pub_"+id, "difftest"+id
	srcName, sinkName := "difftest-source-"+id, "difftest-sink-"+id
	r := rand.New(rand.NewPCG(seed, 0x19))
	w := &world{t: t, ctx: ctx, r: r, tb: newPipelineTable(r, schema), src: src, tgt: tgt}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("case %s\nreplay: CDC_INTEGRATION=1 CDC_HARNESS_SEED=%d go test ./internal/reconcile/difftest/ -run '^%s$' -v", w.tb.describe(), seed, test)
		}
	})
	// Cleanups run last-first: the connectors go before the slot.
	t.Cleanup(func() {
		bg := context.Background()
		_, _ = src.ExecContext(bg, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
		_, _ = src.ExecContext(bg, "DROP PUBLICATION IF EXISTS "+pub)
		_, _ = tgt.ExecContext(bg, "DROP TABLE IF EXISTS "+w.tb.TgtName)
		for range 30 { // the slot stays active a moment after the task stops
			if _, err := src.ExecContext(bg, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", slot); err == nil {
				break
			}
			time.Sleep(time.Second)
		}
		_, _ = kadm.NewClient(kc.Kgo()).DeleteTopics(bg, prefix+"."+w.tb.Name)
	})
	w.exec(src, "CREATE SCHEMA "+schema)
	w.exec(src, w.tb.ddl(false))
	// Every change stamps its row with the source's clock: the lag's
	// source_timestamp_column.
	w.exec(src, "CREATE FUNCTION "+schema+`.stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW."ChangedAt" := clock_timestamp(); RETURN NEW; END $$`)
	w.exec(src, "CREATE TRIGGER stamp BEFORE UPDATE ON "+qt(w.tb.Name)+" FOR EACH ROW EXECUTE FUNCTION "+schema+".stamp()")
	w.exec(src, "CREATE TABLE "+schema+".debezium_signal (id varchar(42) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048) NULL)")
	w.exec(src, "CREATE PUBLICATION "+pub+" FOR TABLE "+qt(w.tb.Name)+", "+schema+".debezium_signal")
	for range 20 + r.IntN(30) {
		w.insert()
	}
	source := p.PostgresSource(prefix, slot, pub, w.tb.Name)
	source["signal.enabled.channels"] = "source"
	source["signal.data.collection"] = schema + ".debezium_signal"
	if _, err := cl.PutConfig(ctx, srcName, source); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Delete(context.Background(), srcName) })
	// The target as the sink would create it: names folded to lower case.
	w.exec(tgt, w.tb.ddl(true))
	sink := p.JDBCSink(prefix+"."+w.tb.Name, strings.TrimPrefix(w.tb.TgtName, "public."))
	sink["delete.enabled"] = "true"
	// The watermark the lag reads: each change's source.ts_ms, as
	// __source_ts_ms; deletes still arrive as tombstones.
	sink["transforms"] = "unwrap"
	sink["transforms.unwrap.type"] = "io.debezium.transforms.ExtractNewRecordState"
	sink["transforms.unwrap.add.fields"] = "source.ts_ms"
	sink["transforms.unwrap.delete.tombstone.handling.mode"] = "tombstone"
	if _, err := cl.PutConfig(ctx, sinkName, sink); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Delete(context.Background(), sinkName) })

	// settled waits until the target equals the source by the oracle.
	settled := func(what string) {
		t.Helper()
		var tr *truth
		testenv.Eventually(t, 4*time.Minute, func() bool {
			var n int
			if tgt.QueryRowContext(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name = $1", strings.TrimPrefix(w.tb.TgtName, "public.")).Scan(&n); n == 0 {
				return false
			}
			tr = w.truth()
			return len(tr.Missing)+len(tr.Extra)+len(tr.Changed)+len(tr.Duplicate) == 0
		}, func() string {
			st, _ := cl.Status(context.Background(), sinkName)
			return fmt.Sprintf("%s: the target never caught up with the source (truth %+v; sink %+v)", what, tr, st)
		})
	}
	settled("after the snapshot")
	check := func() {
		t.Helper()
		rep := w.reconcile(w.plan())
		w.checkReport(w.truth(), rep)
		t.Logf("reconcile: %d source rows, %d target rows, %d missing, %d extra, %d changed", rep.RowsSource, rep.RowsTarget, rep.MissingCount, rep.ExtraCount, rep.ChangedCount)
	}
	check()
	lagIs := pipelineLag(t, ctx, p, w.tb, src, tgt)
	lagIs("after the snapshot", 0)

	// The sink stalls: changes reach Kafka but not the target.
	if err := cl.Pause(ctx, sinkName); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Minute, func() bool {
		st, err := cl.Status(ctx, sinkName)
		return err == nil && st.Connector.State == "PAUSED"
	}, func() string { return "the sink never paused" })
	for range 5 + r.IntN(10) {
		switch n := r.IntN(10); {
		case n < 4:
			w.insert()
		case n < 8:
			w.update(w.keys[r.IntN(len(w.keys))], false)
		default:
			w.delete(w.keys[r.IntN(len(w.keys))])
		}
	}
	w.insert() // at least one change the target can show
	check()
	lagIs("with the sink paused", -1)
	if err := cl.Resume(ctx, sinkName); err != nil {
		t.Fatal(err)
	}
	settled("after the sink resumed")
	check()
	lagIs("after the sink resumed", 0)

	// Rows lost and changed in the target: repair re-sends them through
	// an incremental snapshot, the sink writes them back.
	for range 1 + r.IntN(3) {
		k := w.keys[r.IntN(len(w.keys))]
		w.exec(tgt, "DELETE FROM "+qt(w.tb.TgtName)+" WHERE "+w.keyWhere(true, 1), anys(k)...)
	}
	for range 1 + r.IntN(3) {
		w.corrupt(w.keys[r.IntN(len(w.keys))])
	}
	plan := w.plan()
	rep := w.reconcile(plan)
	w.checkReport(w.truth(), rep)
	if _, err := reconcile.Repair(ctx, plan, rep, reconcile.RepairOptions{
		Signaler:       reconcile.TableSignaler{DB: src, Dialect: plan.Source.Dialect, Table: schema + ".debezium_signal"},
		DataCollection: w.tb.Name,
	}); err != nil {
		t.Fatalf("repair: %v", err)
	}
	settled("after the repair")
	check()
	lagIs("after the repair", 0)
	if len(w.known) > 0 && !t.Failed() {
		t.Skipf("only known, unfixed defects failed (see defects.md):\n%s", strings.Join(w.known, "\n"))
	}
}

// pipelineLag checks the table's lag as the collector reads it (the
// target's __source_ts_ms against the source's ChangedAt). lagIs(when, 0)
// waits for exactly 0; lagIs(when, -1) wants, with the sink stalled,
// the age of the oldest change the target does not show on the source's
// clock, growing while the sink stays stalled.
func pipelineLag(t *testing.T, ctx context.Context, p *testenv.Pipeline, tb *table, src, tgt *sql.DB) func(when string, want time.Duration) {
	dbs := map[string]*database.DB{"src": openDB(t, "src", p.SourceDSN), "tgt": openDB(t, "tgt", p.TargetDSN)}
	reader := lag.NewReader(dbs, nil)
	cfg := config.Table{Name: "pipeline", Source: config.TableRef{Database: "src", Table: tb.Name}, Target: config.TableRef{Database: "tgt", Table: tb.TgtName},
		WatermarkColumn: "__source_ts_ms", SourceTimestampColumn: tb.Stamp}
	read := func(when string) lag.Reading {
		t.Helper()
		rd, err := reader.Read(ctx, cfg, nil)
		if err != nil {
			t.Fatalf("lag %s: %v", when, err)
		}
		return rd
	}
	now := func() time.Time {
		t.Helper()
		var at time.Time
		if err := src.QueryRowContext(ctx, "SELECT clock_timestamp()").Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	return func(when string, want time.Duration) {
		t.Helper()
		if want == 0 {
			var rd lag.Reading
			testenv.Eventually(t, 2*time.Minute, func() bool { rd = read(when); return rd.Known && rd.Lag == 0 },
				func() string {
					return fmt.Sprintf("[pipeline-lag-caught-up] %s the target shows every change, yet the lag reads %+v", when, rd)
				})
			return
		}
		// The truth from the rows: the newest change applied, and the
		// oldest source change after it (ts_ms has whole milliseconds).
		var wm int64
		if err := tgt.QueryRowContext(ctx, "SELECT max(__source_ts_ms) FROM "+qt(tb.TgtName)).Scan(&wm); err != nil {
			t.Fatal(err)
		}
		var oldest sql.NullTime
		if err := src.QueryRowContext(ctx, "SELECT min("+qi(tb.Stamp)+") FROM "+qt(tb.Name)+" WHERE date_trunc('milliseconds', "+qi(tb.Stamp)+") > to_timestamp($1::float8 / 1000)", wm).Scan(&oldest); err != nil {
			t.Fatal(err)
		}
		if !oldest.Valid {
			t.Fatalf("%s: the source has no change after the target's newest (%d)", when, wm)
		}
		before := now()
		rd := read(when)
		after := now()
		slack := 2 * time.Millisecond
		if !rd.Known || rd.Lag < before.Sub(oldest.Time)-slack || rd.Lag > after.Sub(oldest.Time)+slack {
			t.Errorf("[pipeline-lag-age] %s: lag %+v, want the age of the oldest change not applied (%v): between %v and %v", when, rd, oldest.Time, before.Sub(oldest.Time), after.Sub(oldest.Time))
		}
		first := rd.Lag
		testenv.Eventually(t, 20*time.Second, func() bool { rd = read(when); return rd.Lag > first },
			func() string {
				return fmt.Sprintf("[pipeline-lag-grows] %s: the sink is stalled, yet the lag stays at %v", when, rd.Lag)
			})
		t.Logf("lag %s: %v, then %v", when, first, rd.Lag)
	}
}
