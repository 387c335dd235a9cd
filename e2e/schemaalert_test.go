package e2e

import (
	"context"
	"fmt"
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
	const checkEvery = 2 * time.Second
	iv := fast
	iv.schemaFor = 3 * checkEvery

	p := stackPipeline(t, "schemaalert")
	env := p.env
	tbl := p.replicate(t, 5, false)
	source, target := "public."+tbl.table, "public."+tbl.table

	s := startStack(t, p, watchConfig(env)+fmt.Sprintf(`schema_check: {interval: %s}
tables:
  - name: %s
    source: {database: source, table: %s}
    target: {database: target, table: %s}
    key: [id]
`, checkEvery, tbl.table, source, target), iv)
	promURL, amURL := s.promURL, s.amURL

	missing := fmt.Sprintf(`cdc_schema_mismatched_columns{table=%q,kind="missing_in_target"}`, tbl.table)
	alert := fmt.Sprintf(`ALERTS{alertname="CDCSchemaDrift",table=%q}`, tbl.table)
	firing := fmt.Sprintf(`ALERTS{alertname="CDCSchemaDrift",alertstate="firing",table=%q}`, tbl.table)
	t.Cleanup(func() {
		if t.Failed() {
			s.diagnose(t, `cdc_schema_mismatched_columns{table="`+tbl.table+`"}`,
				`cdc_schema_check_timestamp_seconds{table="`+tbl.table+`"}`, alert)
		}
	})

	// Both sides agree before anything changes: every kind but the topic's
	// (no change has carried a column the topic could lack) is scraped at 0.
	eventually(t, "a clean schema check scraped", 3*time.Minute, func(ctx context.Context) (bool, error) {
		res, err := promQuery(ctx, promURL, fmt.Sprintf(`cdc_schema_mismatched_columns{table=%q,kind!="not_in_topic"}`, tbl.table))
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
		p.exec(t, env.SourceDSN, fmt.Sprintf(`ALTER TABLE %s ADD COLUMN %s varchar(20)`, source, col))

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
			as, err := amAlerts(ctx, amURL, `alertname="CDCSchemaDrift"`, fmt.Sprintf(`table=%q`, tbl.table))
			return len(as) == 1, err
		})

		// The target follows, as a migration (or the sink's schema
		// evolution) would: the mismatch and the alert go away.
		followed := time.Now()
		p.exec(t, env.TargetDSN, fmt.Sprintf(`ALTER TABLE %s ADD COLUMN %s varchar(20)`, target, col))
		eventually(t, col+" no longer missing, in Prometheus", 2*time.Minute, func(ctx context.Context) (bool, error) {
			res, err := promQuery(ctx, promURL, missing+" == 0")
			return len(res) == 1, err
		})
		resolved := eventually(t, "CDCSchemaDrift resolved in Prometheus and Alertmanager", 2*time.Minute, func(ctx context.Context) (bool, error) {
			res, err := promQuery(ctx, promURL, alert)
			if err != nil || len(res) > 0 {
				return false, err
			}
			as, err := amAlerts(ctx, amURL, `alertname="CDCSchemaDrift"`, fmt.Sprintf(`table=%q`, tbl.table))
			return len(as) == 0, err
		})
		t.Logf("run %d: target ALTER TABLE → alert resolved (seen by the test) %.1fs", run, resolved.Sub(followed).Seconds())
	}
	t.Logf("median over 3 runs: ALTER TABLE → metric %.1fs (runs %.1f), → firing %.1fs (runs %.1f); "+
		"schema_check.interval %s, scrape %s, evaluation %s, for: %s",
		median(toMetric), toMetric, median(toFiring), toFiring, checkEvery, iv.scrape, iv.eval, iv.schemaFor)
}
