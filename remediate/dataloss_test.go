package remediate

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// The shipped rule on CDCDataLost: a reconcile with repair and no table,
// so the tables come from the alert's connector (source stage) or topic
// (sink stage).
const reconcileAfterLoss = `
  rules:
    - name: reconcile-after-data-loss
      match: ['alertname="CDCDataLost"']
      action: reconcile
      args: {repair: 'true'}
`

func fedBy(_ context.Context, connector, topic string) ([]string, error) {
	switch {
	case topic == "inv.inventory.dbo.orders":
		return []string{"orders"}, nil
	case topic == "" && connector == "mssql-source":
		return []string{"orders", "customers"}, nil
	}
	return nil, nil
}

func TestDataLossRepairsExactlyTheTablesFedThroughWhatWasLost(t *testing.T) {
	for _, c := range []struct {
		name   string
		labels []string
		calls  []string
		detail string
	}{
		{"sink: the topic's table", []string{"alertname", "CDCDataLost", "stage", "sink", "connect_cluster", "main", "connector", "orders-sink", "topic", "inv.inventory.dbo.orders"},
			[]string{"orders"}, "reconcile started: orders run-2"},
		{"source: every table of the connector", []string{"alertname", "CDCDataLost", "stage", "source", "connect_cluster", "main", "connector", "mssql-source"},
			[]string{"orders", "customers"}, "reconcile started: orders run-2, customers run-2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := &fakeReconciler{}
			h := newHarnessWith(t, reconcileAfterLoss, newFakeConnect(), func(h *harness) { h.reconciler, h.tablesFed = rec, fedBy })
			h.notify(firing(h.clock.Now().Add(-time.Minute), c.labels...))
			got := h.waitAudit(1)[0]
			if got.Outcome != OutcomeSuccess || got.Detail != c.detail || !slices.Equal(rec.calls, c.calls) {
				t.Fatalf("outcome %s detail %q error %q reconciles %v; want success %q %v", got.Outcome, got.Detail, got.Error, rec.calls, c.detail, c.calls)
			}
		})
	}
}

func TestDataLossOnATopicNoConfiguredTableReadsFailsLoudly(t *testing.T) {
	rec := &fakeReconciler{}
	h := newHarnessWith(t, reconcileAfterLoss, newFakeConnect(), func(h *harness) { h.reconciler, h.tablesFed = rec, fedBy })
	h.notify(firing(h.clock.Now().Add(-time.Minute), "alertname", "CDCDataLost", "stage", "sink", "connector", "s", "topic", "other.topic"))
	got := h.waitAudit(1)[0]
	if got.Outcome != OutcomeFailure || !strings.Contains(got.Error, "no configured table is fed through topic other.topic") || len(rec.calls) != 0 {
		t.Fatalf("outcome %s error %q reconciles %v; want a failure naming the topic and nothing started", got.Outcome, got.Error, rec.calls)
	}
}

func TestAReconcileWithATableIgnoresTheAlertsConnector(t *testing.T) {
	rec := &fakeReconciler{}
	h := newHarnessWith(t, reconcileAfterLoss, newFakeConnect(), func(h *harness) { h.reconciler, h.tablesFed = rec, fedBy })
	h.notify(firing(h.clock.Now().Add(-time.Minute), "alertname", "CDCDataLost", "table", "invoices", "connector", "mssql-source"))
	got := h.waitAudit(1)[0]
	if got.Outcome != OutcomeSuccess || !slices.Equal(rec.calls, []string{"invoices"}) {
		t.Fatalf("outcome %s error %q reconciles %v; want the labelled table only", got.Outcome, got.Error, rec.calls)
	}
}
