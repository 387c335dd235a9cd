package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// blockedTable is a table whose run waits for release and then fails:
// enough to drive the runner without a database. started counts runs.
func blockedTable(name string, release <-chan struct{}, started chan<- string) Table {
	return Table{
		Name:     name,
		Signaler: okSignaler{},
		Limits:   config.Repair{MaxDeletes: 50},
		Sides: func() (sqldialect.Side, sqldialect.Side, error) {
			if started != nil {
				started <- name
			}
			<-release
			return sqldialect.Side{}, sqldialect.Side{}, errors.New("source unreachable")
		},
	}
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
	r := NewJobs().Runner([]Table{blockedTable("t", release, started)}, Options{}, Limits{}, nil)
	defer r.Close()
	defer close(release)
	mux := http.NewServeMux()
	r.Register(mux)
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
	r := NewJobs().Runner([]Table{blockedTable("t", release, nil)}, Options{}, Limits{HTTPDeleteExtra: true}, nil)
	defer r.Close()
	defer close(release)
	for _, tc := range []struct {
		query string
		want  int
	}{{"table=t&repair=true&delete_extra=true&max_deletes=7", 7}, {"table=t&repair=true&delete_extra=true", 0}} {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/reconcile?"+tc.query, nil)
		table, o, code, err := r.startOptions(req)
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
	r := NewJobs().Runner([]Table{blockedTable("a", release, nil), blockedTable("b", release, nil)}, Options{Now: clock}, Limits{}, nil)
	defer r.Close()
	mux := http.NewServeMux()
	r.Register(mux)
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

// A run that passes reconcile.timeout ends failed, naming the timeout,
// and frees its table: a hung source no longer answers 409 for ever.
func TestRunPastItsTimeoutFails(t *testing.T) {
	hung := Table{Name: "t", Ping: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}
	r := NewJobs().Runner([]Table{hung}, Options{}, Limits{Timeout: 50 * time.Millisecond}, nil)
	defer r.Close()
	id, err := r.Start(context.Background(), "t", StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	job, err := r.Wait(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if job.Status != "failed" || !strings.Contains(job.Error, "reconcile of t ran past reconcile.timeout (50ms)") {
		t.Errorf("job %s: %q, want failed past reconcile.timeout", job.Status, job.Error)
	}
	if _, err := r.Start(context.Background(), "t", StartOptions{}); err != nil {
		t.Errorf("the table is still held after the timed-out run: %v", err)
	}
}

// A source database that accepts connections and never answers fails
// the job within its query_timeout, naming the database; the table is
// free again.
func TestHungSourceFailsTheJob(t *testing.T) {
	addr, _ := testenv.HungListener(t)
	open := func(name, dsn string) *database.DB {
		db, err := database.Open(context.Background(), config.Database{Name: name, Driver: config.DriverPostgres, DSN: config.Secret(dsn), QueryTimeout: 200 * time.Millisecond, MaxOpenConns: 2})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	dbs := map[string]*database.DB{
		"src": open("src", "postgres://u:p@"+addr+"/inventory?sslmode=disable"),
		"tgt": open("tgt", "postgres://u:p@"+addr+"/sink?sslmode=disable"),
	}
	tab, err := TableFromConfig(config.Table{Name: "t", Source: config.TableRef{Database: "src", Table: "public.t"}, Target: config.TableRef{Database: "tgt", Table: "public.t"}}, dbs, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := NewJobs().Runner([]Table{tab}, Options{}, Limits{Timeout: time.Hour}, nil)
	defer r.Close()
	id, err := r.Start(context.Background(), "t", StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	job, err := r.Wait(ctx, id)
	if err != nil {
		t.Fatalf("the job is still %s after a minute against a hung source", job.Status)
	}
	if job.Status != "failed" || !strings.Contains(job.Error, "database src") || !strings.Contains(job.Error, "timed out") {
		t.Errorf("job %s: %q, want failed naming database src and the timeout", job.Status, job.Error)
	}
}

// A reload builds a new Runner over the same Jobs: the run started
// before it goes on (closing the old Runner waits for it, cancelling
// nothing), the new Runner answers for it and keeps its table to one
// run, and the table's counters carry over. Jobs.Close, at shutdown,
// cancels.
func TestReloadKeepsRunningJobsAndHistory(t *testing.T) {
	jobs := NewJobs()
	defer jobs.Close()
	release := make(chan struct{})
	started := make(chan string, 1)
	before := jobs.Runner([]Table{blockedTable("t", release, started)}, Options{}, Limits{}, nil)
	id, err := before.Start(context.Background(), "t", StartOptions{Repair: true})
	if err != nil {
		t.Fatal(err)
	}
	<-started

	after := jobs.Runner([]Table{blockedTable("t", nil, nil)}, Options{}, Limits{}, nil)
	defer after.Close()
	closed := make(chan struct{})
	go func() { before.Close(); close(closed) }()

	if j, ok := after.Get(id); !ok || j.Status != "running" {
		t.Fatalf("after the reload GET %s: %+v, %v; want the running job", id, j, ok)
	}
	if busy, err := after.Start(context.Background(), "t", StartOptions{}); !errors.Is(err, ErrRunning) || busy != id {
		t.Errorf("a second run of the table after the reload: %q, %v; want 409 naming %s", busy, err, id)
	}
	if got := after.ReconcileTables(); len(got) != 1 || !got[0].Running {
		t.Errorf("after the reload the table reads %+v, want running", got)
	}
	mux := http.NewServeMux()
	before.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	if got := call(t, http.MethodPost, srv.URL+"/api/v1/reconcile?table=t"); got.code != http.StatusServiceUnavailable {
		t.Errorf("a start on the replaced runner: %d %v, want 503", got.code, got.body)
	}

	select {
	case <-closed:
		t.Fatal("closing the replaced runner did not wait for its run")
	default:
	}
	close(release)
	<-closed
	j, ok := after.Get(id)
	if !ok || j.Status != "failed" || !strings.Contains(j.Error, "source unreachable") {
		t.Errorf("the run started before the reload ended %+v, want failed on its own error (not cancelled)", j)
	}
	if got := after.ReconcileTables(); len(got) != 1 || got[0].Failed != 1 || got[0].Running {
		t.Errorf("counters after the reload: %+v, want the run's failure kept", got)
	}
	if l := after.List("t"); len(l) != 1 || l[0].ID != id {
		t.Errorf("history after the reload: %+v", l)
	}

	// Shutdown cancels what still runs.
	last := jobs.Runner([]Table{{Name: "u", Ping: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}}, Options{}, Limits{}, nil)
	id, err = last.Start(context.Background(), "u", StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	jobs.Close()
	last.Close()
	if j, _ := last.Get(id); j.Status != "cancelled" {
		t.Errorf("at shutdown the run ended %s, want cancelled", j.Status)
	}
}

// A repair being followed when the configuration is reloaded is still
// followed to its end: the new Runner shows its outcome and counts it
// (cdc_reconcile_repairs_total{outcome="timed_out"} feeds
// CDCRepairNotCompleted), and closing the old Runner waits for it.
func TestReloadKeepsFollowingARepair(t *testing.T) {
	src := &fakeNotifications{reads: make(chan struct{}, 1)}
	var mu sync.Mutex
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	tab := Table{Name: "customers", Signaler: okSignaler{}, RepairTimeout: time.Minute,
		Notifications: func(context.Context) (NotificationSource, error) { return src, nil }}
	jobs := NewJobs()
	defer jobs.Close()
	before := jobs.Runner([]Table{tab}, Options{RepairPoll: time.Millisecond, Now: clock}, Limits{}, nil)
	id := followRepair(t, before, tab, []string{"s1"})
	<-src.reads // following has begun

	after := jobs.Runner([]Table{tab}, Options{Now: clock}, Limits{}, nil)
	defer after.Close()
	closed := make(chan struct{})
	go func() { before.Close(); close(closed) }()

	mu.Lock()
	now = t0.Add(time.Hour)
	mu.Unlock()
	p := waitRepair(t, after, id)
	if p.Status != RepairTimedOut {
		t.Fatalf("after the reload the repair ended %+v, want timed_out", p)
	}
	<-closed
	if st := after.ReconcileTables()[0]; st.RepairsTimedOut != 1 {
		t.Errorf("the new runner counts %+v, want the timed-out repair", st)
	}
}
