package config

import (
	"net/url"
	"time"

	promcfg "github.com/prometheus/common/config"

	"github.com/cdc-sentinel/cdc-sentinel/internal/dsn"
)

// SchemaCheck configures the comparison of each table's columns across
// the source, SQL Server's capture instance, the topic's value schema and
// the target (cdc_schema_mismatched_columns).
type SchemaCheck struct {
	// Interval is the least time between two checks of one table;
	// scrapes in between serve the cached result.
	Interval time.Duration `yaml:"interval,omitempty"`
	// Disabled turns schema checks off.
	Disabled bool `yaml:"disabled,omitempty"`
}

// DefaultSchemaCheckInterval is how often a table's catalogs are read
// unless schema_check.interval says otherwise: a column added at the
// source shows within it.
const DefaultSchemaCheckInterval = time.Minute

func (s *SchemaCheck) applyDefaults() {
	if s.Interval == 0 {
		s.Interval = DefaultSchemaCheckInterval
	}
}

func (s *SchemaCheck) validate(v *validator, p string) {
	if s.Interval < 0 {
		v.fail(p+".interval", "must be positive")
	}
}

// SchemaRegistry is the Confluent Schema Registry the pipeline's
// converters write value schemas to (Avro, JSON Schema or Protobuf):
// schema checks read a topic's latest value schema there instead of the
// newest record's inline schema.
type SchemaRegistry struct {
	URL       string     `yaml:"url"`
	BasicAuth *BasicAuth `yaml:"basic_auth,omitempty"`
	TLSConfig *TLSConfig `yaml:"tls_config,omitempty"`
}

func (r *SchemaRegistry) validate(v *validator, p string) {
	if r.URL == "" {
		v.fail(p+".url", "required")
	} else if u, err := url.Parse(r.URL); err != nil {
		v.fail(p+".url", "is not a valid URL")
	} else if dsn.Redact(r.URL) != r.URL || u.User != nil {
		v.fail(p+".url", "%q carries credentials: use basic_auth (password_file) instead", dsn.Redact(u.Redacted()))
	} else if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.fail(p+".url", "%q is not an http or https URL", r.URL)
	}
	if r.BasicAuth != nil {
		r.BasicAuth.validate(v, p+".basic_auth")
	}
	r.TLSConfig.validate(v, p+".tls_config")
}

// HTTPClientConfig is the registry's auth and TLS in the Prometheus HTTP
// client library's shape, which re-reads password files on every request.
func (r *SchemaRegistry) HTTPClientConfig() promcfg.HTTPClientConfig {
	hc := promcfg.HTTPClientConfig{FollowRedirects: true}
	if r.BasicAuth != nil {
		hc.BasicAuth = &promcfg.BasicAuth{
			Username:     r.BasicAuth.Username,
			Password:     promcfg.Secret(r.BasicAuth.Password),
			PasswordFile: r.BasicAuth.PasswordFile,
		}
	}
	if r.TLSConfig != nil {
		hc.TLSConfig = r.TLSConfig.Prometheus()
	}
	return hc
}
