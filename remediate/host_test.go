package remediate

import (
	"context"
	"strings"
	"testing"
	"time"

	amtemplate "github.com/prometheus/alertmanager/template"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/webhook"
)

// A reload builds a new engine from the same Host: the metrics stay
// registered once and keep counting, and the store stays open (a second
// bbolt open of the same file in one process would block).
func TestReloadKeepsMetricsAndStore(t *testing.T) {
	reg := prometheus.NewRegistry()
	host, err := NewHost(reg, nil, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewHost(reg, nil, t.TempDir()); err != nil {
		t.Fatalf("registering the metrics twice on one registry: %v", err)
	}
	fc := newFakeConnect()
	fc.set("sink", connect.StateRunning, connect.TaskInfo{ID: 0, State: connect.StateRunning})
	cfg := parseConfig(t, restartTaskRule)
	deps := Dependencies{Clusters: map[string]Connect{"main": fc}}
	ctx := context.Background()

	first, err := host.Engine(ctx, cfg.Remediation, deps)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Minute)
	msg := func() amtemplate.Alerts {
		m, err := webhook.DecodeMessage(strings.NewReader(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"CDCConnectorTaskFailed","severity":"critical","connector":"sink","task":"0"},"startsAt":"` + start.Format(time.RFC3339Nano) + `"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		return m.Alerts
	}
	if _, err := first.Receive(ctx, msg()); err != nil {
		t.Fatal(err)
	}

	done := make(chan *Engine)
	go func() {
		second, err := host.Engine(ctx, cfg.Remediation, deps) // the reload
		if err != nil {
			t.Error(err)
		}
		done <- second
	}()
	var second *Engine
	select {
	case second = <-done:
	case <-time.After(30 * time.Second):
		// A second open of the file would fail after bbolt's own 5s
		// lock timeout, reported above; this only bounds a hang.
		t.Fatal("the reloaded engine could not open the store")
	}
	first.Close()
	defer second.Close()
	// The same episode again after the reload: already known.
	if n, err := second.Receive(ctx, msg()); err != nil || n != 0 {
		t.Fatalf("after reload: queued %d, %v; want 0 (known episode)", n, err)
	}
	if got := testutil.ToFloat64(host.metrics.alertsReceived.WithLabelValues("firing")); got != 2 {
		t.Fatalf("alerts received across the reload = %v, want 2", got)
	}
	if n, err := testutil.GatherAndCount(reg, "cdc_remediation_alerts_received_total"); err != nil || n != 2 {
		t.Fatalf("gathered %d series, %v", n, err)
	}
}

// Finished jobs, seen episodes and audit records older than the retention
// are forgotten; a late copy of a forgotten episode is then stale, not
// redone.
func TestPruneForgetsOldEpisodes(t *testing.T) {
	fc := newFakeConnect()
	fc.set("sink", connect.StateRunning, failedTask("boom"))
	h := newHarness(t, restartTaskRule, fc)
	start := h.clock.Now().Add(-time.Minute)
	a := firing(start, taskAlert(start)...)
	h.notify(a)
	h.waitAudit(1)
	n, err := h.store.Prune(context.Background(), h.clock.Now().Add(time.Hour))
	if err != nil || n != 3 { // the job, its audit record, the seen key
		t.Fatalf("pruned %d, %v; want 3", n, err)
	}
	h.clock.Advance(store.Retention)
	h.notify(a)
	if rec := h.waitAudit(1)[0]; rec.Outcome != OutcomeSuppressedStale {
		t.Fatalf("late copy of a forgotten episode: %+v", rec)
	}
	if len(fc.Calls()) != 1 {
		t.Fatalf("calls: %v", fc.Calls())
	}
}
