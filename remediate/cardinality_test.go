package remediate

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectaction"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

const cardinalityRules = `
  rules:
    - name: restart-failed-task
      match: ['alertname="CDCConnectorTaskFailed"']
      action: restart_task
      cooldown: 10m
    - name: reconcile-drift
      match: ['alertname="CDCTableDrift"']
      action: reconcile
      dry_run: true
`

// actionSeries lists cdc_remediation_actions_total's series as
// "rule/action/outcome/cluster/connector/table".
func actionSeries(t *testing.T, reg *prometheus.Registry) []string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mf := range mfs {
		if mf.GetName() != "cdc_remediation_actions_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			out = append(out, strings.Join([]string{l["rule"], l["action"], l["outcome"], l["connect_cluster"], l["connector"], l["table"]}, "/"))
		}
	}
	sort.Strings(out)
	return out
}

// postAlerts POSTs alerts, a notification of at most 1,000 at a time.
func postAlerts(t *testing.T, h *harness, alerts []map[string]any) {
	t.Helper()
	for len(alerts) > 0 {
		n := min(len(alerts), 1000)
		body, err := json.Marshal(map[string]any{"version": "4", "status": "firing", "alerts": alerts[:n]})
		if err != nil {
			t.Fatal(err)
		}
		if code := call(t, http.MethodPost, h.srv.URL+"/alerts", string(body)); code != http.StatusOK {
			t.Fatalf("POST %d alerts: %d", n, code)
		}
		alerts = alerts[n:]
	}
}

// uniqueAlerts are n alerts each naming a connector, cluster or table
// nobody configured or runs (a third each), as anyone who can reach the
// webhook may send.
func uniqueAlerts(h *harness, prefix string, n int) []map[string]any {
	start := h.clock.Now().Add(-time.Minute).Format(time.RFC3339)
	out := make([]map[string]any, 0, n)
	for i := range n {
		labels := map[string]string{"alertname": "CDCConnectorTaskFailed", "task": "0"}
		switch i % 3 {
		case 0: // a connector Connect does not have
			labels["connector"] = fmt.Sprintf("%s-connector-%d", prefix, i)
		case 1: // a cluster nobody configured
			labels["connect_cluster"] = fmt.Sprintf("%s-cluster-%d", prefix, i)
			labels["connector"] = fmt.Sprintf("%s-connector-%d", prefix, i)
		case 2: // a table nobody configured
			labels = map[string]string{"alertname": "CDCTableDrift", "table": fmt.Sprintf("%s-table-%d", prefix, i)}
		}
		out = append(out, map[string]any{"status": "firing", "labels": labels, "startsAt": start})
	}
	return out
}

// cardinalityHarness runs the engine with the connector sink on cluster
// main and the table orders configured, its metrics on their own registry.
func cardinalityHarness(t *testing.T) (*harness, *prometheus.Registry) {
	fc := newFakeConnect()
	fc.set("sink", connect.StateRunning, failedTask("boom"))
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	return newHarnessWith(t, cardinalityRules, fc, func(h *harness) {
		h.metrics, h.tables = m, []string{"orders"}
	}), reg
}

// Alerts with names nobody knows, through the webhook and the queue, add
// no series: the target labels keep the configured clusters and tables
// and the connectors Connect answers for, and fold the rest into "other".
// A reload keeps it so.
func TestUnknownNamesInAlertsAddNoSeries(t *testing.T) {
	h, reg := cardinalityHarness(t)
	known := []map[string]any{
		{"status": "firing", "startsAt": h.clock.Now().Add(-time.Minute).Format(time.RFC3339),
			"labels": map[string]string{"alertname": "CDCConnectorTaskFailed", "connector": "sink", "task": "0"}},
		{"status": "firing", "startsAt": h.clock.Now().Add(-time.Minute).Format(time.RFC3339),
			"labels": map[string]string{"alertname": "CDCTableDrift", "table": "orders"}},
	}
	postAlerts(t, h, known)
	h.settle()
	before := actionSeries(t, reg)

	postAlerts(t, h, uniqueAlerts(h, "a", 150))
	h.settle()
	after := actionSeries(t, reg)
	check := func(series []string) {
		t.Helper()
		for _, s := range series {
			f := strings.Split(s, "/")
			for i, allowed := range [][]string{{"", "main", otherLabel}, {"", "sink", otherLabel}, {"", "orders", otherLabel}} {
				if v := f[3+i]; !contains(allowed, v) {
					t.Errorf("series %s carries %q, a name from an alert", s, v)
				}
			}
		}
		if len(series) > len(before)+8 {
			t.Errorf("%d series after unknown names (%d before):\n%s", len(series), len(before), strings.Join(series, "\n"))
		}
	}
	check(after)
	for _, want := range []string{"restart-failed-task/restart_task/success/main/sink/", "reconcile-drift/reconcile/dry_run///orders"} {
		if !contains(after, want) {
			t.Errorf("no series %s for the names the configuration and Connect know:\n%s", want, strings.Join(after, "\n"))
		}
	}

	// A reload: a new engine on the same metrics, and new names.
	h.stop()
	h.start()
	postAlerts(t, h, uniqueAlerts(h, "b", 90))
	h.settle()
	reloaded := actionSeries(t, reg)
	check(reloaded)
	if len(reloaded) != len(after) {
		t.Errorf("the reload and more unknown names changed the series from %d to %d", len(after), len(reloaded))
	}
}

// 15,000 alerts with unique names, each decided as a worker decides it
// (arguments resolved, Connect read) and counted: the series stay as
// few as with one alert. The queue's store commits are left out, which
// the test above goes through; they would make this one take minutes.
func TestFifteenThousandUniqueAlertsAddNoSeries(t *testing.T) {
	h, reg := cardinalityHarness(t)
	decideAndCount := func(alerts []map[string]any) {
		for _, a := range alerts {
			labels := a["labels"].(map[string]string)
			j := &store.Job{Labels: labels, Phase: store.PhaseFiring, StartsAt: h.clock.Now()}
			for _, r := range h.eng.rules {
				if r.cfg.Matchers[0].Value != labels["alertname"] {
					continue
				}
				tg, err := h.eng.resolve(r.cfg.Action, r.tmpls, j)
				outcome := OutcomeInvalidArgs
				if err == nil {
					outcome = OutcomeSuccess
					if !tg.reconciles() {
						// Connect is read and the action decided, nothing sent.
						rec := &store.Record{}
						_, r, send := connectaction.Check(context.Background(), tg.client, tg.connector, h.eng.actionOptions())
						if r.Verdict != "" {
							h.eng.metrics.live.add(tg.cluster, tg.connector.Connector)
						}
						if !send {
							judgeUnsent(r, rec)
							outcome = rec.Outcome
						}
					}
				}
				h.eng.metrics.countAction(r.cfg.Name, r.cfg.Action, outcome, h.eng.targetLabels(tg.args))
			}
		}
	}
	decideAndCount([]map[string]any{{"labels": map[string]string{"alertname": "CDCConnectorTaskFailed", "connector": "sink", "task": "0"}}})
	one := actionSeries(t, reg)
	decideAndCount(uniqueAlerts(h, "a", 15_000))
	many := actionSeries(t, reg)
	if len(many) > len(one)+8 {
		t.Fatalf("%d series after 15,000 unique alerts, %d after one:\n%s", len(many), len(one), strings.Join(many, "\n"))
	}
	// A reload: a new engine on the same metrics.
	h.stop()
	h.start()
	decideAndCount(uniqueAlerts(h, "b", 15_000))
	if again := actionSeries(t, reg); len(again) != len(many) {
		t.Fatalf("a reload and 15,000 more unique alerts took the series from %d to %d", len(many), len(again))
	}
}

// The connectors kept because Connect answered for them are bounded too:
// a cluster with more than maxLiveNames has the rest counted as "other".
func TestLiveNamesAreBounded(t *testing.T) {
	var l liveNames
	for i := range maxLiveNames + 10 {
		l.add("main", fmt.Sprint("c", i))
	}
	if !l.has("main", "c0") || l.has("main", fmt.Sprint("c", maxLiveNames)) {
		t.Fatal("the first names are kept, those past the bound are not")
	}
	if l.has("other-cluster", "c0") {
		t.Fatal("a name is kept per cluster")
	}
}
