// Package dashboards holds cdc-sentinel's Grafana dashboards; this test
// checks what users import against the code and the rules.
package dashboards

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/mixin/mixintest"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/webhook"
)

// The dashboards are rendered from mixin/ (internal/mixin checks they are
// current); these tests look at the JSON users import.
const committed = "."

// loadCommitted reads a committed dashboard as generic JSON: the checks
// below look at what users import, not at our Go types.
func loadCommitted(t *testing.T) map[string]map[string]any {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(committed, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in %s", committed)
	}
	out := map[string]map[string]any{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d map[string]any
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s is not JSON: %v", f, err)
		}
		out[filepath.Base(f)] = d
	}
	return out
}

func TestDashboardsImportAsTheyAre(t *testing.T) {
	uids := map[string]string{}
	for name, d := range loadCommitted(t) {
		t.Run(name, func(t *testing.T) {
			uid, _ := d["uid"].(string)
			if uid == "" || len(uid) > 40 {
				t.Errorf("uid %q: want a stable uid of at most 40 characters", uid)
			}
			if other, dup := uids[uid]; dup {
				t.Errorf("uid %q also used by %s", uid, other)
			}
			uids[uid] = name
			if _, ok := d["id"]; ok {
				t.Error("has an id: Grafana assigns ids, an imported one clashes")
			}
			vars := map[string]map[string]any{}
			for _, v := range d["templating"].(map[string]any)["list"].([]any) {
				v := v.(map[string]any)
				vars[v["name"].(string)] = v
			}
			if ds := vars["datasource"]; ds == nil || ds["type"] != "datasource" || ds["query"] != "prometheus" {
				t.Errorf("no Prometheus datasource variable: panels could not find their data on import")
			}
			for _, want := range []string{"connect_cluster", "connector", "table"} {
				if strings.Contains(string(mustJSON(t, d["panels"])), "$"+want) && vars[want] == nil {
					t.Errorf("panels use $%s but there is no such variable", want)
				}
			}
			walkPanels(d["panels"], func(p map[string]any) {
				if p["type"] == "row" {
					return
				}
				ds, _ := p["datasource"].(map[string]any)
				if ds["uid"] != "${datasource}" {
					t.Errorf("panel %q: datasource %v, want the ${datasource} variable", p["title"], p["datasource"])
				}
			})
		})
	}
	// Variables for cluster, connector and table exist across the set.
	have := map[string]bool{}
	for _, d := range loadCommitted(t) {
		for _, v := range d["templating"].(map[string]any)["list"].([]any) {
			have[v.(map[string]any)["name"].(string)] = true
		}
	}
	for _, want := range []string{"connect_cluster", "connector", "table"} {
		if !have[want] {
			t.Errorf("no dashboard has a %s variable", want)
		}
	}
}

func TestEveryDashboardQueryParsesAndNamesExportedMetrics(t *testing.T) {
	exported, err := mixintest.ExportedMetrics("..")
	if err != nil {
		t.Fatal(err)
	}
	recorded, err := mixintest.RecordingRules("../rules")
	if err != nil {
		t.Fatal(err)
	}
	// Prometheus's own series that dashboards may show.
	prometheusOwn := []string{"ALERTS", "ALERTS_FOR_STATE", "up"}
	used := map[string]bool{}
	for name, d := range loadCommitted(t) {
		var queries []string
		walkPanels(d["panels"], func(p map[string]any) {
			targets, _ := p["targets"].([]any)
			for _, tg := range targets {
				if e, _ := tg.(map[string]any)["expr"].(string); e != "" {
					queries = append(queries, e)
				}
			}
		})
		for _, v := range d["templating"].(map[string]any)["list"].([]any) {
			v := v.(map[string]any)
			if v["type"] != "query" {
				continue
			}
			qv := v["query"]
			if m, ok := qv.(map[string]any); ok {
				qv = m["query"]
			}
			sel, _ := mixintest.LabelValuesQuery(qv.(string))
			if sel == "" {
				t.Errorf("%s: variable %s reads every series (label_values without a metric)", name, v["name"])
				continue
			}
			queries = append(queries, sel)
		}
		if len(queries) == 0 {
			t.Errorf("%s has no queries", name)
		}
		for _, q := range queries {
			names, err := mixintest.MetricNames(mixintest.SubstituteGrafana(q))
			if err != nil {
				t.Errorf("%s: query does not parse: %v\n%s", name, err, q)
				continue
			}
			for _, n := range names {
				used[n] = true
				if !exported[n] && !recorded[n] && !slices.Contains(prometheusOwn, n) {
					t.Errorf("%s: metric %s is neither exported by cdc-sentinel nor recorded by rules/\n%s", name, n, q)
				}
			}
		}
	}
	// Each metric family of the public contract appears on some dashboard.
	for _, want := range []string{
		"cdc_connect_task_state", "cdc_connect_connector_state", "cdc_table_lag_seconds",
		"cdc_dlq_records_total", "cdc_drift_estimated_mismatch_ratio", "cdc_reconcile_runs_total",
		"cdc_remediation_actions_total", "cdc_remediation_circuit_open",
	} {
		if !used[want] {
			t.Errorf("no dashboard shows %s", want)
		}
	}
	// rules/cdc-sentinel.recording.yml says the dashboards use its rules.
	for r := range recorded {
		if !used[r] {
			t.Errorf("recording rule %s is used by no dashboard", r)
		}
	}
}

// Every panel that shows a number says in what: Grafana cannot tell
// seconds from records, and a table's value column is no exception.
func TestEveryPanelHasAUnit(t *testing.T) {
	for name, d := range loadCommitted(t) {
		walkPanels(d["panels"], func(p map[string]any) {
			if p["type"] == "row" {
				return
			}
			fc, _ := p["fieldConfig"].(map[string]any)
			defaults, _ := fc["defaults"].(map[string]any)
			if unit, _ := defaults["unit"].(string); unit == "" {
				t.Errorf("%s: %s panel %q has no unit", name, p["type"], p["title"])
			}
		})
	}
}

// queriesOf lists the expressions of a dashboard's panels.
func queriesOf(d map[string]any) []string {
	var out []string
	walkPanels(d["panels"], func(p map[string]any) {
		targets, _ := p["targets"].([]any)
		for _, tg := range targets {
			if e, _ := tg.(map[string]any)["expr"].(string); e != "" {
				out = append(out, e)
			}
		}
	})
	return out
}

// The questions on call asks, and where the dashboards answer them.
func TestDashboardsAnswerTheOnCallQuestions(t *testing.T) {
	all := loadCommitted(t)
	overview := strings.Join(queriesOf(all["cdc-sentinel-overview.json"]), "\n")
	connector := all["cdc-sentinel-connector.json"]

	// What is broken: failed connectors, not only tasks.
	if !strings.Contains(overview, `cdc_connect_connectors:count{connect_cluster=~"$connect_cluster",state="FAILED"}`) {
		t.Error("the overview does not count FAILED connectors")
	}
	// Since when: the time each alert's condition began.
	for _, name := range []string{"cdc-sentinel-overview.json", "cdc-sentinel-connector.json", "cdc-sentinel-remediation.json"} {
		if !strings.Contains(strings.Join(queriesOf(all[name]), "\n"), "time() - max by (alertname") {
			t.Errorf("%s does not say since when each broken thing is broken", name)
		}
	}
	// Which table lags: a table of tables, worst first.
	if !strings.Contains(overview, "sort_desc(table:cdc_table_lag_seconds:max") {
		t.Error("the overview does not list tables by lag")
	}
	// Is remediation acting on this connector: every remediation query of
	// the connector dashboard filters by $connector.
	n := 0
	for _, q := range queriesOf(connector) {
		if strings.Contains(q, "cdc_remediation_") {
			n++
			if !strings.Contains(q, `connector=~"$connector"`) {
				t.Errorf("connector dashboard: remediation query ignores $connector:\n%s", q)
			}
		}
	}
	if n == 0 {
		t.Error("the connector dashboard shows no remediation")
	}
	// Where the decisions are explained: a link to the audit API.
	for name, d := range all {
		found := false
		for _, l := range d["links"].([]any) {
			if u, _ := l.(map[string]any)["url"].(string); strings.Contains(u, "/api/v1/remediations") {
				found = true
			}
		}
		if !found {
			t.Errorf("%s has no link to the remediation audit API", name)
		}
	}
}

func TestSubstitutedGrafanaVariablesParse(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`rate(x{a=~"$connect_cluster"}[$__rate_interval])`, `rate(x{a=~"x"}[5m])`},
		{`increase(x{t=~"${table}"}[$__range])`, `increase(x{t=~"x"}[5m])`},
		{`x{t=~"${table:regex}"} offset $__interval`, `x{t=~"x"} offset 5m`},
	} {
		if got := mixintest.SubstituteGrafana(tc.in); got != tc.want {
			t.Errorf("SubstituteGrafana(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if _, err := mixintest.MetricNames(mixintest.SubstituteGrafana(tc.in)); err != nil {
			t.Errorf("%q: %v", tc.in, err)
		}
	}
}

func TestMetricNamesRejectsSelectorsWithoutAName(t *testing.T) {
	if _, err := mixintest.MetricNames(`sum({job="x"})`); err == nil || !strings.Contains(err.Error(), "names no metric") {
		t.Errorf("err = %v, want a selector naming no metric", err)
	}
	if _, err := mixintest.MetricNames(`rate(x[5m]`); err == nil {
		t.Error("unbalanced parenthesis parsed")
	}
	got, err := mixintest.MetricNames(`a + on (x) group_left b or {__name__="c"} or histogram_quantile(0.5, a_bucket)`)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	if want := []string{"a", "a_bucket", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("names = %v, want %v", got, want)
	}
}

func walkPanels(v any, fn func(map[string]any)) {
	panels, _ := v.([]any)
	for _, p := range panels {
		p := p.(map[string]any)
		fn(p)
		walkPanels(p["panels"], fn)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// auditRecorder is an audit reader that keeps the query it was asked.
type auditRecorder struct{ q *store.AuditQuery }

func (a auditRecorder) Audit(_ context.Context, q store.AuditQuery) ([]store.Record, error) {
	*a.q = q
	return nil, nil
}

// Every audit link asks only what the audit API accepts, and the
// connector dashboard's narrows it to the chosen connectors and
// clusters: served by the real handler with the variables substituted
// as Grafana does (csv format; All is the variables' allValue '.*').
func TestAuditLinksAreAcceptedByTheAuditAPI(t *testing.T) {
	for name, d := range loadCommitted(t) {
		for _, l := range d["links"].([]any) {
			u, _ := l.(map[string]any)["url"].(string)
			_, query, ok := strings.Cut(u, webhook.AuditPath+"?")
			if !ok {
				continue
			}
			for _, tc := range []struct {
				connector, cluster string
				want               []string
			}{{"sink-a,sink-b", "east", []string{"sink-a", "sink-b"}}, {".*", ".*", nil}} {
				q := strings.NewReplacer("${__from:date:iso}", "2025-01-01T00:00:00.000Z",
					"${connector:csv}", tc.connector, "${connect_cluster:csv}", tc.cluster).Replace(query)
				var got store.AuditQuery
				w := httptest.NewRecorder()
				webhook.Handler(nil, auditRecorder{&got}, webhook.Options{}).ServeHTTP(w, httptest.NewRequest(http.MethodGet, webhook.AuditPath+"?"+q, nil))
				if w.Code != http.StatusOK {
					t.Errorf("%s: the audit link's query %q answered %d: %s", name, q, w.Code, w.Body)
					continue
				}
				if name != "cdc-sentinel-connector.json" {
					continue
				}
				if !slices.Equal(got.Connectors, tc.want) {
					t.Errorf("connector dashboard, connector %q: the audit link filters by %q, want %q", tc.connector, got.Connectors, tc.want)
				}
				if tc.want != nil && !slices.Equal(got.ConnectClusters, []string{tc.cluster}) {
					t.Errorf("connector dashboard, cluster %q: the audit link filters by %q", tc.cluster, got.ConnectClusters)
				}
			}
		}
	}
}
