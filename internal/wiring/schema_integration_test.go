package wiring

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect/connecttest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/reconcile"
	"github.com/cdc-sentinel/cdc-sentinel/internal/schemadrift"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// TestSchemaCheckOnThePipeline adds a column at the PostgreSQL source
// while a Debezium source and JDBC sink of the test's own run, and
// watches the schema check: missing in the target at once (from the
// catalog), in the topic once a change carries it (the JSON converter's
// inline schema read from the real Kafka), while the sink without schema
// evolution fails on the record; given schema.evolution=basic, the sink
// adds the column and the check is clean again.
func TestSchemaCheckOnThePipeline(t *testing.T) {
	p := testenv.Need(t)
	src, tgt := p.SourceDB(t), p.TargetDB(t)
	cl := connecttest.Local(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	id := fmt.Sprintf("%d_%d", os.Getpid(), time.Now().UnixNano()%1_000_000)
	schema, slot, pub, prefix := "schemacheck_"+id, "schemacheck_slot_"+id, "schemacheck_pub_"+id, "schemacheck"+id
	srcName, sinkName := "schemacheck-source-"+id, "schemacheck-sink-"+id
	srcTable, tgtTable, topic := schema+".items", "schemacheck_"+id+"_items", prefix+"."+schema+".items"
	run := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	kc := p.KafkaClient(t)
	t.Cleanup(func() {
		bg := context.Background()
		_ = cl.Delete(bg, sinkName)
		_ = cl.Delete(bg, srcName)
		_, _ = src.ExecContext(bg, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
		_, _ = src.ExecContext(bg, "DROP PUBLICATION IF EXISTS "+pub)
		_, _ = tgt.ExecContext(bg, "DROP TABLE IF EXISTS "+tgtTable)
		for range 30 { // the slot stays active a moment after the task stops
			if _, err := src.ExecContext(bg, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", slot); err == nil {
				break
			}
			time.Sleep(time.Second)
		}
		_, _ = kadm.NewClient(kc).DeleteTopics(bg, topic)
	})
	_, err := src.ExecContext(ctx, "CREATE SCHEMA "+schema)
	run("create schema", err)
	_, err = src.ExecContext(ctx, "CREATE TABLE "+srcTable+" (id integer PRIMARY KEY, name text NOT NULL)")
	run("create source table", err)
	_, err = src.ExecContext(ctx, "INSERT INTO "+srcTable+" SELECT g, 'row ' || g FROM generate_series(1, 5) g")
	run("insert", err)
	_, err = src.ExecContext(ctx, "CREATE PUBLICATION "+pub+" FOR TABLE "+srcTable)
	run("create publication", err)
	_, err = tgt.ExecContext(ctx, "CREATE TABLE "+tgtTable+" (id integer PRIMARY KEY, name text NOT NULL)")
	run("create target table", err)
	_, err = cl.PutConfig(ctx, srcName, p.PostgresSource(prefix, slot, pub, srcTable))
	run("source connector", err)
	sink := p.JDBCSink(topic, tgtTable)
	_, err = cl.PutConfig(ctx, sinkName, sink)
	run("sink connector", err)

	cfg, err := config.Parse("schema-check.yml", []byte(fmt.Sprintf(`
connect_clusters: [{name: local, url: %q}]
kafka: {brokers: [%q]}
databases:
  - {name: source, driver: postgres, dsn: %q}
  - {name: target, driver: postgres, dsn: %q}
schema_check: {interval: 1s}
tables:
  - name: items
    source: {database: source, table: %s}
    target: {database: target, table: public.%s}
`, p.ConnectURL, strings.Split(p.KafkaBrokers, ",")[0], p.SourceDSN, p.TargetDSN, srcTable, tgtTable)))
	run("config", err)
	sources, err := OpenSources(ctx, cfg, Deps{})
	run("sources", err)
	t.Cleanup(sources.Close)
	clusters, _, err := ConnectClients(cfg, "test")
	run("connect clients", err)
	_, checker, err := BuildSchemaCheck(cfg, sources, reconcile.SourceConfig(connectorkind.SourceConfig(cfg, sources.DBs, clusters)), nil)
	run("schema check", err)

	var last schemadrift.Result
	waitFor := func(what string, deadline time.Duration, cond func(r schemadrift.Result) bool) time.Duration {
		t.Helper()
		start := time.Now()
		testenv.Eventually(t, deadline, func() bool {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			last = checker.Check(cctx)["items"]
			return !last.CheckedAt.IsZero() && cond(last)
		}, func() string { return fmt.Sprintf("%s: last check %+v", what, last) })
		return time.Since(start)
	}
	waitFor("the layers agree after the snapshot", 3*time.Minute, func(r schemadrift.Result) bool {
		return r.Topic && len(r.Mismatches) == 0 && r.Err == nil
	})

	_, err = src.ExecContext(ctx, "ALTER TABLE "+srcTable+" ADD COLUMN note varchar(20)")
	run("add column", err)
	seen := waitFor("the added column is missing in the target", time.Minute, func(r schemadrift.Result) bool {
		return strings.Join(r.Columns(schemadrift.MissingInTarget), ",") == "note"
	})
	t.Logf("added column reported missing in the target %v after ALTER TABLE (interval 1s)", seen.Round(time.Millisecond))
	if got := last.Columns(schemadrift.NotInTopic); strings.Join(got, ",") != "note" {
		t.Errorf("before any change carries it, not_in_topic = %v, want [note]", got)
	}
	_, err = src.ExecContext(ctx, "INSERT INTO "+srcTable+" VALUES (6, 'row 6', 'noted')")
	run("insert with the new column", err)
	seen = waitFor("the topic's inline schema carries the column", 2*time.Minute, func(r schemadrift.Result) bool {
		return r.Topic && len(r.Columns(schemadrift.NotInTopic)) == 0
	})
	t.Logf("topic schema showed the column %v after the insert", seen.Round(time.Millisecond))

	// Without schema evolution the sink cannot write the new column.
	testenv.Eventually(t, 2*time.Minute, func() bool {
		st, err := cl.Status(ctx, sinkName)
		return err == nil && len(st.Tasks) > 0 && st.Tasks[0].State == "FAILED"
	}, func() string { return "the sink without schema evolution never failed on the new column" })

	sink["schema.evolution"] = "basic"
	_, err = cl.PutConfig(ctx, sinkName, sink)
	run("sink with schema evolution", err)
	_ = cl.RestartTask(ctx, sinkName, 0)
	waitFor("the sink adds the column and the layers agree", 3*time.Minute, func(r schemadrift.Result) bool {
		return len(r.Mismatches) == 0
	})
	var note string
	run("the row reached the target", tgt.QueryRowContext(ctx, "SELECT note FROM "+tgtTable+" WHERE id = 6").Scan(&note))
	if note != "noted" {
		t.Errorf("target note = %q, want noted", note)
	}
}
