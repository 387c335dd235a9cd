package config

import (
	"net/url"
	"strings"

	"github.com/cdc-sentinel/cdc-sentinel/internal/dsn"
)

// Tracing turns on OpenTelemetry tracing (OTLP). Absent, nothing is traced
// and no exporter is started. The standard OTEL_* environment variables
// override every key here, so an operator can redirect traces without
// touching the file.
type Tracing struct {
	// Endpoint is the collector's base URL, e.g. http://collector:4318 for
	// http/protobuf or http://collector:4317 for grpc.
	Endpoint string `yaml:"endpoint"`
	// Protocol is "http/protobuf" (the default) or "grpc".
	Protocol string `yaml:"protocol,omitempty"`
	// SampleRatio is the share of root traces kept, 0..1 (default 1):
	// remediations are rare and each one matters.
	SampleRatio *float64 `yaml:"sample_ratio,omitempty"`
	// Headers are sent with every export (an API key, say); their values
	// are secrets.
	Headers   map[string]Secret `yaml:"headers,omitempty"`
	TLSConfig *TLSConfig        `yaml:"tls_config,omitempty"`
}

// Tracing protocols, as the OTEL_EXPORTER_OTLP_PROTOCOL variable names them.
const (
	TracingProtocolHTTP = "http/protobuf"
	TracingProtocolGRPC = "grpc"
)

func (t *Tracing) applyDefaults() {
	if t.Protocol == "" {
		t.Protocol = TracingProtocolHTTP
	}
	if t.SampleRatio == nil {
		one := 1.0
		t.SampleRatio = &one
	}
}

func (t *Tracing) validate(v *validator, p string) {
	if t.Endpoint == "" {
		v.fail(p+".endpoint", "required (e.g. http://otel-collector:4318)")
	} else if u, err := url.Parse(t.Endpoint); err != nil {
		v.fail(p+".endpoint", "is not a valid URL")
	} else if dsn.Redact(t.Endpoint) != t.Endpoint || u.User != nil {
		// Scheme or not ("red:password@host:8083"), a credential is
		// found the way every output redacts it.
		v.fail(p+".endpoint", "%q carries credentials: use headers instead", dsn.Redact(u.Redacted()))
	} else if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.fail(p+".endpoint", "%q is not an http or https URL", t.Endpoint)
	}
	switch t.Protocol {
	case TracingProtocolHTTP, TracingProtocolGRPC:
	default:
		v.fail(p+".protocol", "%q is not one of http/protobuf, grpc", t.Protocol)
	}
	if r := t.SampleRatio; r != nil && (*r < 0 || *r > 1) {
		v.fail(p+".sample_ratio", "%v is not between 0 and 1", *r)
	}
	for k := range t.Headers {
		if strings.TrimSpace(k) == "" || strings.ContainsAny(k, " \t\r\n:") {
			v.fail(p+".headers", "%q is not a valid header name", k)
		}
	}
	t.TLSConfig.validate(v, p+".tls_config")
}
