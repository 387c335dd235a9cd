package main

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// reconcileTables creates a table in a database of its own on each side of
// the local pipeline's PostgreSQL, differing in every way a reconcile
// reports (a row missing, one differing, one extra), and returns a
// configuration naming it "items".
func reconcileTables(t *testing.T) string {
	t.Helper()
	testenv.Need(t)
	dsns := map[string]string{"s": testenv.TempDatabase(t, "golden_src"), "t": testenv.TempDatabase(t, "golden_tgt")}
	rows := map[string]string{"s": "(1, 'a'), (2, 'b'), (3, 'c')", "t": "(1, 'a'), (2, 'x'), (4, 'd')"}
	for side, dsn := range dsns {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.Exec(`CREATE TABLE public.items (id int PRIMARY KEY, v text); INSERT INTO public.items VALUES ` + rows[side])
		db.Close()
		if err != nil {
			t.Fatalf("%s: %v", side, err)
		}
	}
	return writeFile(t, t.TempDir(), "cdc-sentinel.yml", `databases:
  - {name: s, driver: postgres, dsn: '`+dsns["s"]+`'}
  - {name: t, driver: postgres, dsn: '`+dsns["t"]+`'}
tables:
  - name: items
    source: {database: s, table: public.items}
    target: {database: t, table: public.items}
`)
}

// reconcile -o json and the reconcile API keep their shape on a table
// with differences: the CLI's report, POST's 202 body, a finished job
// with its report, and the list of jobs.
func TestReconcileJSONMatchesItsGoldenShapes(t *testing.T) {
	cfg := reconcileTables(t)
	out, errOut, code := runBinary(t, "--config.file="+cfg, "reconcile", "--table=items", "-o", "json")
	if out == "" {
		t.Fatalf("reconcile: exit %d, no output: %s", code, errOut)
	}
	compareShape(t, "reconcile", out)

	s := startServer(t, "--config.file="+cfg)
	base := "http://" + s.addr + "/api/v1/reconcile"
	code, body := send(t, http.MethodPost, base+"?table=items", "")
	if code != http.StatusAccepted {
		t.Fatalf("POST: %d %s", code, body)
	}
	compareShape(t, "api-reconcile-start", body)
	var started struct{ ID string }
	if err := json.Unmarshal([]byte(body), &started); err != nil || started.ID == "" {
		t.Fatalf("POST body %s: %v", body, err)
	}
	// A bound for failing, not a timing: the job runs in the server.
	for deadline := time.Now().Add(120 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		code, body = get(t, base+"/"+started.ID)
		var job struct{ Status string }
		if code == http.StatusOK && json.Unmarshal([]byte(body), &job) == nil && job.Status != "running" {
			if job.Status != "succeeded" {
				t.Fatalf("job %s: %s", job.Status, body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reconcile did not finish: %d %s\n%s", code, body, s.logs)
		}
	}
	compareShape(t, "api-reconcile-job", body)
	code, body = get(t, base)
	if code != http.StatusOK || !strings.Contains(body, started.ID) {
		t.Fatalf("GET list: %d %s", code, body)
	}
	compareShape(t, "api-reconcile-list", body)
}
