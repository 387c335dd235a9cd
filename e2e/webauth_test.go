package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// The example web config (deploy/web/web-config.yml: TLS and basic auth)
// and the http_config the example Alertmanager config carries for it, as
// shipped (only certificate paths, the password and addresses changed),
// work together with the real Alertmanager: an alert reaches /alerts over
// TLS with Alertmanager's credentials, and a request without them does not.
func TestExampleWebConfigWithAlertmanager(t *testing.T) {
	alertmanagerBin := testenv.Tool(t, "alertmanager", "ALERTMANAGER")
	dir := t.TempDir()
	caPEM, certFile, keyFile := selfSignedCert(t, dir)
	caFile := filepath.Join(dir, "ca.pem")
	mustWrite(t, caFile, caPEM)
	password := randomHex(12)
	passwordFile := filepath.Join(dir, "password")
	mustWrite(t, passwordFile, []byte(password+"\n"))
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}

	// cdc-sentinel with the example web config.
	web := readYAMLMap(t, filepath.Join(repoRoot, "deploy", "web", "web-config.yml"))
	tlsCfg := web["tls_server_config"].(map[string]any)
	tlsCfg["cert_file"], tlsCfg["key_file"] = certFile, keyFile
	users := web["basic_auth_users"].(map[string]any)
	if _, ok := users["alertmanager"]; !ok {
		t.Fatal("the example web config has no alertmanager user")
	}
	users["alertmanager"] = string(hash)
	webFile := filepath.Join(dir, "web-config.yml")
	writeYAML(t, webFile, web)

	cfgFile := filepath.Join(dir, "cdc-sentinel.yml")
	mustWrite(t, cfgFile, []byte(`connect_clusters:
  - {name: local, url: "http://127.0.0.1:1", timeout: 1s}
remediation:
  dry_run: true
  rules:
    - name: webauth-check
      match: ['alertname="CDCWebAuthCheck"']
      action: restart_connector
`))
	sentinelAddr := freeAddr(t)
	sentinel := start(t, "cdc-sentinel", buildSentinel(t), "--config.file="+cfgFile, "--web.listen-address="+sentinelAddr,
		"--web.config.file="+webFile, "--storage.path="+filepath.Join(dir, "sentinel-data"))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := "https://" + sentinelAddr
	waitAuthenticated(t, sentinel, client, base+"/-/ready", password)

	// Without credentials, or with wrong ones, /alerts is refused.
	for user, pass := range map[string]string{"": "", "alertmanager": "wrong"} {
		req, _ := http.NewRequest(http.MethodPost, base+"/alerts", strings.NewReader(`{}`))
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("POST /alerts as %q: %d, want 401", user, resp.StatusCode)
		}
	}

	// Alertmanager with the example config, its commented http_config
	// uncommented as the comment says, the url made https.
	amSrc := filepath.Join(dir, "alertmanager-with-auth.yml")
	mustWrite(t, amSrc, uncommentHTTPConfig(t, filepath.Join(repoRoot, "deploy", "alertmanager", "alertmanager.yml")))
	amCfgFile := alertmanagerConfigFrom(t, amSrc, dir, sentinelAddr, fast)
	amCfg := readYAMLMap(t, amCfgFile)
	for _, r := range amCfg["receivers"].([]any) {
		r := r.(map[string]any)
		if r["name"] != "cdc-sentinel" {
			continue
		}
		hook := r["webhook_configs"].([]any)[0].(map[string]any)
		hook["url"] = strings.Replace(hook["url"].(string), "http://", "https://", 1)
		hc, ok := hook["http_config"].(map[string]any)
		if !ok {
			t.Fatalf("the example's cdc-sentinel receiver has no http_config to uncomment: %v", hook)
		}
		hc["basic_auth"].(map[string]any)["password_file"] = passwordFile
		hc["tls_config"].(map[string]any)["ca_file"] = caFile
	}
	writeYAML(t, amCfgFile, amCfg)
	amAddr := freeAddr(t)
	am := start(t, "alertmanager", alertmanagerBin, "--config.file="+amCfgFile, "--storage.path="+filepath.Join(dir, "am-data"),
		"--web.listen-address="+amAddr, "--cluster.listen-address=")
	am.waitReady(t, "http://"+amAddr+"/-/ready", 30*time.Second)

	alert := fmt.Sprintf(`[{"labels": {"alertname": "CDCWebAuthCheck", "connect_cluster": "local", "connector": "demo-sink"}, "startsAt": %q}]`, time.Now().UTC().Format(time.RFC3339))
	resp, err := http.Post("http://"+amAddr+"/api/v2/alerts", "application/json", strings.NewReader(alert))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("posting the alert to Alertmanager: %s", resp.Status)
	}
	eventually(t, "the alert reaches cdc-sentinel through TLS and basic auth", 60*time.Second, func(ctx context.Context) (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/remediations?rule=webauth-check", nil)
		req.SetBasicAuth("alertmanager", password)
		resp, err := client.Do(req)
		if err != nil {
			return false, err
		}
		defer resp.Body.Close()
		var recs []auditRecord
		if err := json.NewDecoder(resp.Body).Decode(&recs); err != nil {
			return false, fmt.Errorf("%s: %w", resp.Status, err)
		}
		return len(recs) > 0, nil
	})
}

// uncommentHTTPConfig returns the file with its commented "http_config:"
// block uncommented, exactly as a user following the comment would.
func uncommentHTTPConfig(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != "# http_config:" {
			continue
		}
		indent := l[:strings.Index(l, "#")]
		lines[i] = indent + "http_config:"
		for j := i + 1; j < len(lines) && strings.HasPrefix(lines[j], indent+"#   "); j++ {
			lines[j] = indent + strings.TrimPrefix(lines[j], indent+"# ")
		}
		return []byte(strings.Join(lines, "\n"))
	}
	t.Fatalf("%s: no commented http_config block", path)
	return nil
}

// waitAuthenticated polls url with Alertmanager's credentials until it
// answers 200.
func waitAuthenticated(t *testing.T, p *process, client *http.Client, url, password string) {
	t.Helper()
	eventually(t, p.name+" ready over TLS", 30*time.Second, func(ctx context.Context) (bool, error) {
		select {
		case <-p.done:
			p.dumpLog(t)
			t.Fatalf("%s exited: %v", p.name, p.err)
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		req.SetBasicAuth("alertmanager", password)
		resp, err := client.Do(req)
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, fmt.Errorf("%s", resp.Status)
	})
}

// selfSignedCert writes a certificate for 127.0.0.1 and its key; the
// certificate is its own CA.
func selfSignedCert(t *testing.T, dir string) (caPEM []byte, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "cdc-sentinel test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	certFile, keyFile = filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	mustWrite(t, certFile, caPEM)
	mustWrite(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	return caPEM, certFile, keyFile
}

func mustWrite(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
