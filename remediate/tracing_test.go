package remediate

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/tracing"
)

// A remediation taken at night must be explainable the next morning: the
// notification, the alert, the decision, the pre-check, the action, its
// verification and the audit write are one trace, and the audit record
// and the duration histogram name it.
func TestARemediationIsOneTraceNamedByItsAuditRecord(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	fc := newFakeConnect()
	fc.set("sink", connect.StateRunning, failedTask("java.lang.RuntimeException: boom"))
	h := newHarnessWith(t, restartTaskRule, fc, func(h *harness) { h.tracing = tracing.FromSDK(tp) })
	start := h.clock.Now().Add(-time.Minute)
	h.notify(firing(start, taskAlert(start)...))
	recs := h.waitAudit(1)
	h.settle()
	if recs[0].Outcome != OutcomeSuccess {
		t.Fatalf("outcome %s: %+v", recs[0].Outcome, recs[0])
	}
	id := recs[0].TraceID
	if len(id) != 32 {
		t.Fatalf("audit record trace_id = %q, want a trace id", id)
	}
	want := []string{"webhook notification", "alert", "remediation job", "rule decision", "live-state pre-check", "action restart_task", "verify", "audit write"}
	got := map[string]bool{}
	for _, s := range rec.Ended() {
		if s.SpanContext().TraceID().String() == id {
			got[s.Name()] = true
		}
	}
	for _, name := range want {
		if !got[name] {
			t.Errorf("trace %s has no %q span (has %v)", id, name, got)
		}
	}

	var m dto.Metric
	if err := h.metrics.duration.WithLabelValues("restart_task").(prometheus.Metric).Write(&m); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, b := range m.GetHistogram().GetBucket() {
		for _, l := range b.GetExemplar().GetLabel() {
			if l.GetName() == "trace_id" && l.GetValue() == id {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("no exemplar with trace_id %s on cdc_remediation_action_duration_seconds", id)
	}
}
