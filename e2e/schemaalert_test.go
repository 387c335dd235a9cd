package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestSchemaDriftAlertOnThePipeline adds a column at a PostgreSQL source
// table while its Debezium source and JDBC sink run, and watches what a
// user watches: cdc_schema_mismatched_columns{kind="missing_in_target"}
// going to 1 on a real Prometheus scraping cdc-sentinel, CDCSchemaDrift of
// rules/ firing there and reaching Alertmanager, and both clearing once the
// target gets the column too. It does so three times on the same table and
// logs, for each run, how long after ALTER TABLE the metric showed the
// column and the alert fired.
//
// The rules are rules/ as generated, with only CDCSchemaDrift's for: cut
// from 15m (fifteen checks at the default schema_check.interval of 1m) to
// three of the test's checks.
func TestSchemaDriftAlertOnThePipeline(t *testing.T) {
	env := needStack(t)
	const checkEvery = 2 * time.Second
	iv := fast
	iv.schemaFor = 3 * checkEvery

	prefix := "schemaalert_" + randomHex(4)
	p := newPipeline(t, env, prefix)
	tbl := ownReplicatedTable(t, p)

	s := startStack(t, p, fmt.Sprintf(`connect_clusters:
  - name: local
    url: %s
    timeout: 10s
kafka:
  brokers: [%q]
databases:
  - {name: source, driver: postgres, dsn: %q}
  - {name: target, driver: postgres, dsn: %q}
schema_check: {interval: %s}
tables:
  - name: %s
    source: {database: source, table: %s}
    target: {database: target, table: public.%s}
    key: [id]
`, env.ConnectURL, strings.Split(env.KafkaBrokers, ",")[0], env.SourceDSN, env.TargetDSN, checkEvery, tbl.name, tbl.source, tbl.target), iv)
	promURL, amURL := s.promURL, s.amURL

	missing := fmt.Sprintf(`cdc_schema_mismatched_columns{table=%q,kind="missing_in_target"}`, tbl.name)
	alert := fmt.Sprintf(`ALERTS{alertname="CDCSchemaDrift",table=%q}`, tbl.name)
	firing := fmt.Sprintf(`ALERTS{alertname="CDCSchemaDrift",alertstate="firing",table=%q}`, tbl.name)
	t.Cleanup(func() {
		if t.Failed() {
			s.diagnose(t, `cdc_schema_mismatched_columns{table="`+tbl.name+`"}`,
				`cdc_schema_check_timestamp_seconds{table="`+tbl.name+`"}`, alert)
		}
	})

	// Both sides agree before anything changes: every kind but the topic's
	// (no change has carried a column the topic could lack) is scraped at 0.
	eventually(t, "a clean schema check scraped", 3*time.Minute, func(ctx context.Context) (bool, error) {
		res, err := promQuery(ctx, promURL, fmt.Sprintf(`cdc_schema_mismatched_columns{table=%q,kind!="not_in_topic"}`, tbl.name))
		if err != nil || len(res) != 4 {
			return false, err
		}
		for _, r := range res {
			if r.Value != 0 {
				return false, nil
			}
		}
		return true, nil
	})

	var toMetric, toFiring []float64
	for run := 1; run <= 3; run++ {
		col := fmt.Sprintf("note_%d", run)
		altered := time.Now()
		p.exec(t, env.SourceDSN, fmt.Sprintf(`ALTER TABLE %s ADD COLUMN %s varchar(20)`, tbl.source, col))

		eventually(t, col+" missing in the target, in Prometheus", 2*time.Minute, func(ctx context.Context) (bool, error) {
			res, err := promQuery(ctx, promURL, missing+" == 1")
			return len(res) == 1, err
		})
		eventually(t, "CDCSchemaDrift firing in Prometheus", 2*time.Minute, func(ctx context.Context) (bool, error) {
			res, err := promQuery(ctx, promURL, firing)
			if len(res) == 1 && res[0].Labels["kind"] != "missing_in_target" {
				return false, fmt.Errorf("CDCSchemaDrift fired for kind %q", res[0].Labels["kind"])
			}
			return len(res) == 1, err
		})
		// Prometheus keeps every sample; the first ones after ALTER TABLE
		// say when the scrape showed the column and when the alert fired,
		// whenever the test's polling happened to look.
		after := func(ts, v float64) (float64, bool) {
			return ts, v == 1 && ts >= float64(altered.UnixNano())/1e9
		}
		shown := firstSample(t, promURL, missing+"[5m]", after)
		fired := firstSample(t, promURL, firing+"[5m]", after)
		toMetric = append(toMetric, shown.Sub(altered).Seconds())
		toFiring = append(toFiring, fired.Sub(altered).Seconds())
		t.Logf("run %d: ALTER TABLE → metric 1 in Prometheus %.1fs, → CDCSchemaDrift firing %.1fs", run, toMetric[run-1], toFiring[run-1])

		eventually(t, "CDCSchemaDrift active in Alertmanager", time.Minute, func(ctx context.Context) (bool, error) {
			as, err := amAlerts(ctx, amURL, `alertname="CDCSchemaDrift"`, fmt.Sprintf(`table=%q`, tbl.name))
			return len(as) == 1, err
		})

		// The target follows, as a migration (or the sink's schema
		// evolution) would: the mismatch and the alert go away.
		followed := time.Now()
		p.exec(t, env.TargetDSN, fmt.Sprintf(`ALTER TABLE public.%s ADD COLUMN %s varchar(20)`, tbl.target, col))
		eventually(t, col+" no longer missing, in Prometheus", 2*time.Minute, func(ctx context.Context) (bool, error) {
			res, err := promQuery(ctx, promURL, missing+" == 0")
			return len(res) == 1, err
		})
		resolved := eventually(t, "CDCSchemaDrift resolved in Prometheus and Alertmanager", 2*time.Minute, func(ctx context.Context) (bool, error) {
			res, err := promQuery(ctx, promURL, alert)
			if err != nil || len(res) > 0 {
				return false, err
			}
			as, err := amAlerts(ctx, amURL, `alertname="CDCSchemaDrift"`, fmt.Sprintf(`table=%q`, tbl.name))
			return len(as) == 0, err
		})
		t.Logf("run %d: target ALTER TABLE → alert resolved (seen by the test) %.1fs", run, resolved.Sub(followed).Seconds())
	}
	t.Logf("median over 3 runs: ALTER TABLE → metric %.1fs (runs %.1f), → firing %.1fs (runs %.1f); "+
		"schema_check.interval %s, scrape %s, evaluation %s, for: %s",
		median(toMetric), toMetric, median(toFiring), toFiring, checkEvery, iv.scrape, iv.eval, iv.schemaFor)
}

// replicatedTable is a source table of the test's own, captured by a
// Debezium source connector (own publication and slot) into a topic that
// a JDBC sink without schema evolution writes into the target table.
type replicatedTable struct {
	name, source, target string
}

func ownReplicatedTable(t *testing.T, p *pipeline) replicatedTable {
	t.Helper()
	env := p.env
	schema := p.prefix
	tb := replicatedTable{name: p.prefix + "_items", source: schema + ".items", target: p.prefix + "_items"}
	slot, pub := p.prefix+"_slot", p.prefix+"_pub"
	topic := p.prefix + "." + tb.source
	p.exec(t, env.SourceDSN,
		"CREATE SCHEMA "+schema,
		"CREATE TABLE "+tb.source+" (id integer PRIMARY KEY, name text NOT NULL)",
		"INSERT INTO "+tb.source+" SELECT g, 'row ' || g FROM generate_series(1, 5) g",
		"CREATE PUBLICATION "+pub+" FOR TABLE "+tb.source)
	p.exec(t, env.TargetDSN, "CREATE TABLE public."+tb.target+" (id integer PRIMARY KEY, name text NOT NULL)")
	// Cleanups run last-first: the connectors (registered below) go before
	// the slot they hold, the publication and the tables.
	src := env.SourceDB(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		for _, stmt := range []string{"DROP SCHEMA IF EXISTS " + schema + " CASCADE", "DROP PUBLICATION IF EXISTS " + pub} {
			if _, err := src.ExecContext(ctx, stmt); err != nil {
				t.Logf("cleanup: %s: %v", stmt, err)
			}
		}
		// The slot stays active a moment after the task stops.
		for ctx.Err() == nil {
			_, err := src.ExecContext(ctx, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", slot)
			if err == nil {
				break
			}
			time.Sleep(time.Second)
		}
	})
	p.execCleanup(t, env.TargetDSN, "DROP TABLE IF EXISTS public."+tb.target)
	t.Cleanup(func() { p.deleteTopics(t, topic) })
	p.createConnector(t, p.prefix+"_source", env.PostgresSource(p.prefix, slot, pub, tb.source))
	p.createConnector(t, p.prefix+"_sink", p.sinkConfig(topic, tb.target))
	p.waitTaskState(t, p.prefix+"_source", "RUNNING", 2*time.Minute)
	p.waitTaskState(t, p.prefix+"_sink", "RUNNING", 2*time.Minute)
	eventually(t, "the snapshot reached the target", 2*time.Minute, func(ctx context.Context) (bool, error) {
		return p.count(t, env.TargetDSN, "SELECT count(*) FROM public."+tb.target) == 5, nil
	})
	return tb
}
