package remediate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// tempPostgres creates a database of its own on the local pipeline's
// PostgreSQL and returns its DSN; it is dropped after the test.
func tempPostgres(t *testing.T, prefix string) string {
	t.Helper()
	p := testenv.Need(t)
	admin, err := sql.Open("pgx", p.TargetDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	db := fmt.Sprintf("%s_%06d", prefix, rand.IntN(1_000_000))
	if _, err := admin.ExecContext(context.Background(), "CREATE DATABASE "+db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)") })
	u, _ := url.Parse(p.TargetDSN)
	u.Path = "/" + db
	return u.String()
}

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
	s, err := OpenPostgres(ctx, tempPostgres(t, "rem_lease"))
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
	late.Outcome, late.FinishedAt = OutcomeSuccess, time.Now()
	rec := &Record{Rule: "rule", Phase: PhaseFiring, Outcome: OutcomeSuccess, FinishedAt: time.Now(), Replica: "replica-a"}
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
	b[0].Outcome, b[0].FinishedAt = OutcomeNotNeeded, time.Now()
	if err := s.Finish(ctx, b[0], nil); err != nil {
		t.Fatalf("finishing by the owner: %v", err)
	}
}

// slowSafety holds every safety decision until the job's deadline, as a
// PostgreSQL advisory lock held by a stuck replica would.
type slowSafety struct{ Store }

func (s slowSafety) Safety(ctx context.Context, bk, tk string, fn func(*Breaker, *TargetState) error) error {
	if err := s.Store.Safety(ctx, bk, tk, fn); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

func TestNoActionStartsAfterTheLeaseDeadline(t *testing.T) {
	fc := newFakeConnect()
	fc.set("sink", connect.StateRunning, failedTask("boom"))
	h := newHarness(t, restartTaskRule, fc)
	h.stop()
	s, err := OpenBolt(h.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	h.store, h.lease = slowSafety{s}, leaseMargin+100*time.Millisecond
	h.start()
	start := h.clock.Now().Add(-time.Minute)
	h.notify(firing(start, taskAlert(start)...))
	recs := h.waitAudit(1)
	if recs[0].Outcome != OutcomeFailure || recs[0].Decision != DecisionSkip {
		t.Fatalf("record: %+v", recs[0])
	}
	if calls := fc.Calls(); len(calls) != 0 {
		t.Fatalf("acted after the lease deadline: %v", calls)
	}
}

// A PostgreSQL store that never answers does not hold up other engines'
// stores while it is being opened, and its load fails when it ends.
func TestUnreachablePostgresStoreFailsTheLoadInsteadOfHangingIt(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{})
	go holdConnections(ln, accepted)
	host, err := NewHost(prometheus.NewRegistry(), nil, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// An open timeout no test run reaches: the PostgreSQL open is ended
	// by cancelling its context once the bbolt store has opened.
	host.openTimeout = time.Hour
	pgCfg := parseConfig(t, fmt.Sprintf("\n  store: {type: postgres, dsn: 'postgres://u:p@%s/db?connect_timeout=0'}%s", ln.Addr(), restartTaskRule))
	failed := make(chan error, 1)
	pgCtx, cancelPG := context.WithCancel(context.Background())
	defer cancelPG()
	go func() {
		_, err := host.Engine(pgCtx, pgCfg.Remediation, Dependencies{})
		failed <- err
	}()
	<-accepted // the PostgreSQL open is under way, and hangs
	boltEng, err := host.Engine(context.Background(), parseConfig(t, restartTaskRule).Remediation, Dependencies{})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-failed:
		t.Fatalf("the PostgreSQL open ended before the bbolt one could finish: %v", err)
	default:
	}
	boltEng.Close()
	cancelPG()
	select {
	case err := <-failed:
		if err == nil || !strings.Contains(err.Error(), "remediation store") {
			t.Fatalf("unreachable PostgreSQL store: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("opening an unreachable PostgreSQL store hangs the load")
	}
}

// The open timeout alone fails a load whose database never answers.
func TestPostgresStoreOpenTimeoutFailsTheLoad(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go holdConnections(ln, nil)
	host, err := NewHost(prometheus.NewRegistry(), nil, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	host.openTimeout = 100 * time.Millisecond
	pgCfg := parseConfig(t, fmt.Sprintf("\n  store: {type: postgres, dsn: 'postgres://u:p@%s/db?connect_timeout=0'}%s", ln.Addr(), restartTaskRule))
	failed := make(chan error, 1)
	go func() {
		_, err := host.Engine(context.Background(), pgCfg.Remediation, Dependencies{})
		failed <- err
	}()
	select {
	case err := <-failed:
		if err == nil || !strings.Contains(err.Error(), "remediation store") {
			t.Fatalf("unreachable PostgreSQL store: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the open timeout did not end the load")
	}
}

// holdConnections accepts and never answers, like a database behind a
// dead link; it tells accepted about the first connection.
func holdConnections(ln net.Listener, accepted chan<- struct{}) {
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		if len(held) == 0 && accepted != nil {
			close(accepted)
		}
		held = append(held, c)
	}
}

// The open timeout bounds only the connection: the store stays usable.
func TestPostgresStoreOpenedByTheHostOutlivesItsOpenTimeout(t *testing.T) {
	dsn := tempPostgres(t, "rem_host")
	host, err := NewHost(prometheus.NewRegistry(), nil, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := parseConfig(t, fmt.Sprintf("\n  store: {type: postgres, dsn: '%s'}%s", dsn, restartTaskRule))
	e, err := host.Engine(context.Background(), cfg.Remediation, Dependencies{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.store.Audit(context.Background(), AuditQuery{Limit: 1}); err != nil {
		t.Fatalf("store unusable after open: %v", err)
	}
}

// Claimed jobs are handed out even when the inbox cannot be cleared: the
// claim is committed, and a job nobody works on would stay running.
func TestBoltClaimHandsOutJobsWhenTheInboxCannotBeCleared(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), BoltFile)
	s, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	job := &Job{Key: "fp|t|rule|firing", Rule: "rule", Phase: PhaseFiring, ReceivedAt: time.Now()}
	if _, err := s.Enqueue(ctx, []*Job{job}); err != nil {
		t.Fatal(err)
	}
	// A read-only inbox makes the removal fail after the claim commits.
	if err := s.inbox.Close(); err != nil {
		t.Fatal(err)
	}
	if s.inbox, err = bolt.Open(InboxPath(path), 0o600, &bolt.Options{ReadOnly: true}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Claim(ctx, "me", 10, time.Now(), time.Hour)
	if err == nil || !strings.Contains(err.Error(), "removing claimed remediation jobs from the inbox") {
		t.Fatalf("claim error: %v", err)
	}
	if len(got) != 1 || got[0].Key != job.Key {
		t.Fatalf("claimed jobs dropped on an inbox error: %v", got)
	}
	s.Close()
	// Reopened writable, the stale inbox entry is not claimed twice
	// (the restart made the job claimable again, once).
	s, err = OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	again, err := s.Claim(ctx, "me", 10, time.Now(), time.Hour)
	if err != nil || len(again) != 1 {
		t.Fatalf("after a restart: %v %v", again, err)
	}
	if more, err := s.Claim(ctx, "me", 10, time.Now(), time.Hour); err != nil || len(more) != 0 {
		t.Fatalf("the stale inbox entry was claimed again: %v %v", more, err)
	}
}
