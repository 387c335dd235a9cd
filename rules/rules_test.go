// Package rules holds cdc-sentinel's Prometheus rule files; this test
// checks them with the real promtool and against the code and docs.
package rules

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	amlabels "github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/cdc-sentinel/cdc-sentinel/internal/mixin/mixintest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type testFile struct {
	Tests []struct {
		Name          string `yaml:"name"`
		AlertRuleTest []struct {
			Alertname string           `yaml:"alertname"`
			ExpAlerts []map[string]any `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// ruleFiles are the rule files every installation loads.
func ruleFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("cdc-sentinel.*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no rule files cdc-sentinel.*.yml: %v", err)
	}
	return files
}

// allRuleFiles adds the optional ones (rules/optional/), which users
// opt in to and which are held to the same checks.
func allRuleFiles(t *testing.T) []string {
	t.Helper()
	optional, err := filepath.Glob("optional/cdc-sentinel.*.yml")
	if err != nil || len(optional) == 0 {
		t.Fatalf("no optional rule files optional/cdc-sentinel.*.yml: %v", err)
	}
	return append(ruleFiles(t), optional...)
}

func loadRules(t *testing.T) (alerts, records []rule) {
	t.Helper()
	for _, f := range allRuleFiles(t) {
		var rf ruleFile
		readYAML(t, f, &rf)
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				if r.Alert != "" {
					alerts = append(alerts, r)
				} else {
					records = append(records, r)
				}
			}
		}
	}
	return alerts, records
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func runPromtool(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(testenv.Promtool(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestPromtoolCheckRules(t *testing.T) {
	runPromtool(t, append([]string{"check", "rules"}, allRuleFiles(t)...)...)
}

func TestPromtoolTestRules(t *testing.T) {
	tests, _ := filepath.Glob("tests/*.yml")
	if len(tests) == 0 {
		t.Fatal("no promtool tests in rules/tests")
	}
	runPromtool(t, append([]string{"test", "rules"}, tests...)...)
}

// The alerts the monitoring package promises; users' routes and
// remediation rules match on these names.
var requiredAlerts = []string{
	"CDCConnectClusterDown", "CDCConnectorFailed", "CDCConnectorTaskFailed",
	"CDCConnectorPausedTooLong", "CDCTableLagHigh", "CDCCaptureLatencyHigh",
	"CDCReplicationSlotLagHigh", "CDCDeadLetterQueueSpike", "CDCRowDriftDetected",
	"CDCReconcileFailed", "CDCRemediationFailing", "CDCRemediationCircuitOpen",
	"CDCSentinelDown", "CDCSentinelCollectorFailing",
	"CDCConnectorUnassigned", "CDCConnectorTaskUnassigned",
}

func TestRequiredAlertsExist(t *testing.T) {
	alerts, _ := loadRules(t)
	have := map[string]bool{}
	for _, a := range alerts {
		if have[a.Alert] {
			t.Errorf("alert %s defined twice", a.Alert)
		}
		have[a.Alert] = true
	}
	for _, name := range requiredAlerts {
		if !have[name] {
			t.Errorf("alert %s is missing", name)
		}
	}
}

func TestEveryAlertHasSeverityAnnotationsAndARunbookSection(t *testing.T) {
	runbook, err := os.ReadFile("../docs/runbooks.md")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^## (\S+)\s*$`).FindAllStringSubmatch(string(runbook), -1) {
		anchors[strings.ToLower(m[1])] = true
	}
	alerts, _ := loadRules(t)
	for _, a := range alerts {
		t.Run(a.Alert, func(t *testing.T) {
			if !regexp.MustCompile(`^CDC[A-Z][A-Za-z]+$`).MatchString(a.Alert) {
				t.Errorf("name %q is not CDC-prefixed CamelCase", a.Alert)
			}
			if !slices.Contains([]string{"critical", "warning", "info"}, a.Labels["severity"]) {
				t.Errorf("severity %q is not one of critical, warning, info", a.Labels["severity"])
			}
			for _, k := range []string{"summary", "description", "runbook_url"} {
				if strings.TrimSpace(a.Annotations[k]) == "" {
					t.Errorf("annotation %s is missing", k)
				}
			}
			url := a.Annotations["runbook_url"]
			const prefix = "https://github.com/cdc-sentinel/cdc-sentinel/blob/main/docs/runbooks.md#"
			anchor, ok := strings.CutPrefix(url, prefix)
			if !ok {
				t.Fatalf("runbook_url %q does not point into docs/runbooks.md (%s…)", url, prefix)
			}
			if anchor != strings.ToLower(a.Alert) {
				t.Errorf("runbook_url anchor %q, want %q", anchor, strings.ToLower(a.Alert))
			}
			if !anchors[anchor] {
				t.Errorf("docs/runbooks.md has no section \"## %s\"", a.Alert)
			}
		})
	}
}

func TestEveryAlertHasAFiringAndAQuietTestCase(t *testing.T) {
	firing, quiet := map[string]bool{}, map[string]bool{}
	tests, _ := filepath.Glob("tests/*.yml")
	for _, f := range tests {
		var tf testFile
		readYAML(t, f, &tf)
		for _, tc := range tf.Tests {
			for _, art := range tc.AlertRuleTest {
				if len(art.ExpAlerts) > 0 {
					firing[art.Alertname] = true
				} else {
					quiet[art.Alertname] = true
				}
			}
		}
	}
	alerts, _ := loadRules(t)
	for _, a := range alerts {
		if !firing[a.Alert] {
			t.Errorf("alert %s: no promtool test case where it fires", a.Alert)
		}
		if !quiet[a.Alert] {
			t.Errorf("alert %s: no promtool test case where it stays quiet", a.Alert)
		}
	}
}

// notExported are names the rules may use that cdc-sentinel does not
// export: Prometheus's own.
var notExported = map[string]bool{"up": true, "ALERTS": true, "ALERTS_FOR_STATE": true}

func TestRuleExpressionsNameOnlyExportedMetrics(t *testing.T) {
	exported, err := mixintest.ExportedMetrics("..")
	if err != nil {
		t.Fatal(err)
	}
	alerts, records := loadRules(t)
	recorded := map[string]bool{}
	for _, r := range records {
		recorded[r.Record] = true
	}
	for _, r := range append(alerts, records...) {
		names, err := mixintest.MetricNames(r.Expr)
		if err != nil {
			t.Errorf("%s%s: %v", r.Alert, r.Record, err)
			continue
		}
		for _, n := range names {
			if !exported[n] && !recorded[n] && !notExported[n] {
				t.Errorf("%s%s: metric %s is not exported by cdc-sentinel (no %q literal in its Go sources)", r.Alert, r.Record, n, n)
			}
		}
	}
}

// identifying are the labels that say what is broken, per metric: an
// alert over the metric must keep them, because Alertmanager groups by
// them and the remediator acts on them.
var identifying = map[string][]string{
	"cdc_connect_up":                        {"connect_cluster"},
	"cdc_connect_connector_state":           {"connect_cluster", "connector"},
	"cdc_connect_task_state":                {"connect_cluster", "connector", "task"},
	"cdc_connector_offset_lag_seconds":      {"connect_cluster", "connector"},
	"cdc_dlq_records_total":                 {"connect_cluster", "connector", "topic"},
	"cdc_table_lag_seconds":                 {"table"},
	"cdc_drift_estimated_mismatch_ratio":    {"table"},
	"cdc_drift_rows_mismatched_total":       {"table"},
	"cdc_reconcile_runs_total":              {"table"},
	"cdc_replication_slot_lag_bytes":        {"database", "slot"},
	"cdc_replication_slot_active":           {"database", "slot"},
	"cdc_sqlserver_capture_latency_seconds": {"database"},
	"cdc_db_up":                             {"database"},
	"cdc_scrape_collector_success":          {"collector"},
	// What a remediation failed on; empty for a target that has none.
	"cdc_remediation_actions_total": {"connect_cluster", "connector", "table"},
}

func TestAlertsKeepTheLabelsThatIdentifyWhatIsBroken(t *testing.T) {
	alerts, _ := loadRules(t)
	p := parser.NewParser(parser.Options{})
	for _, a := range alerts {
		expr, err := p.ParseExpr(a.Expr)
		if err != nil {
			t.Errorf("%s: %v", a.Alert, err)
			continue
		}
		parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
			agg, ok := node.(*parser.AggregateExpr)
			if !ok {
				return nil
			}
			names, _ := mixintest.MetricNames(agg.Expr.String())
			for _, n := range names {
				for _, l := range identifying[n] {
					kept := slices.Contains(agg.Grouping, l)
					if agg.Without {
						kept = !kept
					}
					if !kept {
						t.Errorf("%s: %s drops label %s of %s", a.Alert, agg.Op, l, n)
					}
				}
			}
			return nil
		})
	}
}

func TestPrometheusExampleConfigLoadsTheRules(t *testing.T) {
	// promtool check config also loads and checks the rule files named.
	runPromtool(t, "check", "config", "../deploy/prometheus/prometheus.yml")
	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName string `yaml:"job_name"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, "../deploy/prometheus/prometheus.yml", &cfg)
	for _, f := range ruleFiles(t) {
		want := "../../rules/" + f
		if !slices.Contains(cfg.RuleFiles, want) {
			t.Errorf("deploy/prometheus/prometheus.yml does not load %s (rule_files: %v)", want, cfg.RuleFiles)
		}
	}
	// CDCSentinelDown selects on this job name.
	if len(cfg.ScrapeConfigs) == 0 || cfg.ScrapeConfigs[0].JobName != "cdc-sentinel" {
		t.Errorf("first scrape config should be job cdc-sentinel, which CDCSentinelDown selects on")
	}
}

// amConfig is the part of Alertmanager's configuration the routing check
// reads. Alertmanager's own config package is not used: it imports every
// notifier's SDK. TestAlertmanagerLoadsTheExampleConfig checks the whole
// file with the real binary.
type amConfig struct {
	Route     amRoute `yaml:"route"`
	Receivers []struct {
		Name           string `yaml:"name"`
		WebhookConfigs []struct {
			URL          string `yaml:"url"`
			SendResolved *bool  `yaml:"send_resolved"`
		} `yaml:"webhook_configs"`
	} `yaml:"receivers"`
}

type amRoute struct {
	Receiver string    `yaml:"receiver"`
	GroupBy  []string  `yaml:"group_by"`
	Matchers []string  `yaml:"matchers"`
	Continue bool      `yaml:"continue"`
	Routes   []amRoute `yaml:"routes"`
}

func TestAlertmanagerExampleRoutesEveryCDCAlertToTheRemediator(t *testing.T) {
	var cfg amConfig
	readYAML(t, "../deploy/alertmanager/alertmanager.yml", &cfg)
	hook := ""
	for _, r := range cfg.Receivers {
		if r.Name != "cdc-sentinel" {
			continue
		}
		if len(r.WebhookConfigs) != 1 {
			t.Fatalf("receiver cdc-sentinel has %d webhook configs, want 1", len(r.WebhookConfigs))
		}
		wc := r.WebhookConfigs[0]
		hook = wc.URL
		if wc.SendResolved == nil || !*wc.SendResolved {
			t.Error("the cdc-sentinel webhook must have send_resolved: true")
		}
	}
	if !strings.HasSuffix(hook, "/alerts") {
		t.Fatalf("receiver cdc-sentinel posts to %q, want cdc-sentinel's /alerts", hook)
	}
	alerts, _ := loadRules(t)
	for _, a := range alerts {
		lset := map[string]string{
			"alertname": a.Alert, "severity": a.Labels["severity"],
			"connect_cluster": "prod", "connector": "orders-sink", "task": "0", "table": "orders",
		}
		var receivers []string
		for _, r := range matchRoutes(t, cfg.Route, routeOpts{}, lset) {
			receivers = append(receivers, r.receiver)
			if r.receiver != "cdc-sentinel" {
				continue
			}
			for _, l := range []string{"alertname", "connect_cluster", "connector", "task", "table"} {
				if !slices.Contains(r.groupBy, l) && !slices.Contains(r.groupBy, "...") {
					t.Errorf("%s: the cdc-sentinel route does not group by %s", a.Alert, l)
				}
			}
		}
		if !slices.Contains(receivers, "cdc-sentinel") {
			t.Errorf("%s is routed to %v, not to cdc-sentinel", a.Alert, receivers)
		}
	}
}

// routeOpts are what a matching route resolves to, inherited down the tree.
type routeOpts struct {
	receiver string
	groupBy  []string
}

// matchRoutes follows Alertmanager's routing (dispatch.Route.Match): the
// first matching child wins unless it says continue; a route none of whose
// children match takes the alert itself.
func matchRoutes(t *testing.T, r amRoute, parent routeOpts, lset map[string]string) []routeOpts {
	opts := parent
	if r.Receiver != "" {
		opts.receiver = r.Receiver
	}
	if len(r.GroupBy) > 0 {
		opts.groupBy = r.GroupBy
	}
	var out []routeOpts
	for _, c := range r.Routes {
		if !routeMatches(t, c, lset) {
			continue
		}
		out = append(out, matchRoutes(t, c, opts, lset)...)
		if !c.Continue {
			break
		}
	}
	if len(out) == 0 {
		out = []routeOpts{opts}
	}
	return out
}

func routeMatches(t *testing.T, r amRoute, lset map[string]string) bool {
	for _, s := range r.Matchers {
		ms, err := amlabels.ParseMatchers(s)
		if err != nil {
			t.Fatalf("matcher %q: %v", s, err)
		}
		for _, m := range ms {
			if !m.Matches(lset[m.Name]) {
				return false
			}
		}
	}
	return true
}

func TestAlertmanagerLoadsTheExampleConfig(t *testing.T) {
	bin := testenv.Tool(t, "alertmanager", "ALERTMANAGER")
	// --check-config is not a flag of alertmanager; a start that fails on
	// the file exits at once with the error, a good one runs until killed.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin,
		"--config.file=../deploy/alertmanager/alertmanager.yml",
		"--storage.path="+t.TempDir(),
		"--web.listen-address=127.0.0.1:0",
		"--cluster.listen-address=",
	)
	out, err := cmd.CombinedOutput()
	if ctx.Err() == nil {
		t.Fatalf("alertmanager exited on the example config: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "level=ERROR") {
		t.Fatalf("alertmanager logged an error on the example config:\n%s", out)
	}
}
