package remediate

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

// freezingProxy forwards TCP to upstream until freeze; from then on
// nothing more is forwarded either way and new connections are accepted
// and never answered: a database host that froze.
type freezingProxy struct {
	ln       net.Listener
	upstream string
	frozen   atomic.Bool
	done     chan struct{}
	mu       sync.Mutex
	conns    []net.Conn
}

func newFreezingProxy(t *testing.T, upstream string) *freezingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezingProxy{ln: ln, upstream: upstream, done: make(chan struct{})}
	t.Cleanup(func() {
		close(p.done)
		ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.conns {
			c.Close()
		}
	})
	go p.serve()
	return p
}

func (p *freezingProxy) freeze() { p.frozen.Store(true) }

func (p *freezingProxy) hold(c net.Conn) {
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
}

func (p *freezingProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.hold(c)
		if p.frozen.Load() {
			continue // accepted, never answered
		}
		up, err := net.Dial("tcp", p.upstream)
		if err != nil {
			c.Close()
			continue
		}
		p.hold(up)
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *freezingProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if p.frozen.Load() {
			<-p.done
			return
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// postAlert POSTs one alert to the harness's webhook under a generous
// client deadline and returns the status code.
func postAlert(t *testing.T, h *harness, connector string) int {
	t.Helper()
	body := fmt.Sprintf(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"CDCConnectorTaskFailed","severity":"critical","connector":%q,"task":"0"},"startsAt":%q}]}`,
		connector, h.clock.Now().Add(-time.Minute).Format(time.RFC3339))
	return call(t, http.MethodPost, h.srv.URL+"/alerts", body)
}

func call(t *testing.T, method, url, body string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("%s %s: no answer: %v", method, url, err)
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// A PostgreSQL store whose host freezes (TCP accepted, nothing answered)
// gets thirty webhook and audit clients a 503 each, which Alertmanager
// retries, and never more than the gate's slots of them wait on it.
func TestAFrozenPostgresStoreAnswers503ToEveryClient(t *testing.T) {
	dsn := testenv.TempDatabase(t, "rem_frozen")
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newFreezingProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	s, err := store.OpenPostgres(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { go s.Close() }) // Close may wait on the frozen peer
	const slots = 4
	logs := &syncBuffer{}
	h := newHarnessWith(t, restartTaskRule, newFakeConnect(), func(h *harness) {
		h.store, h.gate = s, store.NewGate(2*time.Second, slots)
		h.logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	if code := postAlert(t, h, "sink-before"); code != http.StatusOK {
		t.Fatalf("POST /alerts before the freeze: %d (log: %s)", code, logs)
	}
	proxy.freeze()

	thirtyClientsGet503(t, h, "frozen")
}

// A store blocked behind a lock (another session holding the job table)
// is the same: 503 while it waits, 200 once the lock is let go.
func TestAPostgresStoreBlockedByALockAnswers503ThenRecovers(t *testing.T) {
	dsn := testenv.TempDatabase(t, "rem_locked")
	ctx := context.Background()
	s, err := store.OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	h := newHarnessWith(t, restartTaskRule, newFakeConnect(), func(h *harness) {
		h.store, h.gate = s, store.NewGate(2*time.Second, 4)
	})
	locker, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close(ctx)
	tx, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE cdc_sentinel_remediation_jobs, cdc_sentinel_remediation_audit IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	if code := postAlert(t, h, "sink-locked"); code != http.StatusServiceUnavailable {
		t.Errorf("POST /alerts with the job table locked: %d, want 503", code)
	}
	if code := call(t, http.MethodGet, h.srv.URL+"/api/v1/remediations", ""); code != http.StatusServiceUnavailable {
		t.Errorf("GET the audit trail with its table locked: %d, want 503", code)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Minute, func() bool { return postAlert(t, h, "sink-locked") == http.StatusOK },
		func() string { return "POST /alerts did not recover once the lock was let go" })
}

// hangingStore hangs every write of the queue and every audit read,
// ignoring its context as a bbolt file whose lock is held does, until
// released; it counts the calls waiting in it.
type hangingStore struct {
	store.Store
	release chan struct{}
	waiting atomic.Int64
	most    atomic.Int64
}

func (s *hangingStore) wait() {
	n := s.waiting.Add(1)
	for m := s.most.Load(); n > m && !s.most.CompareAndSwap(m, n); m = s.most.Load() {
	}
	<-s.release
	s.waiting.Add(-1)
}

func (s *hangingStore) Enqueue(ctx context.Context, jobs []*store.Job) (int, error) {
	s.wait()
	return s.Store.Enqueue(ctx, jobs)
}

func (s *hangingStore) Audit(ctx context.Context, q store.AuditQuery) ([]store.Record, error) {
	s.wait()
	return s.Store.Audit(ctx, q)
}

// The engine bounds its own waits on the store: with the store hung,
// thirty clients of the webhook and the audit API all get 503, no more
// than the gate's slots wait in the store at once, and once it answers
// the alerts are taken again.
func TestAHungStoreIsWaitedOnByAtMostTheEnginesGateSlots(t *testing.T) {
	const slots = 4
	var hs *hangingStore
	h := newHarnessWith(t, restartTaskRule, newFakeConnect(), func(h *harness) {
		s, err := store.OpenBolt(h.dbPath)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		hs = &hangingStore{Store: s, release: make(chan struct{})}
		h.store, h.gate = hs, store.NewGate(100*time.Millisecond, slots)
	})
	thirtyClientsGet503(t, h, "hung")
	if m := hs.most.Load(); m > slots {
		t.Errorf("%d calls waited in the hung store at once, more than the gate's %d slots", m, slots)
	}
	close(hs.release)
	testenv.Eventually(t, time.Minute, func() bool { return postAlert(t, h, "sink-after") == http.StatusOK },
		func() string { return "POST /alerts never answered 200 once the store did" })
}

// thirtyClientsGet503 has thirty clients post an alert and read the audit
// trail at once; each must be answered 503.
func thirtyClientsGet503(t *testing.T, h *harness, how string) {
	t.Helper()
	var wg sync.WaitGroup
	codes := make(chan int, 60)
	for i := range 30 {
		wg.Go(func() {
			codes <- postAlert(t, h, fmt.Sprintf("sink-%d", i))
			codes <- call(t, http.MethodGet, h.srv.URL+"/api/v1/remediations", "")
		})
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusServiceUnavailable {
			t.Errorf("a client got %d with the store %s, want 503", c, how)
		}
	}
}
