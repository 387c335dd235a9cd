package wiring

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/reconcile"
	"github.com/cdc-sentinel/cdc-sentinel/internal/server"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// A reload while a reconcile runs keeps it: the run goes on against the
// databases of the configuration it started with, the API answers for it
// after the reload, and it ends on its own outcome, not cancelled.
func TestReloadKeepsARunningReconcile(t *testing.T) {
	// A database that hangs, then fails when dropped.
	addr, drop := testenv.HungListener(t)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "cdc-sentinel.yml")
	write := func(extra string) {
		cfg := fmt.Sprintf(`databases:
  - {name: src, driver: postgres, dsn: "postgres://u:p@%[1]s/inventory?sslmode=disable", query_timeout: 10m}
  - {name: tgt, driver: postgres, dsn: "postgres://u:p@%[1]s/sink?sslmode=disable", query_timeout: 10m}
tables:
  - {name: orders, source: {database: src, table: public.orders}, target: {database: tgt, table: public.orders}, key: [id]}
%s`, addr, extra)
		if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("")
	logger := slog.New(slog.DiscardHandler)
	srv := server.New(server.Options{Logger: logger, ConfigFile: cfgFile})
	jobs := reconcile.NewJobs()
	srv.SetBuild(Builder(Deps{Logger: logger, StoragePath: dir, Registerer: srv.Registry(), Reconciles: jobs}))
	defer srv.Close()
	defer jobs.Close()
	if err := srv.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	call := func(method, path string) (int, map[string]any) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		var body map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		return rec.Code, body
	}
	code, body := call(http.MethodPost, "/api/v1/reconcile?table=orders")
	if code != http.StatusAccepted {
		t.Fatalf("start: %d %v", code, body)
	}
	id := body["id"].(string)

	write("reconcile: {timeout: 2h}\n")
	if err := srv.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if code, body := call(http.MethodGet, "/api/v1/reconcile/"+id); code != http.StatusOK || body["status"] != "running" {
		t.Fatalf("after the reload GET %s: %d %v, want the job still running", id, code, body)
	}
	if code, body := call(http.MethodPost, "/api/v1/reconcile?table=orders"); code != http.StatusConflict || body["id"] != id {
		t.Errorf("a second start after the reload: %d %v, want 409 naming %s", code, body, id)
	}

	drop() // the database the run started on fails it
	var job map[string]any
	testenv.Eventually(t, 60*time.Second, func() bool {
		_, job = call(http.MethodGet, "/api/v1/reconcile/"+id)
		return job["status"] != "running"
	}, func() string { return fmt.Sprintf("job %v", job) })
	if job["status"] != "failed" || !strings.Contains(fmt.Sprint(job["error"]), "database src") {
		t.Errorf("the run ended %v, want failed on its database, not cancelled by the reload", job)
	}
	if code, body := call(http.MethodGet, "/api/v1/reconcile?table=orders"); code != http.StatusOK || len(body["jobs"].([]any)) != 1 {
		t.Errorf("history after the reload: %d %v", code, body)
	}
}
