package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// A replica whose Admit waits on the safety lock (another replica's
// decision) while its lease runs out, and another replica claims the
// job, must not be admitted: the lease is to be checked when the
// decision is made, not when its transaction began.
func TestPostgresAdmitWaitingOnTheSafetyLockPastItsLeaseFails(t *testing.T) {
	ctx := context.Background()
	s, err := OpenPostgres(ctx, testenv.TempDatabase(t, "rem_admitwait"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Enqueue(ctx, []*Job{job(0)}); err != nil {
		t.Fatal(err)
	}
	a, err := s.Claim(ctx, "a", 1, time.Now(), time.Hour)
	if err != nil || len(a) != 1 {
		t.Fatalf("claim by a: %v %v", a, err)
	}
	// Another replica's decision holds the safety lock.
	holder, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback(ctx)
	if _, err := holder.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(pgLockKey)); err != nil {
		t.Fatal(err)
	}
	type result struct {
		ok  bool
		err error
	}
	done := make(chan result, 1)
	go func() {
		ok, err := s.Admit(ctx, a[0], &Record{Rule: "rule", Replica: "a"}, "breaker", "target/x", admitAll)
		done <- result{ok, err}
	}()
	// Wait (on a condition, not a sleep) until a's Admit waits on the lock.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting int
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a's Admit never waited on the safety lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	expirePostgresLeases(t, s)
	b, err := s.Claim(ctx, "b", 1, time.Now(), time.Hour)
	if err != nil || len(b) != 1 {
		t.Fatalf("claim by b after a's lease ran out: %v %v", b, err)
	}
	if err := holder.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-done
	var owner string
	var started []byte
	if err := s.pool.QueryRow(ctx, `SELECT owner, job->'started' FROM cdc_sentinel_remediation_jobs WHERE key = $1`, a[0].Key).Scan(&owner, &started); err != nil {
		t.Fatal(err)
	}
	if r.ok || !errors.Is(r.err, ErrClaimLost) {
		t.Fatalf("a admitted after its lease ran out and b took the job: admitted %t, err %v; the job, owned by %s, now carries a's write-ahead record %s", r.ok, r.err, owner, started)
	}
}
