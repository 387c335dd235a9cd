package wiring

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/server"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// Every reload builds a new Runtime; what the old one opened (keep-alive
// connections to Connect and the goroutines serving them, pools, the
// remediation engine) must be released, or a process reloaded by a
// config-management loop grows without bound.
func TestReloadsReleaseTheOldRuntimesConnectionsAndGoroutines(t *testing.T) {
	connect, open := testenv.ConnCountingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, "{}") // no connectors
	}))
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "cdc-sentinel.yml")
	cfg := fmt.Sprintf(`connect_clusters:
  - name: prod
    url: %s
remediation:
  rules:
    - name: restart-failed-task
      match: ['alertname="CDCConnectorTaskFailed"']
      action: restart_task
`, connect.URL)
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	srv := server.New(server.Options{Logger: logger, ConfigFile: cfgFile})
	srv.SetBuild(Builder(Deps{Logger: logger, StoragePath: dir, Registerer: srv.Registry()}))
	defer srv.Close()
	handler := srv.Handler()
	reloadAndScrape := func() {
		t.Helper()
		if err := srv.Reload(t.Context()); err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		if !strings.Contains(rec.Body.String(), `cdc_connect_up{connect_cluster="prod"} 1`) {
			t.Fatalf("scrape did not reach Connect:\n%s", rec.Body.String())
		}
	}

	reloadAndScrape()
	baseGoroutines := runtime.NumGoroutine()
	if n := open.Load(); n != 1 {
		t.Fatalf("%d connections to Connect after one scrape, want 1", n)
	}
	const reloads = 20
	for range reloads {
		reloadAndScrape()
	}
	testenv.Eventually(t, 30*time.Second, func() bool {
		return open.Load() <= 1 && runtime.NumGoroutine() <= baseGoroutines
	}, func() string {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		return fmt.Sprintf("after %d reloads: %d connections to Connect (want 1), %d goroutines (baseline %d)\n%s",
			reloads, open.Load(), runtime.NumGoroutine(), baseGoroutines, buf)
	})
}
