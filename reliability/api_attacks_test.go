//go:build reliability

package reliability

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect/connecttest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// attackRow is one line of the attack table: tries, the tries that did
// not end as they must (failures), decisions that went missing (lost: a
// job that vanished, a run that never ended) and actions taken that must
// not have been (doubled: a job started or a row deleted by a refused
// request, a second run of a busy table).
type attackRow struct {
	name                           string
	tries, failures, lost, doubled int
}

// The red team's attacks on the HTTP side, replayed on the real binary:
// a cross-origin browser request asking to delete every target row, the
// same without the configuration allowing it, parameters the API does not
// understand, a source that hangs (server and CLI), and a reload while a
// reconcile runs. No Toxiproxy needed: the hung database is a listener
// that accepts and never answers.
func TestAPIAttacks(t *testing.T) {
	pg := startPostgres(t)
	for _, db := range []string{"source", "target"} {
		pg.psql(t, "postgres", "CREATE DATABASE "+db)
	}
	// An empty source and a target of 52 rows: what the red team deleted.
	pg.psql(t, "source", "CREATE TABLE t (id int PRIMARY KEY, note text); CREATE TABLE debezium_signal (id text PRIMARY KEY, type text, data text)")
	pg.psql(t, "target", "CREATE TABLE t (id int PRIMARY KEY, note text, __source_ts_ms bigint); INSERT INTO t SELECT g, 'n', 0 FROM generate_series(1, 52) g")
	hung, _ := testenv.HungListener(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yml")
	connectURL := "http://127.0.0.1:1"
	write := func(extra string) {
		writeFile(t, cfg, fmt.Sprintf(`connect_clusters:
  - {name: local, url: %q, timeout: 1s}
databases:
  - {name: source, driver: postgres, dsn: %q, query_timeout: 3s}
  - {name: target, driver: postgres, dsn: %q, query_timeout: 3s}
  - {name: frozen, driver: postgres, dsn: "postgres://u:p@%s/x?sslmode=disable", query_timeout: 2s}
tables:
  - name: t
    source: {database: source, table: public.t}
    target: {database: target, table: public.t}
    signal: {connector: src, table: public.debezium_signal}
    repair: {max_deletes: 1000000, min_source_ratio: 0}
  - name: hung
    source: {database: frozen, table: public.t}
    target: {database: target, table: public.t}
%s`, connectURL, pgDSN(pg.addr, "source"), pgDSN(pg.addr, "target"), hung, extra))
	}
	write("")
	bin := buildBinary(t, dir)
	s := newSentinel(bin, cfg, t.TempDir())
	s.start(t)
	defer s.stop()
	base := "http://" + s.addr

	do := func(method, path string, header map[string]string) (int, map[string]any) {
		req, _ := http.NewRequest(method, base+path, nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var body map[string]any
		_ = json.Unmarshal(b, &body)
		if body == nil {
			body = map[string]any{"text": string(b)}
		}
		return resp.StatusCode, body
	}
	jobs := func() int {
		_, body := do("GET", "/api/v1/reconcile?limit=100", nil)
		l, _ := body["jobs"].([]any)
		return len(l)
	}
	targetRows := func() int {
		host, port, _ := strings.Cut(pg.addr, ":")
		out, err := exec.Command(pg.bin+"/psql", "-X", "-At", "-h", host, "-p", port, "-U", "postgres", "-d", "target", "-c", "SELECT count(*) FROM t").Output()
		if err != nil {
			t.Fatal(err)
		}
		var n int
		fmt.Sscan(string(out), &n)
		return n
	}
	waitEnd := func(id string) (string, string) {
		var status, msg string
		eventually(60*time.Second, func() bool {
			_, body := do("GET", "/api/v1/reconcile/"+id, nil)
			status, _ = body["status"].(string)
			msg, _ = body["error"].(string)
			return status != "running"
		})
		return status, msg
	}

	var rows []attackRow
	refused := func(name string, tries, want int, method, path string, header map[string]string) {
		row := attackRow{name: name, tries: tries}
		beforeJobs, beforeRows := jobs(), targetRows()
		for range tries {
			if code, _ := do(method, path, header); code != want {
				row.failures++
			}
		}
		row.doubled = jobs() - beforeJobs + beforeRows - targetRows()
		rows = append(rows, row)
	}
	const attack = "/api/v1/reconcile?table=t&repair=true&delete_extra=true&max_deletes=1000000"
	refused("cross-origin delete_extra (Origin evil, text/plain) → 403", 50, 403, "POST", attack, map[string]string{"Origin": "http://evil.example", "Content-Type": "text/plain"})
	refused("Sec-Fetch-Site: cross-site → 403", 20, 403, "POST", attack, map[string]string{"Sec-Fetch-Site": "cross-site"})
	refused("text/plain without Origin → 415", 20, 415, "POST", attack, map[string]string{"Content-Type": "text/plain"})
	refused("form body to /-/reload → 415", 20, 415, "POST", "/-/reload", map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	refused("delete_extra over HTTP, not configured → 403", 50, 403, "POST", attack, nil)
	refused("repair=yes → 400", 20, 400, "POST", "/api/v1/reconcile?table=t&repair=yes", nil)
	refused("unknown parameter → 400", 20, 400, "POST", "/api/v1/reconcile?table=t&repiar=true", nil)

	// A hung source: the job ends failed within query_timeout, and the
	// table takes the next run (no 409 for ever).
	row := attackRow{name: "hung source, server: job failed, next start 202", tries: 5}
	for range row.tries {
		code, body := do("POST", "/api/v1/reconcile?table=hung", nil)
		id, _ := body["id"].(string)
		if code != 202 {
			row.failures++
			continue
		}
		status, msg := waitEnd(id)
		switch {
		case status == "running":
			row.lost++
		case status != "failed" || !strings.Contains(msg, "database frozen"):
			row.failures++
		}
	}
	rows = append(rows, row)

	// The same from the command line: exit 1 naming the database.
	row = attackRow{name: "hung source, CLI: exit 1 naming the database", tries: 3}
	for range row.tries {
		out, err := exec.Command(bin, "reconcile", "--config.file="+cfg, "--table=hung", "--progress=never").CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "database frozen") {
			row.failures++
		}
	}
	rows = append(rows, row)

	// A reload while a run is under way keeps it and its history.
	row = attackRow{name: "reload during a run: job kept, ends on its own outcome", tries: 5}
	for i := range row.tries {
		code, body := do("POST", "/api/v1/reconcile?table=hung", nil)
		id, _ := body["id"].(string)
		if code != 202 {
			row.failures++
			continue
		}
		write(fmt.Sprintf("reconcile: {timeout: %dm}\n", 60+i))
		if err := s.reload(); err != nil {
			t.Fatal(err)
		}
		if code, body := do("GET", "/api/v1/reconcile/"+id, nil); code != 200 {
			row.lost++
			continue
		} else if body["status"] != "running" {
			row.failures++ // ended before the reload took effect: the try proves nothing
		}
		if code, _ := do("POST", "/api/v1/reconcile?table=hung", nil); code == 202 {
			row.doubled++ // a second run of the busy table
		}
		status, _ := waitEnd(id)
		switch status {
		case "running":
			row.lost++
		case "failed":
		default:
			row.failures++ // cancelled by the reload
		}
	}
	rows = append(rows, row)

	// Deleting allowed over HTTP and asked for by a same-origin client,
	// with the table's source connector known: the empty source itself
	// refuses it, and the job fails naming it.
	fake, _ := connecttest.New(t)
	fake.Add("src", connectorkind.ClassPostgres, connect.StateRunning, 1).Status.Type = "source"
	connectSrv := httptest.NewServer(fake)
	defer connectSrv.Close()
	connectURL = connectSrv.URL
	write("reconcile: {http_delete_extra: true}\n")
	if err := s.reload(); err != nil {
		t.Fatal(err)
	}
	row = attackRow{name: "delete_extra allowed, empty source: job failed naming it", tries: 5}
	for range row.tries {
		code, body := do("POST", attack, nil)
		id, _ := body["id"].(string)
		if code != 202 {
			row.failures++
			continue
		}
		switch status, msg := waitEnd(id); {
		case status == "running":
			row.lost++
		case status != "failed" || !strings.Contains(msg, "the source compared no rows while the target has 52"):
			t.Logf("empty source: %s %q", status, msg)
			row.failures++
		}
	}
	rows = append(rows, row)

	var b strings.Builder
	fmt.Fprintln(&b, "| attack | tries | failures | lost | doubled |\n|---|---|---|---|---|")
	bad := false
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d |\n", r.name, r.tries, r.failures, r.lost, r.doubled)
		bad = bad || r.failures+r.lost+r.doubled > 0
	}
	t.Log("\n" + b.String())
	if n := targetRows(); n != 52 {
		t.Errorf("the target holds %d rows after the attacks, want its 52", n)
	}
	if bad {
		t.Errorf("an attack got through:\n%s\n%s", b.String(), s.logs)
	}
}
