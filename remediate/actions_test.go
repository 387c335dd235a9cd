package remediate

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
)

type fakeReconciler struct{ calls []string }

func (f *fakeReconciler) Start(_ context.Context, table string, repair bool) (string, error) {
	if table == "broken" {
		return "", errors.New("table broken is not configured")
	}
	f.calls = append(f.calls, table)
	if repair {
		return "run-2", nil
	}
	return "run-1", nil
}

func TestRestartConnectorAndReconcileArguments(t *testing.T) {
	failedConnector := func(fc *fakeConnect) {
		fc.set("sink", connect.StateFailed, connect.TaskInfo{ID: 0, State: connect.StateFailed, Trace: "boom"}, connect.TaskInfo{ID: 1, State: connect.StateRunning})
	}
	cases := []struct {
		name       string
		rule       string
		labels     []string
		reconciler Reconciler
		outcome    string
		calls      []string
		detail     string
	}{
		{"restart_connector defaults to Strimzi's includeTasks and onlyFailed", `
  rules:
    - name: r
      match: ['alertname="CDCConnectorFailed"']
      action: restart_connector
`, []string{"alertname", "CDCConnectorFailed", "connector", "sink"}, nil, OutcomeSuccess,
			[]string{"restart_connector sink includeTasks=true onlyFailed=true"}, "connector RUNNING, 2 tasks RUNNING"},
		{"reconcile without a runner", `
  rules:
    - name: r
      match: ['alertname="CDCTableDrift"']
      action: reconcile
      args: {repair: 'true'}
`, []string{"alertname", "CDCTableDrift", "table", "orders"}, nil, OutcomeFailure, nil, ""},
		{"reconcile", `
  rules:
    - name: r
      match: ['alertname="CDCTableDrift"']
      action: reconcile
      args: {repair: 'true'}
`, []string{"alertname", "CDCTableDrift", "table", "orders"}, &fakeReconciler{}, OutcomeSuccess, nil, "reconcile started: run-2"},
		{"reconcile with a bad repair flag", `
  rules:
    - name: r
      match: ['alertname="CDCTableDrift"']
      action: reconcile
      args: {repair: 'sometimes'}
`, []string{"alertname", "CDCTableDrift", "table", "orders"}, &fakeReconciler{}, OutcomeInvalidArgs, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fc := newFakeConnect()
			failedConnector(fc)
			h := newHarness(t, c.rule, fc)
			if c.reconciler != nil {
				h.stop()
				h.reconciler = c.reconciler
				h.start()
			}
			start := h.clock.Now().Add(-time.Minute)
			h.notify(firing(start, c.labels...))
			rec := h.waitAudit(1)[0]
			if rec.Outcome != c.outcome || !reflect.DeepEqual(fc.Calls(), c.calls) || (c.detail != "" && rec.Detail != c.detail) {
				t.Fatalf("outcome %s detail %q error %q calls %v; want %s %q %v", rec.Outcome, rec.Detail, rec.Error, fc.Calls(), c.outcome, c.detail, c.calls)
			}
			if c.name == "reconcile without a runner" && rec.Error != "reconcile not configured" {
				t.Fatalf("error %q", rec.Error)
			}
		})
	}
}

func TestTemplatedArgumentsComeFromTheAlert(t *testing.T) {
	fc := newFakeConnect()
	fc.set("orders-sink", connect.StateFailed, connect.TaskInfo{ID: 0, State: connect.StateRunning})
	h := newHarness(t, `
  rules:
    - name: r
      match: ['alertname="CDCConnectorFailed"']
      action: restart_connector
      args: {connector: '{{ .Labels.pipeline }}-sink', includeTasks: 'false', onlyFailed: 'false'}
`, fc)
	start := h.clock.Now().Add(-time.Minute)
	h.notify(firing(start, "alertname", "CDCConnectorFailed", "pipeline", "orders"))
	rec := h.waitAudit(1)[0]
	want := []string{"restart_connector orders-sink includeTasks=false onlyFailed=false"}
	if rec.Outcome != OutcomeSuccess || !reflect.DeepEqual(fc.Calls(), want) || rec.Arguments["connector"] != "orders-sink" {
		t.Fatalf("record %+v, calls %v", rec, fc.Calls())
	}
}

// An argument taken from a label is trimmed as a templated one is: a
// connector label " orders-sink" acts on orders-sink either way.
func TestLabelArgumentsAreTrimmedLikeTemplatedOnes(t *testing.T) {
	for name, args := range map[string]string{
		"label":    "",
		"template": "\n      args: {connector: '{{ .Labels.connector }}'}",
	} {
		t.Run(name, func(t *testing.T) {
			fc := newFakeConnect()
			fc.set("orders-sink", connect.StateFailed, connect.TaskInfo{ID: 0, State: connect.StateRunning})
			h := newHarness(t, `
  rules:
    - name: r
      match: ['alertname="CDCConnectorFailed"']
      action: restart_connector`+args+`
`, fc)
			h.notify(firing(h.clock.Now().Add(-time.Minute), "alertname", "CDCConnectorFailed", "connector", " orders-sink\n"))
			rec := h.waitAudit(1)[0]
			if rec.Outcome != OutcomeSuccess || rec.Arguments["connector"] != "orders-sink" {
				t.Fatalf("record %+v, calls %v", rec, fc.Calls())
			}
		})
	}
}
