package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// expirePostgresLeases makes every lease run out now, on the database's
// clock, as waiting out the lease would, without racing the wall clock.
func expirePostgresLeases(t testing.TB, s *PostgresStore) {
	t.Helper()
	if _, err := s.pool.Exec(context.Background(), `UPDATE cdc_sentinel_remediation_jobs
		SET lease_until = now() - interval '1 second' WHERE state = 'running'`); err != nil {
		t.Fatal(err)
	}
}

func TestPostgresFinishAfterALostClaimLeavesTheJobToItsNewOwner(t *testing.T) {
	ctx := context.Background()
	s, err := OpenPostgres(ctx, testenv.TempDatabase(t, "rem_lease"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	job := &Job{Key: "fp|t|rule|firing", Rule: "rule", Phase: PhaseFiring, ReceivedAt: time.Now()}
	if _, err := s.Enqueue(ctx, []*Job{job}); err != nil {
		t.Fatal(err)
	}
	// A replica's clock far ahead must not matter: leases run on the
	// database's clock.
	a, err := s.Claim(ctx, "replica-a", 1, time.Now().Add(24*time.Hour), time.Hour)
	if err != nil || len(a) != 1 {
		t.Fatalf("claim by a: %v %v", a, err)
	}
	if b, err := s.Claim(ctx, "replica-b", 1, time.Now().Add(48*time.Hour), time.Hour); err != nil || len(b) != 0 {
		t.Fatalf("b took a job whose lease has not run out: %v %v", b, err)
	}
	expirePostgresLeases(t, s)
	b, err := s.Claim(ctx, "replica-b", 1, time.Now().Add(-24*time.Hour), time.Hour)
	if err != nil || len(b) != 1 {
		t.Fatalf("claim by b after a's lease ran out: %v %v", b, err)
	}
	late := a[0]
	late.Outcome, late.FinishedAt = "success", time.Now()
	rec := &Record{Rule: "rule", Phase: PhaseFiring, Outcome: "success", FinishedAt: time.Now(), Replica: "replica-a"}
	if err := s.Finish(ctx, late, rec); !errors.Is(err, ErrClaimLost) {
		t.Fatalf("finishing a lost claim: %v, want ErrClaimLost", err)
	}
	var state, owner string
	if err := s.pool.QueryRow(ctx, `SELECT state, owner FROM cdc_sentinel_remediation_jobs WHERE key = $1`, job.Key).Scan(&state, &owner); err != nil {
		t.Fatal(err)
	}
	if state != StateRunning || owner != "replica-b" {
		t.Fatalf("job after a's late finish: state %s owner %s, want running by replica-b", state, owner)
	}
	if recs, _ := s.Audit(ctx, AuditQuery{Limit: 10}); len(recs) != 1 {
		t.Fatalf("what replica a did is not in the audit trail: %v", recs)
	}
	b[0].Outcome, b[0].FinishedAt = "not_needed", time.Now()
	if err := s.Finish(ctx, b[0], nil); err != nil {
		t.Fatalf("finishing by the owner: %v", err)
	}
}

// Past its lease a replica must not send: another may have taken the job.
func TestPostgresAdmitAfterTheLeaseRanOutFails(t *testing.T) {
	ctx := context.Background()
	s, err := OpenPostgres(ctx, testenv.TempDatabase(t, "rem_begin"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Enqueue(ctx, []*Job{job(0)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Claim(ctx, "a", 1, time.Now(), time.Hour)
	if err != nil || len(got) != 1 {
		t.Fatalf("claim: %v %v", got, err)
	}
	expirePostgresLeases(t, s)
	ok, err := s.Admit(ctx, got[0], &Record{Rule: "rule"}, "breaker", "target/x", admitAll)
	if !errors.Is(err, ErrClaimLost) || ok {
		t.Fatalf("admit past the lease: %t %v, want ErrClaimLost", ok, err)
	}
}

// A DSN its pool cannot parse fails the open with a fixed text: the
// driver's message quotes the DSN, redacted by a rule of its own that
// shows the tail of a password holding an "@".
func TestPostgresStoreDSNErrorsShowNoCredential(t *testing.T) {
	for _, dsn := range []string{
		"postgres://app:Q7zK@p@ss@db:notaport/app",
		"postgres://app:Q7zK%20p%40ss@db:5432/app?pool_max_conns=many",
		"host=db password='Q7zK p@ss' port=notaport",
	} {
		_, err := OpenPostgres(context.Background(), dsn)
		if err == nil || strings.Contains(err.Error(), "Q7zK") || strings.Contains(err.Error(), "p@ss") || strings.Contains(err.Error(), "p%40ss") {
			t.Errorf("opening %s: %v", dsn, err)
		}
	}
}
