package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/reconcile"
	"github.com/cdc-sentinel/cdc-sentinel/internal/reconcilestats"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

// blockedTable is a table whose runs wait for release and then fail,
// enough to drive the API without a database; started hears of each run.
// It has no signal channel: every repair here is refused before it runs.
func blockedTable(name string, release <-chan struct{}, started chan<- string) reconcile.Table {
	sides := func() (sqldialect.Side, sqldialect.Side, error) {
		if started != nil {
			started <- name
		}
		<-release
		return sqldialect.Side{}, sqldialect.Side{}, errors.New("source unreachable")
	}
	return reconcile.Table{Name: name, Limits: config.Repair{MaxDeletes: 50}, Sides: sides}
}

type apiAnswer struct {
	code int
	body map[string]any
}

func call(t *testing.T, method, url string) apiAnswer {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return apiAnswer{resp.StatusCode, body}
}

// POST /api/v1/reconcile refuses what it does not understand, naming it,
// and starts nothing: repair=yes once ran a reconcile without repair.
func TestStartRefusesUnknownAndMalformedParameters(t *testing.T) {
	release := make(chan struct{})
	started := make(chan string, 10)
	r := reconcile.NewJobs().Runner([]reconcile.Table{blockedTable("t", release, started)}, reconcile.Options{}, reconcile.Limits{}, nil)
	defer r.Close()
	defer close(release)
	mux := http.NewServeMux()
	RegisterReconcile(mux, r)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	cases := []struct {
		query string
		code  int
		want  string
	}{
		{"table=t&repair=yes", 400, `repair="yes": want true or false`},
		{"table=t&repair=", 400, `repair="": want true or false`},
		{"table=t&repair=TRUE", 400, `repair="TRUE"`},
		{"table=t&repair=true&delete_extra=1", 400, `delete_extra="1": want true or false`},
		{"table=t&repiar=true", 400, `unknown parameter "repiar" (known: delete_extra, max_deletes, repair, table)`},
		{"table=t&dry_run=true", 400, `unknown parameter "dry_run"`},
		{"table=t&table=u", 400, `parameter "table" given 2 times`},
		{"table=t&repair=true&repair=false", 400, `parameter "repair" given 2 times`},
		{"table=t&max_deletes=ten", 400, `max_deletes="ten": want a number of rows, at least 1`},
		{"table=t&max_deletes=0", 400, `max_deletes="0"`},
		{"table=t&max_deletes=-5", 400, `max_deletes="-5"`},
		{"table=t&repair=true&max_deletes=1000000", 400, "max_deletes 1000000 is above table t's cap of 50 (tables[].repair.max_deletes)"},
		{"table=t&delete_extra=true", 400, "delete_extra=true needs repair=true"},
		{"table=t&repair=true&delete_extra=true", 403, "reconcile.http_delete_extra"},
		{"table=%zz", 400, "malformed query"},
		{"", 400, "the table parameter is required"},
		{"table=", 400, "the table parameter is required"},
		{"table=nope", 404, `unknown table "nope"`},
	}
	for _, tc := range cases {
		got := call(t, http.MethodPost, srv.URL+"/api/v1/reconcile?"+tc.query)
		msg, _ := got.body["error"].(string)
		if got.code != tc.code || !strings.Contains(msg, tc.want) {
			t.Errorf("POST ?%s: %d %q, want %d naming %q", tc.query, got.code, msg, tc.code, tc.want)
		}
	}
	select {
	case name := <-started:
		t.Fatalf("a refused request started a reconcile of %s", name)
	default:
	}
	if got := r.List(""); len(got) != 0 {
		t.Errorf("refused requests left jobs: %+v", got)
	}
	// The same parameters well formed are accepted.
	if got := call(t, http.MethodPost, srv.URL+"/api/v1/reconcile?table=t&repair=false&max_deletes=10"); got.code != http.StatusAccepted {
		t.Errorf("well-formed start: %d %v", got.code, got.body)
	}
}

// With reconcile.http_delete_extra the caller's max_deletes reaches the
// repair; without one the table's cap applies (Table.Run reads it).
func TestStartPassesDeleteExtraWhenConfigured(t *testing.T) {
	release := make(chan struct{})
	r := reconcile.NewJobs().Runner([]reconcile.Table{blockedTable("t", release, nil)}, reconcile.Options{}, reconcile.Limits{HTTPDeleteExtra: true}, nil)
	defer r.Close()
	defer close(release)
	for _, tc := range []struct {
		query string
		want  int
	}{{"table=t&repair=true&delete_extra=true&max_deletes=7", 7}, {"table=t&repair=true&delete_extra=true", 0}} {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/reconcile?"+tc.query, nil)
		table, o, code, err := reconcileAPI{r}.startOptions(req)
		if err != nil || table != "t" || !o.Repair || !o.DeleteExtra || o.MaxDeletes != tc.want {
			t.Errorf("?%s: %q %+v %d %v; want repair, delete_extra, max_deletes %d", tc.query, table, o, code, err, tc.want)
		}
	}
}

// GET /api/v1/reconcile lists the jobs kept, newest first, with the same
// snake_case fields as one job.
func TestListJobs(t *testing.T) {
	release := make(chan struct{})
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); now = now.Add(time.Second); return now }
	r := reconcile.NewJobs().Runner([]reconcile.Table{blockedTable("a", release, nil), blockedTable("b", release, nil)}, reconcile.Options{Now: clock}, reconcile.Limits{}, nil)
	defer r.Close()
	mux := http.NewServeMux()
	RegisterReconcile(mux, r)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	idA := call(t, http.MethodPost, srv.URL+"/api/v1/reconcile?table=a").body["id"]
	idB := call(t, http.MethodPost, srv.URL+"/api/v1/reconcile?table=b").body["id"]
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, id := range []any{idA, idB} {
		if _, err := r.Wait(ctx, id.(string)); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.Get(srv.URL + "/api/v1/reconcile")
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string][]map[string]any
	json.NewDecoder(resp.Body).Decode(&raw)
	resp.Body.Close()
	jobs := raw["jobs"]
	if len(jobs) != 2 || jobs[0]["id"] != idB || jobs[1]["id"] != idA {
		t.Fatalf("jobs %v, want b then a", jobs)
	}
	for _, key := range []string{"id", "table", "status", "repair", "started_at", "finished_at", "progress", "error"} {
		if _, ok := jobs[0][key]; !ok {
			t.Errorf("a listed job has no %q: %v", key, jobs[0])
		}
	}
	for key := range jobs[0] {
		if key != strings.ToLower(key) || strings.Contains(key, "-") {
			t.Errorf("key %q is not snake_case", key)
		}
	}
	for _, tc := range []struct {
		query string
		code  int
		n     int
		want  string
	}{
		{"table=a", 200, 1, ""},
		{"limit=1", 200, 1, ""},
		{"table=nope", 404, 0, `unknown table "nope"`},
		{"limit=0", 400, 0, `limit="0": want a number from 1 to 100`},
		{"limit=101", 400, 0, "limit"},
		{"limit=x", 400, 0, "limit"},
		{"status=failed", 400, 0, `unknown parameter "status" (known: limit, table)`},
	} {
		got := call(t, http.MethodGet, srv.URL+"/api/v1/reconcile?"+tc.query)
		msg, _ := got.body["error"].(string)
		n := 0
		if l, ok := got.body["jobs"].([]any); ok {
			n = len(l)
		}
		if got.code != tc.code || n != tc.n || !strings.Contains(msg, tc.want) {
			t.Errorf("GET ?%s: %d, %d jobs, %q; want %d, %d jobs, %q", tc.query, got.code, n, msg, tc.code, tc.n, tc.want)
		}
	}
}

func TestRunnerAPI(t *testing.T) {
	release := make(chan struct{})
	jobs := reconcile.NewJobs()
	r := jobs.Runner([]reconcile.Table{{
		Name: "customers",
		// Blocks until released, then fails: enough to exercise the API.
		Sides: func() (sqldialect.Side, sqldialect.Side, error) {
			<-release
			return sqldialect.Side{}, sqldialect.Side{}, errors.New("source unreachable")
		},
	}}, reconcile.Options{}, reconcile.Limits{}, nil)
	defer r.Close()
	defer jobs.Close() // before r.Close: the run still blocked is cancelled
	mux := http.NewServeMux()
	RegisterReconcile(mux, r)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	post := func(query string) (int, map[string]string) {
		t.Helper()
		resp, err := http.Post(srv.URL+"/api/v1/reconcile?"+query, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]string
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	code, body := post("table=customers")
	if code != http.StatusAccepted || body["id"] == "" {
		t.Fatalf("start: %d %v, want 202 with an id", code, body)
	}
	id := body["id"]
	if code, body := post("table=customers"); code != http.StatusConflict || body["id"] != id {
		t.Errorf("second start: %d %v, want 409 naming %s", code, body, id)
	}
	if code, body := post("table=nope"); code != http.StatusNotFound || !strings.Contains(body["error"], "nope") {
		t.Errorf("unknown table: %d %v", code, body)
	}
	if code, _ := post(""); code != http.StatusBadRequest {
		t.Errorf("no table: %d, want 400", code)
	}
	if code, body := post("table=customers&repair=true"); code != http.StatusBadRequest || !strings.Contains(body["error"], "signal") {
		t.Errorf("repair without a signal: %d %v, want 400 naming the signal config", code, body)
	}
	if got, want := r.ReconcileTables(), []reconcilestats.Table{{Table: "customers", Running: true}}; !reflect.DeepEqual(got, want) {
		t.Errorf("while running: %+v, want %+v", got, want)
	}

	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := r.Wait(ctx, id); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(srv.URL + "/api/v1/reconcile/" + id)
	if err != nil {
		t.Fatal(err)
	}
	var job reconcile.Job
	json.NewDecoder(resp.Body).Decode(&job)
	resp.Body.Close()
	if job.Status != "failed" || !strings.Contains(job.Error, "source unreachable") {
		t.Errorf("job %+v: want failed with the cause", job)
	}
	if resp, _ := http.Get(srv.URL + "/api/v1/reconcile/unknown"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown id: %d", resp.StatusCode)
	}
	got := r.ReconcileTables()
	if len(got) != 1 || got[0].Failed != 1 || got[0].Succeeded != 0 || got[0].Cancelled != 0 || got[0].Running || !got[0].LastSuccess.IsZero() {
		t.Errorf("after a failed run: %+v, want one failure, not running, no success", got)
	}
}
