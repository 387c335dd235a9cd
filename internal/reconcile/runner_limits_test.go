package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// A run that passes reconcile.timeout ends failed, naming the timeout,
// and frees its table: a hung source no longer answers 409 for ever.
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
	// Once its Close has begun, the replaced runner refuses new runs
	// (the API's 503); until then the table's run makes it answer 409.
	var refused error
	testenv.Eventually(t, 30*time.Second, func() bool {
		_, refused = before.Start(context.Background(), "t", StartOptions{})
		return errors.Is(refused, ErrClosed)
	}, func() string { return fmt.Sprintf("a start on the replaced runner: %v, want ErrClosed", refused) })

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
