package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

// failingStore answers every call with err, as the engine does when its
// store fails or does not answer within the engine's gate.
type failingStore struct{ err error }

func (s failingStore) Receive(context.Context, template.Alerts) (int, error) { return 0, s.err }

func (s failingStore) Audit(context.Context, store.AuditQuery) ([]store.Record, error) {
	return nil, s.err
}

func serve(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

const oneAlert = `{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A"},"startsAt":"2025-01-01T00:00:00Z","fingerprint":"f"}]}`

// request sends one request and returns its status, Retry-After and body.
func request(t *testing.T, method, url string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	body := ""
	if method == http.MethodPost {
		body = oneAlert
	}
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: no answer: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
}

// A store that does not answer in time is a 503 with Retry-After on both
// endpoints, which Alertmanager retries; one that fails is a 500, retried
// too. Either way the answer says what was not done.
func TestAStoreThatDoesNotAnswerIs503AndOneThatFailsIs500(t *testing.T) {
	for _, c := range []struct {
		err   error
		code  int
		retry string
	}{
		{fmt.Errorf("%w within 10s", store.ErrUnavailable), http.StatusServiceUnavailable, "10"},
		{errors.New("disk full"), http.StatusInternalServerError, ""},
	} {
		srv := serve(t, Handler(failingStore{c.err}, failingStore{c.err}, Options{}))
		for _, e := range []struct{ method, path, what string }{
			{http.MethodPost, AlertsPath, "alerts not recorded"},
			{http.MethodGet, AuditPath, "reading the audit trail"},
		} {
			code, retry, body := request(t, e.method, srv.URL+e.path)
			if code != c.code || retry != c.retry || !strings.Contains(body, e.what) || !strings.Contains(body, c.err.Error()) {
				t.Errorf("%s %s with the store answering %q: %d (Retry-After %q) %q, want %d (Retry-After %q) saying %q",
					e.method, e.path, c.err, code, retry, body, c.code, c.retry, e.what)
			}
		}
	}
}
