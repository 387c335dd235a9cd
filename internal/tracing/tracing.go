// Package tracing sets up OpenTelemetry tracing from the `tracing:` section
// of the configuration and gives the rest of the code two small verbs:
// Start a child span of whatever the context carries, and read a context's
// TraceID for audit records. A Runtime owns one Provider; a reload builds a
// new one and closes the old one, which flushes what it still holds.
package tracing

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	promcfg "github.com/prometheus/common/config"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc/credentials"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
)

// ServiceName is the service.name of every span unless OTEL_SERVICE_NAME
// (or service.name in OTEL_RESOURCE_ATTRIBUTES) says otherwise.
const ServiceName = "cdc-sentinel"

// instrumentation names the tracer; backends show it as the library.
const instrumentation = "github.com/cdc-sentinel/cdc-sentinel"

// shutdownTimeout bounds the flush of a closing provider: a dead collector
// must not hold up a reload or the process's exit.
const shutdownTimeout = 5 * time.Second

// Provider is a runtime's tracer provider. The zero value and nil trace
// nothing.
type Provider struct {
	tp *sdktrace.TracerProvider
}

// New builds the provider the configuration asks for. With no `tracing:`
// section, or OTEL_SDK_DISABLED=true, it returns a provider that traces
// nothing and starts no exporter. Nothing is dialled here: the exporters
// connect lazily, so an unreachable collector never fails a reload.
func New(ctx context.Context, cfg *config.Tracing) (*Provider, error) {
	// The OTLP exporters and the SDK read the process environment
	// themselves; the decisions taken here read the same.
	getenv := os.Getenv
	if cfg == nil || strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return &Provider{}, nil
	}
	exp, err := newExporter(ctx, cfg, getenv)
	if err != nil {
		return nil, err
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", ServiceName)),
		// Later detectors win: OTEL_SERVICE_NAME and
		// OTEL_RESOURCE_ATTRIBUTES override the default name.
		resource.WithFromEnv(),
		resource.WithTelemetrySDK(),
		resource.WithHost(),
	)
	if err != nil {
		return nil, fmt.Errorf("tracing resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithBatcher(exp), sdktrace.WithResource(res)}
	// Without WithSampler the SDK reads OTEL_TRACES_SAMPLER itself.
	if getenv("OTEL_TRACES_SAMPLER") == "" {
		ratio := 1.0
		if cfg.SampleRatio != nil {
			ratio = *cfg.SampleRatio
		}
		opts = append(opts, sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))))
	}
	return FromSDK(sdktrace.NewTracerProvider(opts...)), nil
}

// protocol is the configured protocol unless the environment names one.
func protocol(cfg *config.Tracing, getenv func(string) string) (string, error) {
	p := cfg.Protocol
	for _, k := range []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"} {
		if v := getenv(k); v != "" {
			p = v
		}
	}
	switch p {
	case "", config.TracingProtocolHTTP:
		return config.TracingProtocolHTTP, nil
	case config.TracingProtocolGRPC:
		return p, nil
	}
	return "", fmt.Errorf("tracing: protocol %q is not supported (want http/protobuf or grpc)", p)
}

func newExporter(ctx context.Context, cfg *config.Tracing, getenv func(string) string) (*otlptrace.Exporter, error) {
	proto, err := protocol(cfg, getenv)
	if err != nil {
		return nil, err
	}
	// Options given in code beat the environment in the OTLP exporters,
	// so a key from the file is passed only where no variable overrides it.
	envEndpoint := getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	envHeaders := getenv("OTEL_EXPORTER_OTLP_HEADERS") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS") != ""
	headers := map[string]string{}
	for k, v := range cfg.Headers {
		headers[k] = v.Reveal()
	}
	var tlsCfg *promcfg.TLSConfig
	if cfg.TLSConfig != nil {
		t := cfg.TLSConfig.Prometheus()
		tlsCfg = &t
	}
	if proto == config.TracingProtocolGRPC {
		var opts []otlptracegrpc.Option
		if !envEndpoint {
			opts = append(opts, otlptracegrpc.WithEndpointURL(cfg.Endpoint))
		}
		if !envHeaders && len(headers) > 0 {
			opts = append(opts, otlptracegrpc.WithHeaders(headers))
		}
		if tlsCfg != nil {
			tc, err := promcfg.NewTLSConfig(tlsCfg)
			if err != nil {
				return nil, fmt.Errorf("tracing tls_config: %w", err)
			}
			opts = append(opts, otlptracegrpc.WithTLSCredentials(credentials.NewTLS(tc)))
		}
		exp, err := otlptracegrpc.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("tracing exporter (grpc): %w", err)
		}
		return exp, nil
	}
	var opts []otlptracehttp.Option
	if !envEndpoint {
		u, err := tracesURL(cfg.Endpoint)
		if err != nil {
			return nil, err
		}
		opts = append(opts, otlptracehttp.WithEndpointURL(u))
	}
	if !envHeaders && len(headers) > 0 {
		opts = append(opts, otlptracehttp.WithHeaders(headers))
	}
	if tlsCfg != nil {
		tc, err := promcfg.NewTLSConfig(tlsCfg)
		if err != nil {
			return nil, fmt.Errorf("tracing tls_config: %w", err)
		}
		opts = append(opts, otlptracehttp.WithTLSClientConfig(tc))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing exporter (http/protobuf): %w", err)
	}
	return exp, nil
}

// tracesURL turns the configured base URL into the traces path, as the
// OTEL_EXPORTER_OTLP_ENDPOINT variable is turned by the SDK.
func tracesURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("tracing endpoint: %w", err)
	}
	if !strings.HasSuffix(u.Path, "/v1/traces") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	}
	return u.String(), nil
}

// TracerProvider is what roots of traces start from; a provider that
// traces nothing when tracing is off.
func (p *Provider) TracerProvider() trace.TracerProvider {
	if p == nil || p.tp == nil {
		return noop.NewTracerProvider()
	}
	return p.tp
}

// Root starts a new trace (or continues one carried by ctx) with p.
func (p *Provider) Root(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return p.TracerProvider().Tracer(instrumentation).Start(ctx, name, trace.WithAttributes(attrs...))
}

// Close flushes and stops the exporter, bounded so a dead collector cannot
// hold up a reload or shutdown.
func (p *Provider) Close() {
	if p == nil || p.tp == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	_ = p.tp.Shutdown(ctx)
}

// Start begins a child span of the span ctx carries, from the same
// provider; with no span in ctx it records nothing. Library code calls
// this and never needs a provider of its own.
func Start(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return trace.SpanFromContext(ctx).TracerProvider().Tracer(instrumentation).Start(ctx, name, trace.WithAttributes(attrs...))
}

// End records err on span (when non-nil) and ends it.
func End(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// TraceID is the hex trace id of the sampled span ctx carries, or "" when
// nothing is traced: audit records and results store it to be looked up
// in the tracing backend.
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() || !sc.IsSampled() {
		return ""
	}
	return sc.TraceID().String()
}

// FromSDK wraps an SDK provider, the one New builds from the
// configuration or one built elsewhere (a test's span recorder, say), so
// that it starts runtime roots and closes like a configured one.
func FromSDK(tp *sdktrace.TracerProvider) *Provider { return &Provider{tp: tp} }

// TraceParent is the W3C traceparent of the span ctx carries, or "" when
// nothing is traced: what a queued job keeps to continue its trace later.
func TraceParent(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	return carrier.Get("traceparent")
}

// WithTraceParent returns ctx carrying the span context a TraceParent
// string names, as the parent of the next span started; ctx unchanged for
// "" or a malformed value.
func WithTraceParent(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": traceparent})
}
