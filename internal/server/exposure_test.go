package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAlertsExposureWarning(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tlsOnly := write("tls.yml", "tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n")
	basic := write("basic.yml", "basic_auth_users:\n  alertmanager: $2y$10$abc\n")
	mtls := write("mtls.yml", "tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n  client_ca_file: ca.pem\n  client_auth_type: RequireAndVerifyClientCert\n")
	cases := []struct {
		name string
		l    Listen
		warn bool
	}{
		{"default, every interface", Listen{Addresses: []string{":19641"}}, true},
		{"a public address", Listen{Addresses: []string{"10.0.0.5:19641"}}, true},
		{"one of two addresses public", Listen{Addresses: []string{"127.0.0.1:19641", "0.0.0.0:19641"}}, true},
		{"loopback v4", Listen{Addresses: []string{"127.0.0.1:19641"}}, false},
		{"loopback v6", Listen{Addresses: []string{"[::1]:19641"}}, false},
		{"localhost", Listen{Addresses: []string{"localhost:19641"}}, false},
		{"systemd sockets", Listen{SystemdSocket: true}, true},
		{"TLS without auth", Listen{Addresses: []string{":19641"}, WebConfigFile: tlsOnly}, true},
		{"basic auth", Listen{Addresses: []string{":19641"}, WebConfigFile: basic}, false},
		{"verified client certificates", Listen{Addresses: []string{":19641"}, WebConfigFile: mtls}, false},
		{"deletes over HTTP on loopback", Listen{Addresses: []string{"127.0.0.1:19641"}, DeleteOverHTTP: true}, true},
		{"deletes over HTTP, public", Listen{Addresses: []string{":19641"}, DeleteOverHTTP: true}, true},
		{"deletes over HTTP with basic auth", Listen{Addresses: []string{":19641"}, WebConfigFile: basic, DeleteOverHTTP: true}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, err := AlertsExposureWarning(c.l)
			if err != nil {
				t.Fatal(err)
			}
			if (w != "") != c.warn {
				t.Fatalf("warning %q, want one: %v", w, c.warn)
			}
			if c.warn && !strings.Contains(w, "WITHOUT AUTHENTICATION") {
				t.Errorf("warning %q", w)
			}
			if c.warn && !c.l.DeleteOverHTTP && !strings.Contains(w, "POST /alerts, POST /api/v1/reconcile and POST /-/reload") {
				t.Errorf("warning %q does not name every endpoint that acts", w)
			}
			if c.warn && c.l.DeleteOverHTTP && !strings.Contains(w, "reconcile.http_delete_extra") {
				t.Errorf("warning %q does not name the setting that lets HTTP delete", w)
			}
		})
	}
	if _, err := AlertsExposureWarning(Listen{Addresses: []string{":1"}, WebConfigFile: filepath.Join(dir, "missing.yml")}); err == nil {
		t.Error("a missing web config is not an error")
	}
}
