package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// backend gives the conformance suite stores of one kind.
type backend struct {
	// open returns a store on fresh, empty storage.
	open func(t *testing.T) Store
	// crash abandons whatever s has claimed, as a process killed between
	// claim and finish would, and returns the store that takes over: the
	// bbolt files reopened by the next process, or a second replica on
	// the same PostgreSQL database once the dead one's leases ran out.
	crash func(t *testing.T, s Store) Store
	// peer returns another handle on s's storage for concurrent claims:
	// a second replica on PostgreSQL, the same store for bbolt (one
	// process owns the files).
	peer func(t *testing.T, s Store) Store
}

func boltBackend() backend {
	paths := map[Store]string{}
	var mu sync.Mutex
	openAt := func(t *testing.T, path string) Store {
		s, err := OpenBolt(path)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		paths[s] = path
		mu.Unlock()
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	return backend{
		open: func(t *testing.T) Store {
			return openAt(t, filepath.Join(t.TempDir(), "remediation.db"))
		},
		crash: func(t *testing.T, s Store) Store {
			mu.Lock()
			path := paths[s]
			mu.Unlock()
			// Closing the files releases bbolt's lock as the kernel
			// does for a killed process; nothing is written on close.
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			return openAt(t, path)
		},
		peer: func(_ *testing.T, s Store) Store { return s },
	}
}

func postgresBackend() backend {
	dsns := map[Store]string{}
	var mu sync.Mutex
	openAt := func(t *testing.T, dsn string) Store {
		s, err := OpenPostgres(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		dsns[s] = dsn
		mu.Unlock()
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	dsnOf := func(s Store) string {
		mu.Lock()
		defer mu.Unlock()
		return dsns[s]
	}
	return backend{
		open: func(t *testing.T) Store { return openAt(t, testenv.TempDatabase(t, "rem_store")) },
		crash: func(t *testing.T, s Store) Store {
			// The dead replica's store stays open: a hung process
			// still holds its pool, and must not matter.
			expirePostgresLeases(t, s.(*PostgresStore))
			return openAt(t, dsnOf(s))
		},
		peer: func(t *testing.T, s Store) Store { return openAt(t, dsnOf(s)) },
	}
}

func TestBoltStoreConformance(t *testing.T) { runConformance(t, boltBackend()) }

func TestPostgresStoreConformance(t *testing.T) { runConformance(t, postgresBackend()) }

// runConformance is what every Store must do, whatever keeps it.
func runConformance(t *testing.T, b backend) {
	for _, c := range []struct {
		name string
		test func(*testing.T, backend)
	}{
		{"EnqueueOncePerKey", testEnqueueOncePerKey},
		{"ClaimOldestFirstOnce", testClaimOldestFirstOnce},
		{"FinishRecordsOutcomeAndAudit", testFinishRecordsOutcomeAndAudit},
		{"RetryableOutcomeReopens", testRetryableOutcomeReopens},
		{"AuditFilters", testAuditFilters},
		{"AuditFiltersByConnectorClusterOutcome", testAuditFiltersByTarget},
		{"Prune", testPrune},
		{"SafetyIsSerialised", testSafetyIsSerialised},
		{"ConcurrentClaimsTakeEachJobOnce", testConcurrentClaims},
		{"CrashBetweenClaimAndFinish", testCrashBetweenClaimAndFinish},
		{"CrashAfterAdmitKeepsTheWriteAhead", testCrashAfterAdmit},
		{"AdmitNeedsTheClaimAndChangesNothingWithout", testAdmitNeedsTheClaim},
		{"AdmitCountsAndRecordsTogether", testAdmitCountsAndRecordsTogether},
	} {
		t.Run(c.name, func(t *testing.T) { c.test(t, b) })
	}
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func job(i int) *Job {
	fp := fmt.Sprintf("fp%03d", i)
	return &Job{
		Key: JobKey(fp, t0, "rule", PhaseFiring), Fingerprint: fp, StartsAt: t0,
		Labels: map[string]string{"alertname": "A", "n": fmt.Sprint(i)}, Rule: "rule", Phase: PhaseFiring,
		ReceivedAt: t0.Add(time.Duration(i) * time.Second),
	}
}

func jobs(n int) []*Job {
	out := make([]*Job, n)
	for i := range out {
		out[i] = job(i)
	}
	return out
}

func enqueue(t *testing.T, s Store, js ...*Job) int {
	t.Helper()
	n, err := s.Enqueue(context.Background(), js)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func claim(t *testing.T, s Store, owner string, n int) []*Job {
	t.Helper()
	got, err := s.Claim(context.Background(), owner, n, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func keys(js []*Job) []string {
	out := make([]string, len(js))
	for i, j := range js {
		out[i] = j.Key
	}
	return out
}

func finish(t *testing.T, s Store, j *Job, outcome string, retry bool, rec *Record) {
	t.Helper()
	j.Outcome, j.Retry, j.FinishedAt = outcome, retry, time.Now()
	if err := s.Finish(context.Background(), j, rec); err != nil {
		t.Fatal(err)
	}
}

func backlog(t *testing.T, s Store) int {
	t.Helper()
	n, err := s.Backlog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func testEnqueueOncePerKey(t *testing.T, b backend) {
	s := b.open(t)
	ctx := context.Background()
	if j, err := s.Job(ctx, job(0).Key); err != nil || j != nil {
		t.Fatalf("unknown job: %+v %v", j, err)
	}
	if n := enqueue(t, s, job(0), job(1)); n != 2 {
		t.Fatalf("queued %d, want 2", n)
	}
	// Alertmanager's repeats, group changes and HA peers.
	if n := enqueue(t, s, job(0), job(1), job(0)); n != 0 {
		t.Fatalf("duplicates queued %d, want 0", n)
	}
	if n := enqueue(t, s); n != 0 {
		t.Fatalf("nothing queued %d", n)
	}
	j, err := s.Job(ctx, job(1).Key)
	if err != nil || j == nil || j.State != StatePending {
		t.Fatalf("a received job is pending before any worker takes it: %+v %v", j, err)
	}
	if n := backlog(t, s); n != 2 {
		t.Fatalf("backlog %d, want 2", n)
	}
}

func testClaimOldestFirstOnce(t *testing.T, b backend) {
	s := b.open(t)
	for i := 0; i < 5; i++ {
		enqueue(t, s, job(i))
	}
	first := claim(t, s, "a", 3)
	if got, want := keys(first), keys(jobs(3)); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("claimed %v, want the oldest %v", got, want)
	}
	for _, j := range first {
		if j.State != StateRunning || j.Owner != "a" || j.LeaseUntil.IsZero() {
			t.Fatalf("claimed job: %+v", j)
		}
		if j.Labels["alertname"] != "A" || !j.StartsAt.Equal(t0) {
			t.Fatalf("claimed job lost its alert: %+v", j)
		}
	}
	rest := claim(t, s, "b", 10)
	if got, want := keys(rest), []string{job(3).Key, job(4).Key}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("second claim %v, want %v", got, want)
	}
	if more := claim(t, s, "c", 10); len(more) != 0 {
		t.Fatalf("claimed jobs twice: %v", keys(more))
	}
	if n := backlog(t, s); n != 5 {
		t.Fatalf("backlog with 5 running %d", n)
	}
	j, err := s.Job(context.Background(), job(0).Key)
	if err != nil || j.State != StateRunning {
		t.Fatalf("claimed job as read back: %+v %v", j, err)
	}
}

func testFinishRecordsOutcomeAndAudit(t *testing.T, b backend) {
	s := b.open(t)
	ctx := context.Background()
	enqueue(t, s, job(0))
	j := claim(t, s, "a", 1)[0]
	j.Healthy = &HealthyMark{Key: "target/x", At: t0}
	rec := &Record{Rule: "rule", Phase: PhaseFiring, Action: "restart_task", Outcome: "success", FinishedAt: time.Now(), Replica: "a"}
	finish(t, s, j, "success", false, rec)
	got, err := s.Job(ctx, j.Key)
	if err != nil || got.State != StateDone || got.Outcome != "success" || got.Retry || got.Owner != "" {
		t.Fatalf("finished job: %+v %v", got, err)
	}
	recs, err := s.Audit(ctx, AuditQuery{Limit: 10})
	if err != nil || len(recs) != 1 || recs[0].Action != "restart_task" || recs[0].ID == 0 {
		t.Fatalf("audit: %+v %v", recs, err)
	}
	var healthy time.Time
	err = s.Safety(ctx, "breaker", "target/x", func(_ *Breaker, ts *TargetState) error {
		healthy = ts.HealthySince
		return nil
	})
	if err != nil || !healthy.Equal(t0) {
		t.Fatalf("healthy mark: %v %v", healthy, err)
	}
	if n := backlog(t, s); n != 0 {
		t.Fatalf("backlog after finish %d", n)
	}
	// A finish without a record (a resolved job without on_resolved)
	// leaves the audit trail alone.
	enqueue(t, s, job(1))
	finish(t, s, claim(t, s, "a", 1)[0], "", false, nil)
	if recs, _ := s.Audit(ctx, AuditQuery{Limit: 10}); len(recs) != 1 {
		t.Fatalf("audit after a finish without record: %d records", len(recs))
	}
}

func testRetryableOutcomeReopens(t *testing.T, b backend) {
	s := b.open(t)
	enqueue(t, s, job(0), job(1))
	got := claim(t, s, "a", 2)
	finish(t, s, got[0], "suppressed_cooldown", true, nil)
	finish(t, s, got[1], "success", false, nil)
	// The next delivery of both episodes: only the one that did
	// nothing for a reason that may pass is queued again.
	if n := enqueue(t, s, job(0), job(1)); n != 1 {
		t.Fatalf("queued %d, want 1", n)
	}
	again := claim(t, s, "b", 10)
	if len(again) != 1 || again[0].Key != job(0).Key || again[0].Outcome != "" {
		t.Fatalf("reopened: %+v", again)
	}
}

func testAuditFilters(t *testing.T, b backend) {
	s := b.open(t)
	ctx := context.Background()
	for i := 0; i < 6; i++ {
		enqueue(t, s, job(i))
		rule := "even"
		if i%2 == 1 {
			rule = "odd"
		}
		finish(t, s, claim(t, s, "a", 1)[0], "success", false,
			&Record{Rule: rule, Detail: fmt.Sprint(i), FinishedAt: t0.Add(time.Duration(i) * time.Minute)})
	}
	recs, err := s.Audit(ctx, AuditQuery{Limit: 2})
	if err != nil || len(recs) != 2 || recs[0].Detail != "5" || recs[1].Detail != "4" {
		t.Fatalf("newest first, limited: %+v %v", recs, err)
	}
	recs, _ = s.Audit(ctx, AuditQuery{Limit: 10, Rule: "odd"})
	if len(recs) != 3 || recs[0].Detail != "5" {
		t.Fatalf("by rule: %+v", recs)
	}
	recs, _ = s.Audit(ctx, AuditQuery{Limit: 10, Since: t0.Add(4 * time.Minute)})
	if len(recs) != 2 {
		t.Fatalf("since: %+v", recs)
	}
}

// Connector and cluster match the alert's label or the action's
// argument; each filter takes a list, and filters combine.
func testAuditFiltersByTarget(t *testing.T, b backend) {
	s := b.open(t)
	ctx := context.Background()
	recs := []*Record{
		{Detail: "0", Outcome: "success", Alert: AlertRef{Labels: map[string]string{"connector": "orders-sink", "connect_cluster": "east"}}},
		{Detail: "1", Outcome: "failure", Alert: AlertRef{Labels: map[string]string{"connector": "orders-sink", "connect_cluster": "west"}}},
		{Detail: "2", Outcome: "success", Arguments: map[string]string{"connector": "customers-sink", "connect_cluster": "east"}},
		{Detail: "3", Outcome: "suppressed_cooldown", Alert: AlertRef{Labels: map[string]string{"table": "orders"}}},
		{Detail: "4", Outcome: "success", Arguments: map[string]string{"table": "customers"}},
	}
	for i, r := range recs {
		enqueue(t, s, job(i))
		r.Rule, r.FinishedAt = "r", t0.Add(time.Duration(i)*time.Minute)
		finish(t, s, claim(t, s, "a", 1)[0], r.Outcome, false, r)
	}
	for _, tc := range []struct {
		q    AuditQuery
		want string
	}{
		{AuditQuery{Connectors: []string{"orders-sink"}}, "1 0"},
		{AuditQuery{Connectors: []string{"customers-sink"}}, "2"},
		{AuditQuery{Connectors: []string{"orders-sink", "customers-sink"}}, "2 1 0"},
		{AuditQuery{Connectors: []string{"nope"}}, ""},
		{AuditQuery{ConnectClusters: []string{"east"}}, "2 0"},
		{AuditQuery{Connectors: []string{"orders-sink"}, ConnectClusters: []string{"west"}}, "1"},
		{AuditQuery{Outcomes: []string{"success"}}, "4 2 0"},
		{AuditQuery{Outcomes: []string{"suppressed_cooldown", "failure"}}, "3 1"},
		{AuditQuery{Connectors: []string{"orders-sink"}, Outcomes: []string{"success"}, Rule: "r"}, "0"},
		{AuditQuery{Connectors: []string{"orders-sink"}, Limit: 1}, "1"},
		// The table: the alert's label or the action's argument.
		{AuditQuery{Tables: []string{"orders"}}, "3"},
		{AuditQuery{Tables: []string{"customers", "orders"}}, "4 3"},
		{AuditQuery{Tables: []string{"orders"}, Outcomes: []string{"success"}}, ""},
	} {
		if tc.q.Limit == 0 {
			tc.q.Limit = 10
		}
		got, err := s.Audit(ctx, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		var details []string
		for _, r := range got {
			details = append(details, r.Detail)
		}
		if strings.Join(details, " ") != tc.want {
			t.Errorf("%+v: records %q, want %q", tc.q, strings.Join(details, " "), tc.want)
		}
	}
}

func testPrune(t *testing.T, b backend) {
	s := b.open(t)
	ctx := context.Background()
	old, recent := job(0), job(1)
	old.ReceivedAt, recent.ReceivedAt = t0.Add(-48*time.Hour), t0
	enqueue(t, s, old, recent)
	for _, j := range claim(t, s, "a", 2) {
		when := t0
		if j.Key == old.Key {
			when = t0.Add(-47 * time.Hour)
		}
		j.Outcome, j.FinishedAt = "success", when
		if err := s.Finish(ctx, j, &Record{Rule: "rule", Detail: j.Key, FinishedAt: when}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.Prune(ctx, t0.Add(-time.Hour))
	if err != nil || n == 0 {
		t.Fatalf("pruned %d, %v", n, err)
	}
	if j, _ := s.Job(ctx, old.Key); j != nil {
		t.Fatalf("old job kept: %+v", j)
	}
	if j, _ := s.Job(ctx, recent.Key); j == nil || j.State != StateDone {
		t.Fatalf("recent job lost: %+v", j)
	}
	recs, _ := s.Audit(ctx, AuditQuery{Limit: 10})
	if len(recs) != 1 || recs[0].Detail != recent.Key {
		t.Fatalf("audit after prune: %+v", recs)
	}
}

func testSafetyIsSerialised(t *testing.T, b backend) {
	s := b.open(t)
	ctx := context.Background()
	const n = 20
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			err := s.Safety(ctx, "breaker", "target/x", func(br *Breaker, ts *TargetState) error {
				ts.Attempts++
				br.Add(t0.Add(time.Duration(i) * time.Second))
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	// What fn refuses is not saved.
	refused := errors.New("no")
	if err := s.Safety(ctx, "breaker", "target/x", func(_ *Breaker, ts *TargetState) error {
		ts.Attempts = 1000
		return refused
	}); !errors.Is(err, refused) {
		t.Fatalf("fn's error: %v", err)
	}
	var attempts int
	if err := s.Safety(ctx, "breaker", "target/x", func(_ *Breaker, ts *TargetState) error {
		attempts = ts.Attempts
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if attempts != n {
		t.Fatalf("attempts %d, want %d: concurrent decisions lost each other's updates", attempts, n)
	}
	br, err := s.Breaker(ctx, "breaker")
	if err != nil || br.Count(t0.Add(time.Minute)) != n {
		t.Fatalf("breaker: %+v %v", br, err)
	}
	if br, err := s.Breaker(ctx, "missing"); err != nil || br.Count(t0) != 0 {
		t.Fatalf("unknown breaker: %+v %v", br, err)
	}
}

func testConcurrentClaims(t *testing.T, b backend) {
	s := b.open(t)
	const total = 60
	enqueue(t, s, jobs(total)...)
	stores := []Store{s, b.peer(t, s)}
	var mu sync.Mutex
	seen := map[string][]string{}
	var wg sync.WaitGroup
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			st, owner := stores[w%len(stores)], fmt.Sprintf("w%d", w)
			for {
				got, err := st.Claim(context.Background(), owner, 4, time.Now(), time.Hour)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, j := range got {
					seen[j.Key] = append(seen[j.Key], owner)
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	if len(seen) != total {
		t.Fatalf("%d jobs claimed, want %d", len(seen), total)
	}
	var twice []string
	for k, owners := range seen {
		if len(owners) != 1 {
			twice = append(twice, fmt.Sprintf("%s by %v", k, owners))
		}
	}
	sort.Strings(twice)
	if len(twice) > 0 {
		t.Fatalf("claimed more than once: %v", twice)
	}
}

func testCrashBetweenClaimAndFinish(t *testing.T, b backend) {
	s := b.open(t)
	ctx := context.Background()
	enqueue(t, s, job(0), job(1))
	claimed := claim(t, s, "dead", 1)
	if len(claimed) != 1 {
		t.Fatalf("claim: %v", keys(claimed))
	}
	// The owner dies before finishing.
	next := b.crash(t, s)
	got := claim(t, next, "heir", 10)
	if len(got) != 2 {
		t.Fatalf("after the crash, claimed %v; want the abandoned job and the queued one", keys(got))
	}
	if more := claim(t, next, "other", 10); len(more) != 0 {
		t.Fatalf("the abandoned job was handed out twice: %v", keys(more))
	}
	for _, j := range got {
		if j.Owner != "heir" {
			t.Fatalf("owner %q", j.Owner)
		}
		finish(t, next, j, "success", false, &Record{Rule: "rule", FinishedAt: time.Now()})
	}
	j, err := next.Job(ctx, claimed[0].Key)
	if err != nil || j.State != StateDone {
		t.Fatalf("the abandoned job after the heir finished it: %+v %v", j, err)
	}
	if n := backlog(t, next); n != 0 {
		t.Fatalf("backlog %d", n)
	}
}

// admitAll admits every action, counting it as the engine's policy does.
func admitAll(br *Breaker, ts *TargetState) bool {
	ts.Attempts++
	br.Add(time.Now())
	return true
}

func testCrashAfterAdmit(t *testing.T, b backend) {
	s := b.open(t)
	ctx := context.Background()
	enqueue(t, s, job(0))
	j := claim(t, s, "dead", 1)[0]
	rec := &Record{Rule: "rule", Action: "restart_task", Target: "connect/main/sink/task/0", Decision: "act", Replica: "dead", StartedAt: t0}
	if ok, err := s.Admit(ctx, j, rec, "breaker", "target/x", admitAll); err != nil || !ok {
		t.Fatalf("admit: %t %v", ok, err)
	}
	// The owner dies after sending, before recording the outcome.
	next := b.crash(t, s)
	got := claim(t, next, "heir", 10)
	if len(got) != 1 || got[0].Started == nil {
		t.Fatalf("the heir's claim lost the write-ahead record: %+v", got)
	}
	if w := got[0].Started; w.Action != "restart_task" || w.Target != rec.Target || w.Replica != "dead" || !w.StartedAt.Equal(t0) {
		t.Fatalf("write-ahead record: %+v", w)
	}
	finish(t, next, got[0], "interrupted", false, &Record{Rule: "rule", Outcome: "interrupted", FinishedAt: time.Now()})
	done, err := next.Job(ctx, j.Key)
	if err != nil || done.State != StateDone || done.Started != nil {
		t.Fatalf("finished job: %+v %v", done, err)
	}
	// Finished for good: a repeat of the episode is not queued again.
	if n := enqueue(t, next, job(0)); n != 0 {
		t.Fatalf("queued again: %d", n)
	}
}

func testAdmitNeedsTheClaim(t *testing.T, b backend) {
	s := b.open(t)
	ctx := context.Background()
	enqueue(t, s, job(0))
	j := claim(t, s, "a", 1)[0]
	finish(t, s, j, "success", false, nil)
	again := *j
	ok, err := s.Admit(ctx, &again, &Record{Rule: "rule"}, "breaker", "target/x", admitAll)
	if !errors.Is(err, ErrClaimLost) || ok {
		t.Fatalf("admit on a finished job: %t %v, want ErrClaimLost", ok, err)
	}
	if again.Started != nil {
		t.Fatalf("a lost claim carries a write-ahead record: %+v", again.Started)
	}
	// Nothing was counted: the attempt never happened.
	if err := s.Safety(ctx, "breaker", "target/x", func(br *Breaker, ts *TargetState) error {
		if ts.Attempts != 0 || br.Count(time.Now()) != 0 {
			t.Errorf("a lost claim was counted: attempts %d, breaker %d", ts.Attempts, br.Count(time.Now()))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// An admitted action is counted and recorded in one step; a refused one
// leaves its counts as the policy left them and no write-ahead record; a
// dry run (no record) is counted only.
func testAdmitCountsAndRecordsTogether(t *testing.T, b backend) {
	s := b.open(t)
	ctx := context.Background()
	enqueue(t, s, job(0), job(1), job(2))
	js := claim(t, s, "a", 3)
	refuse := func(br *Breaker, ts *TargetState) bool {
		ts.Attempts = 7 // the policy may reset a count while refusing
		return false
	}
	if ok, err := s.Admit(ctx, js[0], &Record{Rule: "rule"}, "breaker", "target/x", refuse); err != nil || ok {
		t.Fatalf("refused admit: %t %v", ok, err)
	}
	if ok, err := s.Admit(ctx, js[1], nil, "breaker", "target/x", admitAll); err != nil || !ok {
		t.Fatalf("dry-run admit: %t %v", ok, err)
	}
	if ok, err := s.Admit(ctx, js[2], &Record{Rule: "rule", Action: "pause"}, "breaker", "target/x", admitAll); err != nil || !ok {
		t.Fatalf("admit: %t %v", ok, err)
	}
	for i, want := range []bool{false, false, true} {
		if got := js[i].Started != nil; got != want {
			t.Errorf("job %d carries a write-ahead record: %t, want %t", i, got, want)
		}
	}
	if err := s.Safety(ctx, "breaker", "target/x", func(br *Breaker, ts *TargetState) error {
		if ts.Attempts != 9 || br.Count(time.Now()) != 2 {
			t.Errorf("counts: attempts %d (want 9), breaker %d (want 2)", ts.Attempts, br.Count(time.Now()))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The heir of a crash finds the admitted job's record, and only it.
	next := b.crash(t, s)
	for _, j := range claim(t, next, "heir", 10) {
		if (j.Started != nil) != (j.Key == js[2].Key) {
			t.Errorf("after a crash, job %s carries %+v", j.Key, j.Started)
		}
	}
}
