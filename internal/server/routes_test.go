package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
)

// The server names none of the runtime's routes: whatever path the
// runtime's API mux registers is served, the server's own endpoints and
// the landing page stay the server's, and the rest is 404.
func TestEveryOtherPathGoesToTheRuntimesAPI(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "c.yml")
	if err := os.WriteFile(cfgFile, []byte("connect_clusters: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	api := http.NewServeMux()
	api.HandleFunc("/alerts", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("webhook")) })
	api.HandleFunc("POST /api/v1/reconcile", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("reconcile")) })
	api.HandleFunc("/hooks/other", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("other")) })
	landing := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("landing")) })
	s := New(Options{Logger: slog.New(slog.DiscardHandler), ConfigFile: cfgFile, MetricsPath: "/metrics", LandingPage: landing,
		Build: func(ctx context.Context, cfg *config.Config) (*Runtime, error) {
			return &Runtime{Config: cfg, API: api}, nil
		}})
	if err := s.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	for _, c := range []struct {
		method, path string
		code         int
		body         string
	}{
		{"POST", "/alerts", 200, "webhook"},
		{"POST", "/api/v1/reconcile", 200, "reconcile"},
		{"GET", "/api/v1/reconcile", 405, ""},
		{"GET", "/hooks/other", 200, "other"},
		{"GET", "/", 200, "landing"},
		{"GET", "/-/healthy", 200, "Healthy.\n"},
		{"GET", "/nothing-here", 404, ""},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(c.method, c.path, nil))
		if w.Code != c.code || (c.body != "" && w.Body.String() != c.body) {
			t.Errorf("%s %s = %d %q, want %d %q", c.method, c.path, w.Code, w.Body.String(), c.code, c.body)
		}
	}
}
