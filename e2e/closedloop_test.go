// Package e2e holds end-to-end tests of cdc-sentinel against the real
// local pipeline and the real Prometheus and Alertmanager.
package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestClosedLoop runs the whole loop: the pipeline fails, cdc-sentinel's
// metrics show it, Prometheus evaluates rules/ and fires, Alertmanager
// routes the alert to cdc-sentinel's /alerts, and the remediator repairs
// the pipeline. Prometheus and Alertmanager run the example configs of
// deploy/ with only intervals and addresses changed.
//
// Each scenario is a parallel subtest on connectors, topics and tables of
// its own, named after the run's prefix; the remediation rules match only
// that prefix, so the shared pipeline's other connectors are never touched.
func TestClosedLoop(t *testing.T) {
	p := stackPipeline(t, "e2e")
	drift := setUpDriftTables(t, p)
	s := startStack(t, p, sentinelConfig(p, drift), fast)
	t.Run("failed sink task is restarted and its alert resolves", func(t *testing.T) {
		t.Parallel()
		s.failedTaskRestarted(t)
	})
	t.Run("DLQ spike pauses the sink", func(t *testing.T) {
		t.Parallel()
		s.dlqSpikePausesSink(t)
	})
	t.Run("drift raises CDCRowDriftDetected and a reconcile runs", func(t *testing.T) {
		t.Parallel()
		s.driftReconciled(t, drift)
	})
	t.Run("every dashboard query runs on Prometheus", func(t *testing.T) {
		t.Parallel()
		s.dashboardQueriesRun(t)
	})
}

// diagnose logs what Prometheus saw, for a scenario that failed: the
// scrapes of cdc-sentinel over the last minutes, and the queries given.
func (s stack) diagnose(t *testing.T, queries ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, q := range append([]string{
		`min_over_time(up{job="cdc-sentinel"}[3m])`,
		`count_over_time(up{job="cdc-sentinel"}[3m])`,
		`max_over_time(scrape_duration_seconds{job="cdc-sentinel"}[3m])`,
		`max_over_time(cdc_scrape_collector_duration_seconds[3m])`,
		`min_over_time(cdc_scrape_collector_success[3m])`,
	}, queries...) {
		res, err := promQuery(ctx, s.promURL, q)
		t.Logf("diagnose %s = %v %v", q, res, err)
	}
}

// dashboardQueriesRun sends every panel query of the generated dashboards,
// with the variables set to All, to the running Prometheus: the parser
// test proves they parse, this that Prometheus executes them (no
// many-to-many matches, no type errors) and that the overview shows data.
func (s stack) dashboardQueriesRun(t *testing.T) {
	vars := strings.NewReplacer("$__rate_interval", "1m", "$__range", "5m", "$__interval", "30s",
		"$connect_cluster", ".*", "$connector", ".*", "$table", ".*")
	withData := 0
	total := 0
	files, err := filepath.Glob(filepath.Join(repoRoot, "dashboards", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				total++
				res, err := promQuery(t.Context(), s.promURL, vars.Replace(tg.Expr))
				if err != nil {
					t.Errorf("%s, panel %q: %v", filepath.Base(file), p.Title, err)
					continue
				}
				if len(res) > 0 {
					withData++
				}
			}
		}
	}
	t.Logf("%d of %d dashboard queries returned data", withData, total)
	if withData == 0 {
		t.Error("no dashboard query returned data from a Prometheus scraping cdc-sentinel")
	}
}

type stack struct {
	p                           *pipeline
	sentinelURL, promURL, amURL string
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// sentinelConfig watches the local pipeline's Connect cluster, Kafka (for
// DLQ volume) and the scenario's drift table, and remediates with the
// recommended rules of docs/runbooks.md restricted to this run's prefix.
func sentinelConfig(p *pipeline, d driftTables) string {
	return watchConfig(p.env) + "tables:\n" + itemsTable(d.name) + fmt.Sprintf(`    source_timestamp_column: updated_at
drift:
  sample_size: 1000
  min_interval: 2s
  budget: 1s
  recheck_margin: 1s
remediation:
  max_actions_per_hour: 30
  verify_timeout: 60s
  rules:
    - name: restart-failed-task
      match: ['alertname="CDCConnectorTaskFailed"', 'connector=~"%[1]s_.*"']
      action: restart_task
      cooldown: 10s
    - name: pause-sink-on-dlq-spike
      match: ['alertname="CDCDeadLetterQueueSpike"', 'connector=~"%[1]s_.*"']
      action: pause_connector
    - name: reconcile-on-drift
      match: ['alertname="CDCRowDriftDetected"', 'table=~"%[1]s_.*"']
      action: reconcile
      cooldown: 1h
`, p.prefix)
}

// failedTaskRestarted: a sink with errors.tolerance=none meets a row its
// target table refuses (a CHECK constraint), and its task FAILS. The table
// is then fixed, as an operator or a migration would; the loop must
// restart the task without anyone calling Connect, and the alert resolve.
func (s stack) failedTaskRestarted(t *testing.T) {
	p := s.p
	name := p.prefix + "_fail"
	p.fragileSink(t, name)

	t.Cleanup(func() {
		if t.Failed() {
			s.diagnose(t, fmt.Sprintf(`max_over_time(cdc_connect_task_state{connector=%q,state="FAILED"}[3m])`, name),
				fmt.Sprintf(`ALERTS{alertname="CDCConnectorTaskFailed",connector=%q}`, name))
		}
	})
	var tl timeline
	p.produce(t, name, jsonRecord(1, "fine"), jsonRecord(2, "poison"), jsonRecord(3, "fine"))
	failedAt := p.waitTaskState(t, name, "FAILED", 60*time.Second)
	tl.t0 = failedAt
	tl.mark(t, failedAt, "task FAILED (seen on Connect's REST API)")

	// The cause goes away; the task stays FAILED until someone restarts it.
	p.healSink(t, name)

	var rec auditRecord
	// The audit record proves the whole path: Prometheus fired, Alertmanager
	// routed the alert to /alerts, and the remediator restarted the task
	// and saw it RUNNING. Waiting on it, rather than on Alertmanager's
	// active alerts, does not depend on catching the few seconds the alert
	// is active.
	running := eventually(t, "remediator restarted the task", 120*time.Second, func(ctx context.Context) (bool, error) {
		recs, err := audit(ctx, s.sentinelURL, "restart-failed-task")
		if err != nil {
			return false, err
		}
		for _, r := range recs {
			if r.Arguments["connector"] == name && r.Outcome == "success" {
				rec = r
				return true, nil
			}
		}
		return false, nil
	})
	if rec.Action != "restart_task" || rec.Arguments["task"] != "0" || rec.Arguments["connect_cluster"] != "local" {
		t.Errorf("audit record: action %s, arguments %v; want restart_task of local/%s task 0", rec.Action, rec.Arguments, name)
	}
	if rec.Alert.Name != "CDCConnectorTaskFailed" {
		t.Errorf("restart answered alert %q, want CDCConnectorTaskFailed", rec.Alert.Name)
	}
	tl.mark(t, rec.Alert.StartsAt, "CDCConnectorTaskFailed fired (the alert's startsAt)")
	tl.mark(t, rec.ReceivedAt, "webhook received the alert from Alertmanager")
	remediated := tl.mark(t, rec.FinishedAt, "restart_task verified RUNNING (audit record)")
	tl.mark(t, running, "audit record seen by the test")

	_, task, trace, err := p.state(t.Context(), name)
	if err != nil || task != "RUNNING" {
		t.Fatalf("task after remediation: %s %v\n%s", task, err, trace)
	}
	eventually(t, "the refused row applied after the restart", 30*time.Second, func(ctx context.Context) (bool, error) {
		return p.count(t, p.env.TargetDSN, "SELECT count(*) FROM "+name) == 3, nil
	})

	resolved := eventually(t, "CDCConnectorTaskFailed resolved", 90*time.Second, func(ctx context.Context) (bool, error) {
		as, err := amAlerts(ctx, s.amURL, `alertname="CDCConnectorTaskFailed"`, fmt.Sprintf(`connector=%q`, name))
		if err != nil || len(as) > 0 {
			return false, err
		}
		pending, err := promQuery(ctx, s.promURL, fmt.Sprintf(`ALERTS{alertname="CDCConnectorTaskFailed",connector=%q}`, name))
		return err == nil && len(pending) == 0, err
	})
	tl.mark(t, resolved, "alert resolved in Prometheus and Alertmanager")
	t.Logf("failure → remediation: %s\n%s", remediated, strings.Join(tl.steps, "\n"))
}

// dlqSpikePausesSink: a sink with errors.tolerance=all dead-letters a burst
// of records it cannot convert; CDCDeadLetterQueueSpike fires and the
// remediator pauses the sink.
func (s stack) dlqSpikePausesSink(t *testing.T) {
	p := s.p
	name := p.prefix + "_dlq"
	dlq := name + "_dlq"
	p.exec(t, p.env.TargetDSN, fmt.Sprintf(`CREATE TABLE %s (id int PRIMARY KEY, v text)`, name))
	p.execCleanup(t, p.env.TargetDSN, "DROP TABLE IF EXISTS "+name)
	p.createTopics(t, name, dlq)
	cfg := p.sinkConfig(name, name)
	cfg["errors.tolerance"] = "all"
	cfg["errors.deadletterqueue.topic.name"] = dlq
	cfg["errors.deadletterqueue.topic.replication.factor"] = "1"
	cfg["errors.deadletterqueue.context.headers.enable"] = "true"
	p.createConnector(t, name, cfg)
	p.waitTaskState(t, name, "RUNNING", 60*time.Second)

	// increase() needs the counter's zero before the burst.
	sel := fmt.Sprintf(`cdc_dlq_records_total{connector=%q,topic=%q}`, name, dlq)
	eventually(t, "DLQ counter scraped at 0", 60*time.Second, func(ctx context.Context) (bool, error) {
		s, err := promQuery(ctx, s.promURL, fmt.Sprintf(`count_over_time(%s[1m]) >= 2`, sel))
		return len(s) == 1, err
	})

	var tl timeline
	tl.start()
	bad := make([][2][]byte, 200)
	for i := range bad {
		bad[i] = [2][]byte{[]byte(fmt.Sprintf("not json %d", i)), []byte("{not json")}
	}
	p.produce(t, name, bad...)
	tl.mark(t, time.Now(), "200 unconvertible records produced")
	counted := eventually(t, "200 records dead-lettered", 60*time.Second, func(ctx context.Context) (bool, error) {
		s, err := promQuery(ctx, s.promURL, sel+" >= 200")
		return len(s) == 1, err
	})
	tl.mark(t, counted, "cdc_dlq_records_total reached 200 in Prometheus")

	paused := eventually(t, "sink paused by the remediator", 90*time.Second, func(ctx context.Context) (bool, error) {
		c, _, _, err := p.state(ctx, name)
		return c == "PAUSED", err
	})
	tl.mark(t, paused, "connector PAUSED")
	// The audit record is written once the pause is verified.
	var rec auditRecord
	eventually(t, "pause_connector recorded in the audit log", 30*time.Second, func(ctx context.Context) (bool, error) {
		recs, err := audit(ctx, s.sentinelURL, "pause-sink-on-dlq-spike")
		for _, r := range recs {
			if r.Arguments["connector"] == name && r.Outcome == "success" {
				rec = r
				return true, nil
			}
		}
		return false, err
	})
	if rec.Action != "pause_connector" || rec.Arguments["connect_cluster"] != "local" {
		t.Errorf("audit record: action %s, arguments %v; want pause_connector of local/%s", rec.Action, rec.Arguments, name)
	}
	if rec.Alert.Labels["topic"] != dlq {
		t.Errorf("alert labels %v: want topic %s", rec.Alert.Labels, dlq)
	}
	tl.mark(t, rec.FinishedAt, "pause_connector verified (audit record)")
	t.Logf("DLQ burst → sink paused\n%s", strings.Join(tl.steps, "\n"))
}

// driftTables are the scenario's own source and target tables: the
// pipeline does not replicate them; they only need to start identical.
type driftTables struct {
	name    string
	rows    int
	missing int
	changed int
}

func setUpDriftTables(t *testing.T, p *pipeline) driftTables {
	d := driftTables{name: p.prefix + "_drift", rows: 40, missing: 4, changed: 3}
	// One commit time for every row, so deleting rows at the target leaves
	// the table's lag at 0 and the drift recheck is not delayed.
	const ts = `'2026-01-01 00:00:00+00'::timestamptz`
	p.exec(t, p.env.SourceDSN,
		fmt.Sprintf(`CREATE TABLE public.%s (id int PRIMARY KEY, name text NOT NULL, updated_at timestamptz NOT NULL)`, d.name),
		fmt.Sprintf(`INSERT INTO public.%s SELECT g, 'row ' || g, %s FROM generate_series(1, %d) g`, d.name, ts, d.rows))
	p.execCleanup(t, p.env.SourceDSN, "DROP TABLE IF EXISTS public."+d.name)
	p.exec(t, p.env.TargetDSN,
		fmt.Sprintf(`CREATE TABLE public.%s (id int PRIMARY KEY, name text NOT NULL, __source_ts_ms bigint NOT NULL)`, d.name),
		fmt.Sprintf(`INSERT INTO public.%s SELECT g, 'row ' || g, (extract(epoch FROM %s) * 1000)::bigint FROM generate_series(1, %d) g`, d.name, ts, d.rows))
	p.execCleanup(t, p.env.TargetDSN, "DROP TABLE IF EXISTS public."+d.name)
	return d
}

// driftReconciled: rows deleted and changed at the target behind the
// pipeline's back raise CDCRowDriftDetected, and the remediator runs a
// reconcile of the table that finds exactly those rows.
func (s stack) driftReconciled(t *testing.T, d driftTables) {
	p := s.p
	// Identical tables first: the sampler finds nothing.
	eventually(t, "a clean drift check", 30*time.Second, func(ctx context.Context) (bool, error) {
		s, err := promQuery(ctx, s.promURL, fmt.Sprintf(`cdc_drift_rows_checked_total{table=%q} > 0`, d.name))
		return len(s) == 1, err
	})
	if s, _ := promQuery(t.Context(), s.promURL, fmt.Sprintf(`ALERTS{alertname="CDCRowDriftDetected",table=%q}`, d.name)); len(s) > 0 {
		t.Fatalf("CDCRowDriftDetected before any drift: %v", s)
	}

	var tl timeline
	tl.start()
	p.exec(t, p.env.TargetDSN,
		fmt.Sprintf(`DELETE FROM public.%s WHERE id <= %d`, d.name, d.missing),
		fmt.Sprintf(`UPDATE public.%s SET name = name || ' (edited at the target)' WHERE id > %d AND id <= %d`, d.name, d.missing, d.missing+d.changed))
	tl.mark(t, time.Now(), fmt.Sprintf("%d target rows deleted, %d changed", d.missing, d.changed))

	firing := eventually(t, "CDCRowDriftDetected firing", 90*time.Second, func(ctx context.Context) (bool, error) {
		s, err := promQuery(ctx, s.promURL, fmt.Sprintf(`ALERTS{alertname="CDCRowDriftDetected",alertstate="firing",table=%q}`, d.name))
		return len(s) == 1, err
	})
	tl.mark(t, firing, "CDCRowDriftDetected firing in Prometheus")

	var rec auditRecord
	eventually(t, "reconcile started by the remediator", 90*time.Second, func(ctx context.Context) (bool, error) {
		recs, err := audit(ctx, s.sentinelURL, "reconcile-on-drift")
		if err != nil {
			return false, err
		}
		for _, r := range recs {
			if r.Arguments["table"] == d.name && r.Outcome == "success" {
				rec = r
				return true, nil
			}
		}
		return false, nil
	})
	tl.mark(t, rec.FinishedAt, "reconcile action recorded (audit record)")

	done := eventually(t, "reconcile run finished with the differing rows", 90*time.Second, func(ctx context.Context) (bool, error) {
		runs, err := promQuery(ctx, s.promURL, fmt.Sprintf(`cdc_reconcile_runs_total{table=%q,outcome="success"} >= 1`, d.name))
		if err != nil || len(runs) == 0 {
			return false, err
		}
		diff, err := promQuery(ctx, s.promURL, fmt.Sprintf(`cdc_reconcile_rows_differing{table=%q}`, d.name))
		if err != nil {
			return false, err
		}
		got := map[string]float64{}
		for _, s := range diff {
			got[s.Labels["kind"]] = s.Value
		}
		return got["missing"] == float64(d.missing) && got["changed"] == float64(d.changed), nil
	})
	tl.mark(t, done, fmt.Sprintf("reconcile finished: %d missing, %d changed (cdc_reconcile_rows_differing)", d.missing, d.changed))
	t.Logf("drift → reconcile\n%s", strings.Join(tl.steps, "\n"))
}
