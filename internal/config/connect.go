package config

import (
	"net/url"
	"time"

	promcfg "github.com/prometheus/common/config"

	"github.com/cdc-sentinel/cdc-sentinel/internal/dsn"
)

// ConnectCluster is one Kafka Connect cluster to watch and act on.
type ConnectCluster struct {
	Name            string        `yaml:"name"`
	URL             string        `yaml:"url"`
	BasicAuth       *BasicAuth    `yaml:"basic_auth,omitempty"`
	BearerTokenFile string        `yaml:"bearer_token_file,omitempty"`
	TLSConfig       *TLSConfig    `yaml:"tls_config,omitempty"`
	Timeout         time.Duration `yaml:"timeout,omitempty"`
}

// BasicAuth holds HTTP basic credentials; the password may come from a file
// so that it can be rotated without a reload.
type BasicAuth struct {
	Username     string `yaml:"username"`
	Password     Secret `yaml:"password,omitempty"`
	PasswordFile string `yaml:"password_file,omitempty"`
}

// TLSConfig configures TLS to a peer.
type TLSConfig struct {
	CAFile             string `yaml:"ca_file,omitempty"`
	CertFile           string `yaml:"cert_file,omitempty"`
	KeyFile            string `yaml:"key_file,omitempty"`
	ServerName         string `yaml:"server_name,omitempty"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify,omitempty"`
}

// DefaultConnectTimeout bounds one request to a Connect worker when the
// cluster sets no timeout of its own.
const DefaultConnectTimeout = 10 * time.Second

func (c *ConnectCluster) applyDefaults() {
	if c.Timeout == 0 {
		c.Timeout = DefaultConnectTimeout
	}
}

func (c *ConnectCluster) validate(v *validator, p string) {
	if c.Name == "" {
		v.fail(p+".name", "required")
	}
	// Messages show the URL redacted: a password in it must not reach
	// logs through a reload error.
	if c.URL == "" {
		v.fail(p+".url", "required")
	} else if u, err := url.Parse(c.URL); err != nil {
		v.fail(p+".url", "is not a valid URL")
	} else if dsn.Redact(c.URL) != c.URL || u.User != nil {
		// Scheme or not ("red:password@host:8083"), a credential is
		// found the way every output redacts it.
		v.fail(p+".url", "%q carries credentials: use basic_auth (password_file) instead", dsn.Redact(u.Redacted()))
	} else if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.fail(p+".url", "%q is not an http or https URL", c.URL)
	}
	if c.Timeout < 0 {
		v.fail(p+".timeout", "must be positive")
	}
	if c.BasicAuth != nil {
		c.BasicAuth.validate(v, p+".basic_auth")
		if c.BearerTokenFile != "" {
			v.fail(p+".bearer_token_file", "cannot be used together with basic_auth")
		}
	}
	c.TLSConfig.validate(v, p+".tls_config")
}

func (b *BasicAuth) validate(v *validator, p string) {
	if b.Username == "" {
		v.fail(p+".username", "required")
	}
	if b.Password != "" && b.PasswordFile != "" {
		v.fail(p+".password_file", "password and password_file are mutually exclusive")
	}
}

func (t *TLSConfig) validate(v *validator, p string) {
	if t == nil {
		return
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		v.fail(p, "cert_file and key_file must be given together")
	}
}

// HTTPClientConfig translates the cluster's auth and TLS into the shape the
// Prometheus HTTP client library takes, which also re-reads password and
// token files on every request.
func (c *ConnectCluster) HTTPClientConfig() promcfg.HTTPClientConfig {
	hc := promcfg.HTTPClientConfig{FollowRedirects: true, EnableHTTP2: false}
	if c.BasicAuth != nil {
		hc.BasicAuth = &promcfg.BasicAuth{
			Username:     c.BasicAuth.Username,
			Password:     promcfg.Secret(c.BasicAuth.Password),
			PasswordFile: c.BasicAuth.PasswordFile,
		}
	}
	if c.BearerTokenFile != "" {
		hc.Authorization = &promcfg.Authorization{Type: "Bearer", CredentialsFile: c.BearerTokenFile}
	}
	if c.TLSConfig != nil {
		hc.TLSConfig = c.TLSConfig.Prometheus()
	}
	return hc
}

// Prometheus converts to the Prometheus library's TLS configuration.
func (t *TLSConfig) Prometheus() promcfg.TLSConfig {
	return promcfg.TLSConfig{
		CAFile:             t.CAFile,
		CertFile:           t.CertFile,
		KeyFile:            t.KeyFile,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify,
	}
}
