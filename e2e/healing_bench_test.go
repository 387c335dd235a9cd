package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/mixin"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// TestHealingTime measures how long a failed sink task waits for its
// restart with the shipped defaults: rules/ as they are, and the example
// Prometheus and Alertmanager configs of deploy/ with only addresses
// changed. It is a benchmark, not a check: it runs only with
// CDC_BENCH_HEALING=1 (bench/healing/run.sh) and reports each run's parts
// and the median; nothing is asserted about the times.
//
// Each run fails a fresh sink (a CHECK constraint in the target refuses a
// record, errors.tolerance=none), removes the cause, and waits until the
// remediator has restarted the task. The parts, from the failure as the
// benchmark sees it on Connect's REST API (polled every 100ms):
//
//	scrape     until the first scrape that shows the task FAILED
//	eval       until a rule evaluation sees that sample (the alert's activeAt)
//	for        until the alert fires (activeAt + for:, at an evaluation)
//	notify     from firing to the webhook's receipt (Prometheus → Alertmanager,
//	           group_wait, Alertmanager → cdc-sentinel)
//	action     from the receipt to the task leaving FAILED on Connect (the
//	           remediator's queue, live-state pre-check and restart)
func TestHealingTime(t *testing.T) {
	if os.Getenv("CDC_BENCH_HEALING") != "1" {
		t.Skip("a benchmark of minutes: run bench/healing/run.sh (CDC_BENCH_HEALING=1)")
	}
	runs := 5
	if v := os.Getenv("CDC_BENCH_HEALING_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("CDC_BENCH_HEALING_RUNS=%q is not a positive integer", v)
		}
		runs = n
	}
	env := testenv.Need(t)
	prometheusBin := testenv.Tool(t, "prometheus", "PROMETHEUS")
	alertmanagerBin := testenv.Tool(t, "alertmanager", "ALERTMANAGER")

	prefix := "heal_" + randomHex(4)
	p := newPipeline(t, env, prefix)
	dir := t.TempDir()
	sentinelAddr, promAddr, amAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	sentinelURL, promURL, amURL := "http://"+sentinelAddr, "http://"+promAddr, "http://"+amAddr

	// The recommended rule of docs/runbooks.md, restricted to this run's
	// connectors so that the shared pipeline's others are never touched.
	cfg := fmt.Sprintf(`connect_clusters:
  - name: local
    url: %s
    timeout: 10s
remediation:
  max_actions_per_hour: 30
  rules:
    - name: restart-failed-task
      match: ['alertname="CDCConnectorTaskFailed"', 'connector=~"%s_.*"']
      action: restart_task
      cooldown: 2m
      max_attempts: 5
`, env.ConnectURL, prefix)
	cfgPath := filepath.Join(dir, "cdc-sentinel.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	sentinel := start(t, "cdc-sentinel", buildSentinel(t),
		"--config.file="+cfgPath, "--web.listen-address="+sentinelAddr,
		"--storage.path="+filepath.Join(dir, "sentinel-data"))
	sentinel.waitReady(t, sentinelURL+"/-/ready", 30*time.Second)
	am := start(t, "alertmanager", alertmanagerBin,
		"--config.file="+alertmanagerConfig(t, dir, sentinelAddr, shipped),
		"--storage.path="+filepath.Join(dir, "am-data"),
		"--web.listen-address="+amAddr, "--cluster.listen-address=")
	am.waitReady(t, amURL+"/-/ready", 30*time.Second)
	promCfg := prometheusConfig(t, dir, sentinelAddr, amAddr, shipped)
	if v := os.Getenv("CDC_BENCH_HEALING_CONFIG"); v != "" {
		// A baseline: the rules rendered with other mixin defaults,
		// e.g. {"connectorFailedFor": "30s", "connectRuleInterval": ""}.
		promCfg = withRules(t, dir, promCfg, v)
	}
	prom := start(t, "prometheus", prometheusBin,
		"--config.file="+promCfg,
		"--storage.tsdb.path="+filepath.Join(dir, "prom-data"),
		"--web.listen-address="+promAddr)
	prom.waitReady(t, promURL+"/-/ready", 60*time.Second)
	eventually(t, "Prometheus scraping cdc-sentinel", 2*time.Minute, func(ctx context.Context) (bool, error) {
		s, err := promQuery(ctx, promURL, `up{job="cdc-sentinel"} == 1`)
		return len(s) == 1, err
	})

	var totals []float64
	parts := map[string][]float64{}
	names := []string{"scrape", "eval", "for", "notify", "action"}
	for i := range runs {
		r := healOnce(t, p, promURL, sentinelURL, fmt.Sprintf("%s_%d", prefix, i))
		totals = append(totals, r.total.Seconds())
		line := fmt.Sprintf("run %d: total %5.1fs =", i+1, r.total.Seconds())
		for j, n := range names {
			parts[n] = append(parts[n], r.parts[j].Seconds())
			line += fmt.Sprintf(" %s %4.1fs", n, r.parts[j].Seconds())
		}
		t.Log(line)
	}
	summary := fmt.Sprintf("median over %d runs: total %.1fs;", runs, median(totals))
	for _, n := range names {
		summary += fmt.Sprintf(" %s %.1fs", n, median(parts[n]))
	}
	t.Log(summary)
	fmt.Println("HEALING " + summary)
}

// withRules renders the mixin with the _config override given as JSON into
// dir and points the Prometheus config at those rule files.
func withRules(t *testing.T, dir, promCfg, override string) string {
	t.Helper()
	var cfg map[string]any
	if err := json.Unmarshal([]byte(override), &cfg); err != nil {
		t.Fatalf("CDC_BENCH_HEALING_CONFIG: %v", err)
	}
	files, err := mixin.RenderWith(repoRoot, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var rules []any
	for _, name := range []string{"rules/cdc-sentinel.alerts.yml", "rules/cdc-sentinel.recording.yml"} {
		path := filepath.Join(dir, filepath.Base(name))
		if err := os.WriteFile(path, files[name], 0o600); err != nil {
			t.Fatal(err)
		}
		rules = append(rules, path)
	}
	m := readYAMLMap(t, promCfg)
	m["rule_files"] = rules
	writeYAML(t, promCfg, m)
	t.Logf("rules rendered with %s", override)
	return promCfg
}

type healing struct {
	total time.Duration
	// parts: scrape, eval, for, notify, action.
	parts [5]time.Duration
}

// healOnce fails a fresh sink task and measures its way to the restart.
func healOnce(t *testing.T, p *pipeline, promURL, sentinelURL, name string) healing {
	t.Helper()
	p.fragileSink(t, name)
	p.produce(t, name, jsonRecord(1, "fine"), jsonRecord(2, "poison"))
	failedAt := pollTask(t, p, name, func(s string) bool { return s == "FAILED" })
	// The cause goes away; the task stays FAILED until it is restarted.
	p.healSink(t, name)
	restartedAt := pollTask(t, p, name, func(s string) bool { return s != "FAILED" })

	var rec auditRecord
	eventually(t, "the remediator's audit record of "+name, time.Minute, func(ctx context.Context) (bool, error) {
		recs, err := audit(ctx, sentinelURL, "restart-failed-task")
		for _, r := range recs {
			if r.Arguments["connector"] == name && r.Decision == "act" {
				rec = r
				return true, nil
			}
		}
		return false, err
	})
	// The first scrape that saw the task FAILED, and the evaluation that
	// first saw that sample (ALERTS_FOR_STATE holds the alert's activeAt).
	scrapedAt := firstSample(t, promURL, fmt.Sprintf(`cdc_connect_task_state{connector=%q,state="FAILED"}[15m]`, name), func(ts, v float64) (float64, bool) { return ts, v == 1 })
	activeAt := firstSample(t, promURL, fmt.Sprintf(`ALERTS_FOR_STATE{alertname="CDCConnectorTaskFailed",connector=%q}[15m]`, name), func(_, v float64) (float64, bool) { return v, true })
	firedAt := rec.Alert.StartsAt
	return healing{
		total: restartedAt.Sub(failedAt),
		parts: [5]time.Duration{
			scrapedAt.Sub(failedAt), activeAt.Sub(scrapedAt), firedAt.Sub(activeAt),
			rec.ReceivedAt.Sub(firedAt), restartedAt.Sub(rec.ReceivedAt),
		},
	}
}

// pollTask polls task 0's state every 100ms until done says so, and
// returns when it first did.
func pollTask(t *testing.T, p *pipeline, name string, done func(string) bool) time.Time {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		_, task, _, err := p.state(ctx, name)
		cancel()
		if err == nil && done(task) {
			return time.Now()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("connector %s: task 0 did not change state within 5m", name)
	return time.Time{}
}

// firstSample reads a range vector's raw samples and returns the time
// pick gives for the earliest one it accepts.
func firstSample(t *testing.T, promURL, q string, pick func(ts, v float64) (float64, bool)) time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	series, err := promRange(ctx, promURL, q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	best := math.Inf(1)
	for _, s := range series {
		for _, pt := range s {
			if at, ok := pick(pt[0], pt[1]); ok && at < best {
				best = at
			}
		}
	}
	if math.IsInf(best, 1) {
		t.Fatalf("%s: no sample", q)
	}
	sec, frac := math.Modf(best)
	return time.Unix(int64(sec), int64(frac*1e9))
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// promRange runs an instant query for a range vector and returns each
// series' raw samples as (unix seconds, value).
func promRange(ctx context.Context, promURL, q string) ([][][2]float64, error) {
	var result []struct {
		Values [][2]any `json:"values"`
	}
	if err := promAPIQuery(ctx, promURL, q, &result); err != nil {
		return nil, err
	}
	var out [][][2]float64
	for _, r := range result {
		var pts [][2]float64
		for _, v := range r.Values {
			ts, _ := v[0].(float64)
			s, _ := v[1].(string)
			val, _ := strconv.ParseFloat(s, 64)
			pts = append(pts, [2]float64{ts, val})
		}
		out = append(out, pts)
	}
	return out, nil
}
