package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/reconcile"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

// guarded serves a Server whose runtime has a real reconcile runner
// (whose table counts the runs that reach it) and a webhook that counts
// its notifications; builds counts configuration loads.
type guarded struct {
	url                  string
	runner               *reconcile.Runner
	runs, alerts, builds atomic.Int32
}

func newGuarded(t *testing.T) *guarded {
	t.Helper()
	g := &guarded{}
	cfgFile := filepath.Join(t.TempDir(), "c.yml")
	if err := os.WriteFile(cfgFile, []byte("connect_clusters: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	table := reconcile.Table{Name: "t", Signaler: nopSignaler{}, Limits: config.Repair{MaxDeletes: 1000000}, Sides: func() (sqldialect.Side, sqldialect.Side, error) {
		g.runs.Add(1)
		return sqldialect.Side{}, sqldialect.Side{}, errors.New("no database in this test")
	}}
	// The most permissive configuration: delete_extra allowed over HTTP.
	g.runner = reconcile.NewJobs().Runner([]reconcile.Table{table}, reconcile.Options{}, reconcile.Limits{HTTPDeleteExtra: true}, nil)
	t.Cleanup(g.runner.Close)
	api := http.NewServeMux()
	RegisterReconcile(api, g.runner)
	api.HandleFunc("POST /alerts", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		g.alerts.Add(1)
		w.Write([]byte(`{"alerts":1,"queued":1}`))
	})
	s := New(Options{Logger: slog.New(slog.DiscardHandler), ConfigFile: cfgFile, Build: func(ctx context.Context, cfg *config.Config) (*Runtime, error) {
		g.builds.Add(1)
		return &Runtime{Config: cfg, API: api}, nil
	}})
	if err := s.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	g.url = srv.URL
	return g
}

type nopSignaler struct{}

func (nopSignaler) Signal(context.Context, string, string, []byte) error { return nil }
func (nopSignaler) Describe() string                                     { return "table s.sig" }

func (g *guarded) do(t *testing.T, method, path string, header map[string]string, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, g.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The red team's request: a page on another site makes the user's
// browser post a destructive reconcile to cdc-sentinel on localhost.
func TestCrossOriginReconcileIsRefused(t *testing.T) {
	g := newGuarded(t)
	code, body := g.do(t, http.MethodPost, "/api/v1/reconcile?table=t&repair=true&delete_extra=true&max_deletes=1000000",
		map[string]string{"Origin": "http://evil.example", "Content-Type": "text/plain"}, "")
	if code != http.StatusForbidden || !strings.Contains(body, `Origin "http://evil.example"`) {
		t.Errorf("the attack answered %d %q, want 403 naming the origin", code, body)
	}
	if n := g.runs.Load(); n != 0 {
		t.Errorf("the attack reached the table %d time(s)", n)
	}
	if jobs := g.runner.List(""); len(jobs) != 0 {
		t.Errorf("the attack started %d job(s)", len(jobs))
	}
}

// Every acting endpoint refuses what a browser on another site can send,
// and nothing reaches the handler; what Alertmanager, curl and scripts
// send passes.
func TestGuardRefusesBrowsersAndNonJSONBodies(t *testing.T) {
	const alert = `{"version":"4","status":"firing","receiver":"cdc","alerts":[]}`
	refused := []struct {
		name         string
		method, path string
		header       map[string]string
		body         string
		code         int
		want         string
	}{
		{"form post to the webhook", "POST", "/alerts", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "a=b", 415, `Content-Type "application/x-www-form-urlencoded" is not application/json`},
		{"text/plain webhook", "POST", "/alerts", map[string]string{"Content-Type": "text/plain"}, alert, 415, `Content-Type "text/plain"`},
		{"multipart webhook", "POST", "/alerts", map[string]string{"Content-Type": "multipart/form-data; boundary=x"}, "--x--", 415, "multipart/form-data"},
		{"body without a type", "POST", "/alerts", nil, alert, 415, "a body without Content-Type"},
		{"malformed type", "POST", "/alerts", map[string]string{"Content-Type": "application/json; =x"}, alert, 415, "is not application/json"},
		{"cross-origin JSON webhook", "POST", "/alerts", map[string]string{"Origin": "http://evil.example", "Content-Type": "application/json"}, alert, 403, "evil.example"},
		{"Sec-Fetch-Site cross-site", "POST", "/alerts", map[string]string{"Sec-Fetch-Site": "cross-site", "Content-Type": "application/json"}, alert, 403, "Sec-Fetch-Site: cross-site"},
		{"Sec-Fetch-Site same-site", "POST", "/api/v1/reconcile?table=t", map[string]string{"Sec-Fetch-Site": "same-site"}, "", 403, "Sec-Fetch-Site: same-site"},
		{"opaque origin", "POST", "/api/v1/reconcile?table=t", map[string]string{"Origin": "null"}, "", 403, `Origin "null"`},
		{"origin on another port", "POST", "/api/v1/reconcile?table=t", map[string]string{"Origin": "http://127.0.0.1:1"}, "", 403, "is not this server"},
		{"text/plain reconcile", "POST", "/api/v1/reconcile?table=t", map[string]string{"Content-Type": "text/plain"}, "", 415, `Content-Type "text/plain"`},
		{"cross-origin reload", "POST", "/-/reload", map[string]string{"Origin": "http://evil.example"}, "", 403, "evil.example"},
		{"cross-origin PUT reload", "PUT", "/-/reload", map[string]string{"Sec-Fetch-Site": "cross-site"}, "", 403, "cross-site"},
		{"form reload", "POST", "/-/reload", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "x=1", 415, "x-www-form-urlencoded"},
	}
	g := newGuarded(t)
	for _, c := range refused {
		code, body := g.do(t, c.method, c.path, c.header, c.body)
		if code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %q, want %d naming %q", c.name, code, body, c.code, c.want)
		}
	}
	if g.alerts.Load() != 0 || g.runs.Load() != 0 || len(g.runner.List("")) != 0 || g.builds.Load() != 1 {
		t.Fatalf("refused requests acted: %d notifications, %d runs, %d jobs, %d loads",
			g.alerts.Load(), g.runs.Load(), len(g.runner.List("")), g.builds.Load())
	}

	self := g.url // http://127.0.0.1:port, as the browser on this page would say
	allowed := []struct {
		name         string
		method, path string
		header       map[string]string
		body         string
	}{
		// What Alertmanager's webhook notifier sends.
		{"Alertmanager", "POST", "/alerts", map[string]string{"Content-Type": "application/json", "User-Agent": "Alertmanager/0.28.1"}, alert},
		{"JSON with a charset", "POST", "/alerts", map[string]string{"Content-Type": "application/json; charset=utf-8"}, alert},
		{"same origin", "POST", "/alerts", map[string]string{"Content-Type": "application/json", "Origin": self, "Sec-Fetch-Site": "same-origin"}, alert},
		{"curl -X POST reload", "POST", "/-/reload", nil, ""},
		{"curl -X POST reconcile", "POST", "/api/v1/reconcile?table=t", nil, ""},
	}
	for _, c := range allowed {
		if code, body := g.do(t, c.method, c.path, c.header, c.body); code >= 300 {
			t.Errorf("%s: %d %q, want it through", c.name, code, body)
		}
	}
	if g.alerts.Load() != 3 || g.builds.Load() != 2 || len(g.runner.List("")) != 1 {
		t.Errorf("allowed requests: %d notifications, %d loads, %d jobs; want 3, 2, 1", g.alerts.Load(), g.builds.Load(), len(g.runner.List("")))
	}
	// Reading is never refused: a dashboard's link works from anywhere.
	if code, _ := g.do(t, "GET", "/api/v1/reconcile", map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, ""); code != http.StatusOK {
		t.Errorf("GET from another origin: %d, want 200", code)
	}
}

func TestHostPortAddsTheDefaultPort(t *testing.T) {
	for _, c := range []struct{ host, scheme, want string }{
		{"example.com", "http", "example.com:80"},
		{"example.com", "https", "example.com:443"},
		{"example.com:8080", "http", "example.com:8080"},
		{"[::1]", "http", "[::1]:80"},
		{"[::1]:9", "http", "[::1]:9"},
	} {
		if got := hostPort(c.host, c.scheme); got != c.want {
			t.Errorf("hostPort(%q, %q) = %q, want %q", c.host, c.scheme, got, c.want)
		}
	}
}
