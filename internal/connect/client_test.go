package connect

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
)

// withRetry replaces DefaultRetry, so tests of 409s need not wait for
// Connect's real backoff.
func withRetry(r Retry) Option { return func(c *Client) { c.retry = r } }

// withHTTPClient replaces the HTTP client built from the config, so a
// test can answer from a RoundTripper without a socket.
func withHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

func newTestClient(t *testing.T, h http.HandlerFunc, mod ...func(*config.ConnectCluster)) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cc := config.ConnectCluster{Name: "test", URL: srv.URL, Timeout: 5 * time.Second}
	for _, m := range mod {
		m(&cc)
	}
	c, err := New(cc, withRetry(Retry{Initial: time.Millisecond, Max: 5 * time.Millisecond, Attempts: 4}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const listing = `{
 "src": {"status": {"name": "src", "connector": {"state": "RUNNING", "worker_id": "w1:8083"},
          "tasks": [{"id": 0, "state": "RUNNING", "worker_id": "w1:8083"}], "type": "source"},
         "info": {"name": "src", "config": {"connector.class": "io.debezium.connector.postgresql.PostgresConnector"},
          "tasks": [{"connector": "src", "task": 0}], "type": "source"}},
 "sink": {"status": {"name": "sink", "connector": {"state": "RUNNING", "worker_id": "w1:8083"},
          "tasks": [{"id": 0, "state": "FAILED", "worker_id": "w2:8083", "trace": "boom"}], "type": "sink"},
         "info": {"name": "sink", "config": {"connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector"},
          "tasks": [{"connector": "sink", "task": 0}], "type": "sink"}}
}`

func TestConnectorsIsOneExpandedListing(t *testing.T) {
	var calls atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path != "/connectors" || r.URL.RawQuery != "expand=status&expand=info" {
			t.Errorf("unexpected request %s", r.URL)
		}
		w.Write([]byte(listing))
	})
	conns, err := c.Connectors(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 {
		t.Errorf("%d requests, want 1", calls.Load())
	}
	if len(conns) != 2 || conns[0].Name() != "sink" || conns[1].Name() != "src" {
		t.Fatalf("connectors not sorted by name: %+v", conns)
	}
	if got := conns[0].Status.Tasks[0]; got.State != StateFailed || got.Trace != "boom" {
		t.Errorf("sink task = %+v", got)
	}
	if conns[1].Class() != "io.debezium.connector.postgresql.PostgresConnector" || conns[1].Type() != "source" {
		t.Errorf("src = %s %s", conns[1].Type(), conns[1].Class())
	}
}

func TestConflictIsRetriedUntilItPasses(t *testing.T) {
	var calls atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusConflict)
			w.Write([]byte(`{"error_code":409,"message":"Cannot complete request momentarily due to stale configuration (typically caused by a concurrent config change)"}`))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	if err := c.RestartTask(context.Background(), "sink", 0); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 {
		t.Errorf("%d calls, want 3", calls.Load())
	}
}

func TestConflictGivesUpAfterTheBound(t *testing.T) {
	var calls atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusConflict)
		w.Write([]byte(`{"error_code":409,"message":"rebalance in progress"}`))
	})
	err := c.Pause(context.Background(), "sink")
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	if !strings.Contains(err.Error(), "rebalance in progress") {
		t.Errorf("error does not carry Connect's message: %v", err)
	}
	if calls.Load() != 4 {
		t.Errorf("%d calls, want 4", calls.Load())
	}
}

func TestUnknownConnectorIsNotFound(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error_code":404,"message":"Connector nope not found"}`))
	})
	_, err := c.Status(context.Background(), "nope")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	var api *APIError
	if !errors.As(err, &api) || api.Status != 404 || api.Message != "Connector nope not found" {
		t.Errorf("APIError = %+v", api)
	}
}

func TestRestartConnectorAcceptsBoth202And204(t *testing.T) {
	for _, code := range []int{http.StatusAccepted, http.StatusNoContent} {
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || r.URL.Path != "/connectors/sink/restart" ||
				r.URL.Query().Get("includeTasks") != "true" || r.URL.Query().Get("onlyFailed") != "true" {
				t.Errorf("unexpected request %s %s", r.Method, r.URL)
			}
			w.WriteHeader(code)
			if code == http.StatusAccepted {
				w.Write([]byte(`{"name":"sink","connector":{"state":"RUNNING","worker_id":"w"},"tasks":[{"id":0,"state":"RESTARTING","worker_id":"w"}],"type":"sink"}`))
			}
		})
		st, err := c.RestartConnector(context.Background(), "sink", RestartOptions{IncludeTasks: true, OnlyFailed: true})
		if err != nil {
			t.Fatalf("%d: %v", code, err)
		}
		if code == http.StatusAccepted && (st == nil || st.Task(0).State != StateRestarting) {
			t.Errorf("202 status = %+v", st)
		}
	}
}

func TestConnectorNamesAreEscaped(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawPath != "/connectors/a%2Fb%20c/status" && r.URL.EscapedPath() != "/connectors/a%2Fb%20c/status" {
			t.Errorf("path = %q", r.URL.EscapedPath())
		}
		w.Write([]byte(`{"name":"a/b c","connector":{"state":"RUNNING"},"tasks":[]}`))
	})
	if _, err := c.Status(context.Background(), "a/b c"); err != nil {
		t.Fatal(err)
	}
}

func TestBasicAuthFromPasswordFile(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("s3cret\n"), 0o600)
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != "monitor" || p != "s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{}`))
	}, func(cc *config.ConnectCluster) {
		cc.BasicAuth = &config.BasicAuth{Username: "monitor", PasswordFile: pw}
	})
	if _, err := c.Connectors(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestBearerTokenFromFile(t *testing.T) {
	tok := filepath.Join(t.TempDir(), "tok")
	os.WriteFile(tok, []byte("abc"), 0o600)
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer abc" {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error_code":401,"message":"Unauthorized"}`))
			return
		}
		w.Write([]byte(`{}`))
	}, func(cc *config.ConnectCluster) { cc.BearerTokenFile = tok })
	if _, err := c.Connectors(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestTLSWithTheClustersCA(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{}`)) }))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writeCert(t, ca, srv)
	ok, err := New(config.ConnectCluster{Name: "tls", URL: srv.URL, Timeout: time.Second, TLSConfig: &config.TLSConfig{CAFile: ca}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ok.Connectors(context.Background()); err != nil {
		t.Fatalf("with CA: %v", err)
	}
	untrusted, _ := New(config.ConnectCluster{Name: "tls", URL: srv.URL, Timeout: time.Second})
	if _, err := untrusted.Connectors(context.Background()); err == nil {
		t.Fatal("without the CA the server must not be trusted")
	}
}

func TestCallsEndWithTheCallersContext(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Connectors(ctx)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("call outlived its context")
	}
}

func TestUnreachableClusterNamesItself(t *testing.T) {
	c, _ := New(config.ConnectCluster{Name: "gone", URL: "http://127.0.0.1:1", Timeout: time.Second})
	_, err := c.Connectors(context.Background())
	if err == nil || !strings.Contains(err.Error(), "connect cluster gone") {
		t.Fatalf("err = %v", err)
	}
}

func TestOffsetsAndConfigRoundTrip(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/connectors/src/offsets":
			w.Write([]byte(`{"offsets":[{"partition":{"server":"demo"},"offset":{"lsn":123,"ts_usec":1700000000000000}}]}`))
		case "/connectors/src/config":
			if r.Method == http.MethodPut {
				w.Write([]byte(`{"name":"src","config":{"tasks.max":"2"},"tasks":[],"type":"source"}`))
				return
			}
			w.Write([]byte(`{"tasks.max":"1"}`))
		}
	})
	offs, err := c.Offsets(context.Background(), "src")
	if err != nil || len(offs) != 1 || offs[0].Partition["server"] != "demo" {
		t.Fatalf("offsets = %+v, %v", offs, err)
	}
	cfg, err := c.Config(context.Background(), "src")
	if err != nil || cfg["tasks.max"] != "1" {
		t.Fatalf("config = %v, %v", cfg, err)
	}
	info, err := c.PutConfig(context.Background(), "src", map[string]string{"tasks.max": "2"})
	if err != nil || info.Config["tasks.max"] != "2" {
		t.Fatalf("put = %+v, %v", info, err)
	}
}

func TestRebalanceExpected500IsRetried(t *testing.T) {
	var calls atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`{"error_code":500,"message":"Request cannot be completed because a rebalance is expected"}`))
			return
		}
		w.Write([]byte(`{"name":"sink","connector":{"state":"RUNNING"},"tasks":[]}`))
	})
	if _, err := c.Status(context.Background(), "sink"); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 {
		t.Errorf("%d calls, want 2", calls.Load())
	}
}

func TestOther500IsNotRetried(t *testing.T) {
	var calls atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(`{"error_code":500,"message":"Failed to find any class that implements Connector"}`))
	})
	if _, err := c.Status(context.Background(), "sink"); err == nil {
		t.Fatal("want error")
	}
	if calls.Load() != 1 {
		t.Errorf("%d calls, want 1", calls.Load())
	}
}

func TestRetryNotifyHearsEachRetry(t *testing.T) {
	var calls atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusConflict)
			w.Write([]byte(`{"error_code":409,"message":"rebalance in progress"}`))
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	var heard []string
	WithRetryNotify(func(method, path string, err error, wait time.Duration) {
		heard = append(heard, method+" "+path+": "+err.Error())
	})(c)
	if err := c.Pause(context.Background(), "sink"); err != nil {
		t.Fatal(err)
	}
	if len(heard) != 2 || !strings.Contains(heard[0], "PUT /connectors/sink/pause") || !strings.Contains(heard[0], "rebalance in progress") {
		t.Errorf("heard %q, want two 409 retries of PUT /connectors/sink/pause", heard)
	}
}
