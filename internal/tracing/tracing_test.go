package tracing

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
)

// receiver is an OTLP/HTTP endpoint that keeps what it is sent.
type receiver struct {
	mu       sync.Mutex
	paths    []string
	services []string
	spans    []string
	headers  []http.Header
}

func newReceiver(t *testing.T) (*receiver, *httptest.Server) {
	r := &receiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var msg coltrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &msg); err != nil {
			t.Errorf("undecodable OTLP body: %v", err)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.paths = append(r.paths, req.URL.Path)
		r.headers = append(r.headers, req.Header.Clone())
		for _, rs := range msg.ResourceSpans {
			for _, a := range rs.GetResource().GetAttributes() {
				if a.Key == "service.name" {
					r.services = append(r.services, a.GetValue().GetStringValue())
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					r.spans = append(r.spans, s.Name)
				}
			}
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return r, srv
}

// setenv sets the variables the SDK reads for this test only.
func setenv(t *testing.T, m map[string]string) {
	for k, v := range m {
		t.Setenv(k, v)
	}
}

func ratio(f float64) *float64 { return &f }

// trace starts a root and a child span and flushes them by closing p.
func emit(t *testing.T, p *Provider) (traceID string) {
	t.Helper()
	ctx, root := p.Root(context.Background(), "root")
	cctx, child := Start(ctx, "child")
	traceID = TraceID(cctx)
	End(child, nil)
	root.End()
	p.Close()
	return traceID
}

func TestSpansReachTheConfiguredEndpointWithTheDefaultServiceName(t *testing.T) {
	r, srv := newReceiver(t)
	p, err := New(context.Background(), &config.Tracing{Endpoint: srv.URL, Protocol: config.TracingProtocolHTTP, SampleRatio: ratio(1),
		Headers: map[string]config.Secret{"X-Api-Key": "k1"}})
	if err != nil {
		t.Fatal(err)
	}
	id := emit(t, p)
	if len(id) != 32 {
		t.Errorf("TraceID = %q, want 32 hex digits", id)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.paths) == 0 || r.paths[0] != "/v1/traces" {
		t.Fatalf("exports went to %v, want /v1/traces", r.paths)
	}
	if got := r.headers[0].Get("X-Api-Key"); got != "k1" {
		t.Errorf("header X-Api-Key = %q, want k1", got)
	}
	if len(r.services) == 0 || r.services[0] != ServiceName {
		t.Errorf("service.name = %v, want %s", r.services, ServiceName)
	}
	if len(r.spans) != 2 {
		t.Errorf("spans = %v, want root and child", r.spans)
	}
}

func TestEnvironmentOverridesTheFile(t *testing.T) {
	fileRecv, fileSrv := newReceiver(t)
	envRecv, envSrv := newReceiver(t)
	setenv(t, map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": envSrv.URL,
		"OTEL_SERVICE_NAME":           "sentinel-eu",
		"OTEL_TRACES_SAMPLER":         "always_on", // beats sample_ratio 0
	})
	p, err := New(context.Background(), &config.Tracing{Endpoint: fileSrv.URL, Protocol: config.TracingProtocolHTTP, SampleRatio: ratio(0)})
	if err != nil {
		t.Fatal(err)
	}
	emit(t, p)
	fileRecv.mu.Lock()
	defer fileRecv.mu.Unlock()
	envRecv.mu.Lock()
	defer envRecv.mu.Unlock()
	if len(fileRecv.spans) != 0 {
		t.Errorf("the file's endpoint got %v although OTEL_EXPORTER_OTLP_ENDPOINT is set", fileRecv.spans)
	}
	if len(envRecv.spans) != 2 || envRecv.services[0] != "sentinel-eu" {
		t.Errorf("env endpoint got spans %v service %v, want 2 spans of sentinel-eu", envRecv.spans, envRecv.services)
	}
}

func TestSampleRatioZeroKeepsNothing(t *testing.T) {
	r, srv := newReceiver(t)
	p, err := New(context.Background(), &config.Tracing{Endpoint: srv.URL, SampleRatio: ratio(0)})
	if err != nil {
		t.Fatal(err)
	}
	if id := emit(t, p); id != "" {
		t.Errorf("TraceID of an unsampled trace = %q, want empty", id)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.spans) != 0 {
		t.Errorf("spans exported at ratio 0: %v", r.spans)
	}
}

func TestOffWithoutASectionOrWhenTheSDKIsDisabled(t *testing.T) {
	r, srv := newReceiver(t)
	for name, p := range map[string]func() (*Provider, error){
		"no section": func() (*Provider, error) { return New(context.Background(), nil) },
		"OTEL_SDK_DISABLED": func() (*Provider, error) {
			t.Setenv("OTEL_SDK_DISABLED", "true")
			return New(context.Background(), &config.Tracing{Endpoint: srv.URL})
		},
	} {
		prov, err := p()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if id := emit(t, prov); id != "" {
			t.Errorf("%s: TraceID = %q, want empty", name, id)
		}
	}
	var nilProvider *Provider
	nilProvider.Close() // must not panic
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.spans) != 0 {
		t.Errorf("spans exported while off: %v", r.spans)
	}
}

func TestAnUnsupportedProtocolFromTheEnvironmentIsAClearError(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
	_, err := New(context.Background(), &config.Tracing{Endpoint: "http://127.0.0.1:1"})
	if err == nil || err.Error() != `tracing: protocol "http/json" is not supported (want http/protobuf or grpc)` {
		t.Errorf("err = %v", err)
	}
}

func TestAnUnreachableCollectorNeitherFailsNorHoldsUpClose(t *testing.T) {
	p, err := New(context.Background(), &config.Tracing{Endpoint: "http://127.0.0.1:1", Protocol: config.TracingProtocolGRPC})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { emit(t, p); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute): // far above the 5 s flush bound: a hang, not slowness
		t.Fatal("Close hung on an unreachable collector")
	}
}
