package collector

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

type namedCollector struct {
	name string
	err  error
}

func (c namedCollector) Name() string { return c.name }
func (c namedCollector) Collect(context.Context, chan<- prometheus.Metric) error {
	return c.err
}

func TestEachCollectorIsAChildSpanOfTheScrape(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx, scrape := tp.Tracer("test").Start(context.Background(), "scrape")
	e := NewExporter(ctx, slog.New(slog.DiscardHandler),
		namedCollector{name: "connect"},
		namedCollector{name: "lag", err: errors.New("target down")})
	reg := prometheus.NewRegistry()
	reg.MustRegister(e)
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
	scrape.End()

	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		byName[s.Name()] = s
	}
	for _, name := range []string{"collect connect", "collect lag"} {
		s, ok := byName[name]
		if !ok {
			t.Fatalf("no span %q among %v", name, byName)
		}
		if s.Parent().SpanID() != scrape.SpanContext().SpanID() {
			t.Errorf("%s is not a child of the scrape span", name)
		}
	}
	if got := byName["collect lag"].Status().Code; got != codes.Error {
		t.Errorf("failed collector's span status = %v, want Error", got)
	}
	if got := byName["collect connect"].Status().Code; got == codes.Error {
		t.Errorf("healthy collector's span marked failed")
	}
}
