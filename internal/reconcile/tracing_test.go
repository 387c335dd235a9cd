package reconcile

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/tracing"
)

func TestAReconcileContinuesItsCallersTraceAndNamesItInTheResult(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	r := newRunner(t, []Table{{
		Name: "customers",
		Sides: func() (sqldialect.Side, sqldialect.Side, error) {
			return sqldialect.Side{}, sqldialect.Side{}, errors.New("source unreachable")
		},
	}}, Options{Tracing: tracing.FromSDK(tp)})

	caller, action := tp.Tracer("test").Start(context.Background(), "action reconcile")
	id, err := r.Start(caller, "customers", StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	action.End()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	job, err := r.Wait(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if want := action.SpanContext().TraceID().String(); job.TraceID != want {
		t.Errorf("job trace_id = %q, want the caller's %q", job.TraceID, want)
	}
	var run sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == "reconcile" {
			run = s
		}
	}
	if run == nil {
		t.Fatal("no reconcile span")
	}
	if run.Parent().SpanID() != action.SpanContext().SpanID() {
		t.Error("the reconcile span is not a child of the caller's span")
	}
	if run.Status().Code != codes.Error {
		t.Errorf("failed run's span status = %v, want Error", run.Status().Code)
	}
}

func TestWithoutTracingAJobHasNoTraceID(t *testing.T) {
	r := newRunner(t, []Table{{
		Name: "customers",
		Sides: func() (sqldialect.Side, sqldialect.Side, error) {
			return sqldialect.Side{}, sqldialect.Side{}, errors.New("down")
		},
	}}, Options{})
	id, err := r.Start(context.Background(), "customers", StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	job, err := r.Wait(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if job.TraceID != "" {
		t.Errorf("trace_id = %q with tracing off", job.TraceID)
	}
}
