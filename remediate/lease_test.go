package remediate

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

// slowSafety holds every admission until the job's deadline, as a
// PostgreSQL advisory lock held by a stuck replica would.
type slowSafety struct{ store.Store }

func (s slowSafety) Admit(ctx context.Context, j *store.Job, rec *store.Record, bk, tk string, fn func(*store.Breaker, *store.TargetState) bool) (bool, error) {
	ok, err := s.Store.Admit(ctx, j, rec, bk, tk, fn)
	if err != nil {
		return ok, err
	}
	<-ctx.Done()
	return ok, nil
}

func TestNoActionStartsAfterTheLeaseDeadline(t *testing.T) {
	fc := newFakeConnect()
	fc.set("sink", connect.StateRunning, failedTask("boom"))
	h := newHarness(t, restartTaskRule, fc)
	h.stop()
	s, err := store.OpenBolt(h.dbPath)
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
	// Nothing was sent: the admission's attempt was given back.
	br, err := s.Breaker(context.Background(), breakerKey)
	if err != nil {
		t.Fatal(err)
	}
	if n := br.Count(h.clock.Now()); n != 0 {
		t.Fatalf("the breaker counts %d actions after none was sent", n)
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
	dsn := testenv.TempDatabase(t, "rem_host")
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
	if _, err := e.store.Audit(context.Background(), store.AuditQuery{Limit: 1}); err != nil {
		t.Fatalf("store unusable after open: %v", err)
	}
}
