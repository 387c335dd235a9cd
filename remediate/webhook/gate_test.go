package webhook

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

// hungStore never answers until released and ignores its context, as a
// bbolt file whose lock is held does; it counts the calls waiting in it.
type hungStore struct {
	release chan struct{}
	waiting atomic.Int64
	most    atomic.Int64
}

func newHungStore(t *testing.T) *hungStore {
	s := &hungStore{release: make(chan struct{})}
	t.Cleanup(s.unblock)
	return s
}

func (s *hungStore) unblock() {
	select {
	case <-s.release:
	default:
		close(s.release)
	}
}

func (s *hungStore) wait() {
	n := s.waiting.Add(1)
	for {
		m := s.most.Load()
		if n <= m || s.most.CompareAndSwap(m, n) {
			break
		}
	}
	<-s.release
	s.waiting.Add(-1)
}

func (s *hungStore) Receive(_ context.Context, alerts template.Alerts) (int, error) {
	s.wait()
	return len(alerts), nil
}

func (s *hungStore) Audit(context.Context, store.AuditQuery) ([]store.Record, error) {
	s.wait()
	return []store.Record{}, nil
}

func serve(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

const oneAlert = `{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A"},"startsAt":"2025-01-01T00:00:00Z","fingerprint":"f"}]}`

// request sends one request with a generous client deadline: the gate's
// own bound is what must answer first.
func request(t *testing.T, method, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var body *strings.Reader
	if method == http.MethodPost {
		body = strings.NewReader(oneAlert)
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("%s %s: no answer: %v", method, url, err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
		t.Errorf("%s %s: 503 without Retry-After", method, url)
	}
	return resp.StatusCode, string(b)
}

// A store that hangs gets the webhook and the audit API a 503 (which
// Alertmanager retries) instead of no answer at all.
func TestAHungStoreAnswers503(t *testing.T) {
	s := newHungStore(t)
	srv := serve(t, Handler(s, s, Options{Gate: store.NewGate(50*time.Millisecond, 4)}))
	for _, c := range []struct{ method, path string }{{http.MethodPost, AlertsPath}, {http.MethodGet, AuditPath}} {
		code, body := request(t, c.method, srv.URL+c.path)
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "not answering") {
			t.Errorf("%s %s with the store hung: %d %q, want 503 saying the store is not answering", c.method, c.path, code, body)
		}
	}
}

// Thirty clients against a hung store: every one gets its 503, and no
// more than the gate's slots ever wait in the store, however many ask.
// Once the store answers again, so do the endpoints.
func TestAHungStoreIsWaitedOnByAtMostTheGatesSlots(t *testing.T) {
	s := newHungStore(t)
	const slots, clients = 4, 30
	srv := serve(t, Handler(s, s, Options{Gate: store.NewGate(50*time.Millisecond, slots)}))
	var wg sync.WaitGroup
	codes := make(chan int, 2*clients)
	for range clients {
		wg.Go(func() {
			for _, m := range []string{http.MethodPost, http.MethodGet} {
				path := AlertsPath
				if m == http.MethodGet {
					path = AuditPath
				}
				code, _ := request(t, m, srv.URL+path)
				codes <- code
			}
		})
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusServiceUnavailable {
			t.Errorf("a client got %d, want 503", c)
		}
	}
	if most := s.most.Load(); most > slots {
		t.Errorf("%d calls waited in the hung store at once, more than the gate's %d slots", most, slots)
	}

	s.unblock()
	testenv.Eventually(t, time.Minute, func() bool { return s.waiting.Load() == 0 }, func() string { return "the store's callers did not return" })
	if code, body := request(t, http.MethodPost, srv.URL+AlertsPath); code != http.StatusOK {
		t.Errorf("POST %s once the store answers: %d %q", AlertsPath, code, body)
	}
}

// An answer the store gives in time is the answer, error included: a
// failing store is a 500, retried by Alertmanager too.
func TestGateReturnsTheStoresOwnAnswer(t *testing.T) {
	g := store.NewGate(time.Minute, 1)
	if err := g.Do(context.Background(), func(context.Context) error { return nil }); err != nil {
		t.Fatalf("a store answering at once: %v", err)
	}
	if err := g.Do(context.Background(), func(ctx context.Context) error {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("the store call has no deadline")
		}
		return context.Canceled
	}); err != context.Canceled {
		t.Fatalf("the store's error: %v", err)
	}
	if g.Timeout() != time.Minute || g.MaxWaiting() != 1 {
		t.Fatalf("gate bounds %s %d", g.Timeout(), g.MaxWaiting())
	}
	if d := store.NewGate(0, 0); d.Timeout() != store.DefaultTimeout || d.MaxWaiting() != store.DefaultMaxWaiting {
		t.Fatalf("default gate bounds %s %d", d.Timeout(), d.MaxWaiting())
	}
}
