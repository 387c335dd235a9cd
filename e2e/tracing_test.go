package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// fakeConnectWithAFailedTask answers the few REST calls a restart_task
// remediation makes, as a worker does: task 0 of "sink" is FAILED until
// it is restarted.
func fakeConnectWithAFailedTask(t *testing.T) *httptest.Server {
	var mu sync.Mutex
	state := "FAILED"
	status := func() map[string]any {
		task := map[string]any{"id": 0, "state": state, "worker_id": "w1:8083"}
		if state == "FAILED" {
			task["trace"] = "org.apache.kafka.connect.errors.ConnectException: boom\nCaused by: org.postgresql.util.PSQLException: connection refused"
		}
		return map[string]any{"name": "sink", "type": "sink",
			"connector": map[string]any{"state": "RUNNING", "worker_id": "w1:8083"},
			"tasks":     []any{task}}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/connectors/sink/status":
			_ = json.NewEncoder(w).Encode(status())
		case r.Method == http.MethodPost && r.URL.Path == "/connectors/sink/tasks/0/restart":
			state = "RUNNING"
			w.WriteHeader(http.StatusNoContent)
		case r.Method == http.MethodGet && r.URL.Path == "/connectors":
			_ = json.NewEncoder(w).Encode(map[string]any{"sink": map[string]any{"status": status(),
				"info": map[string]any{"name": "sink", "type": "sink", "config": map[string]string{"connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector"}}}})
		case r.Method == http.MethodGet && r.URL.Path == "/":
			_, _ = io.WriteString(w, `{"version":"4.3.0"}`)
		default:
			http.Error(w, `{"error_code":404,"message":"not found"}`, http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// startJaeger runs the real Jaeger v2 with in-memory storage and returns
// its OTLP/HTTP and query addresses.
func startJaeger(t *testing.T) (otlpHTTP, query string) {
	bin := testenv.Tool(t, "jaeger", "JAEGER")
	dir := t.TempDir()
	// Four distinct ports: addresses taken one at a time may repeat.
	addrs := distinctFreeAddrs(t, 4)
	otlpGRPC, queryGRPC := addrs[0], addrs[1]
	otlpHTTP, query = addrs[2], addrs[3]
	cfg := fmt.Sprintf(`service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 10000
  jaeger_query:
    enable_tracing: false
    storage:
      traces: memstore
    grpc:
      endpoint: %s
    http:
      endpoint: %s
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: %s
      http:
        endpoint: %s
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`, queryGRPC, query, otlpGRPC, otlpHTTP)
	path := filepath.Join(dir, "jaeger.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, "jaeger", bin, "--config", path)
	p.waitReady(t, "http://"+query+"/api/services", 2*time.Minute)
	return otlpHTTP, query
}

// distinctFreeAddrs returns n loopback addresses nobody listens on, all
// different: the listeners stay open until every port is chosen.
func distinctFreeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().String())
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}

type jaegerTrace struct {
	Data []struct {
		TraceID string `json:"traceID"`
		Spans   []struct {
			OperationName string `json:"operationName"`
			References    []struct {
				RefType string `json:"refType"`
				SpanID  string `json:"spanID"`
			} `json:"references"`
			SpanID string `json:"spanID"`
		} `json:"spans"`
		Processes map[string]struct {
			ServiceName string `json:"serviceName"`
		} `json:"processes"`
	} `json:"data"`
}

// An alert sent through the remediator can be followed, step by step,
// in a real Jaeger: the audit record names the trace, and the trace holds
// every step from the notification to the audit write.
func TestARemediationCanBeFollowedInJaeger(t *testing.T) {
	otlpHTTP, query := startJaeger(t)
	conn := fakeConnectWithAFailedTask(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := fmt.Sprintf(`connect_clusters:
  - name: main
    url: %s
remediation:
  verify_timeout: 30s
  rules:
    - name: restart-failed-task
      match: ['alertname="CDCConnectorTaskFailed"']
      action: restart_task
      args: {connector: '{{ .Labels.connector }}', task: '{{ .Labels.task }}'}
tracing:
  endpoint: http://%s
  protocol: http/protobuf
`, conn.URL, otlpHTTP)
	cfgPath := filepath.Join(dir, "cdc-sentinel.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	sentinel := start(t, "cdc-sentinel", buildSentinel(t), "--config.file="+cfgPath,
		"--storage.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	sentinelURL := "http://" + addr
	sentinel.waitReady(t, sentinelURL+"/-/ready", time.Minute)

	startsAt := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	body := fmt.Sprintf(`{"version":"4","groupKey":"{}:{alertname=\"CDCConnectorTaskFailed\"}","status":"firing","receiver":"cdc-sentinel",
"groupLabels":{"alertname":"CDCConnectorTaskFailed"},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://alertmanager:9093",
"alerts":[{"status":"firing","labels":{"alertname":"CDCConnectorTaskFailed","connector":"sink","task":"0","connect_cluster":"main"},
"annotations":{},"startsAt":%q,"endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"6d1b3c1a2f0e4d5c"}]}`, startsAt)
	resp, err := http.Post(sentinelURL+"/alerts", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /alerts: %s: %s", resp.Status, b)
	}

	var traceID string
	eventually(t, "the restart is audited with its trace id", 2*time.Minute, func(ctx context.Context) (bool, error) {
		recs, err := audit(ctx, sentinelURL, "restart-failed-task")
		if err != nil || len(recs) == 0 {
			return false, err
		}
		if recs[0].Outcome != "success" {
			return false, fmt.Errorf("outcome %s: %s %s", recs[0].Outcome, recs[0].Detail, recs[0].Error)
		}
		traceID = recs[0].TraceID
		return traceID != "", fmt.Errorf("audit record has no trace_id")
	})

	want := []string{"webhook notification", "alert", "remediation job", "rule decision", "live-state pre-check", "action restart_task", "verify", "audit write"}
	eventually(t, "Jaeger holds the whole trace", 2*time.Minute, func(ctx context.Context) (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+query+"/api/traces/"+traceID, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Errorf("GET /api/traces/%s: %s: %s", traceID, resp.Status, bytes.TrimSpace(raw))
		}
		var tr jaegerTrace
		if err := json.Unmarshal(raw, &tr); err != nil {
			return false, err
		}
		if len(tr.Data) != 1 {
			return false, fmt.Errorf("%d traces for %s", len(tr.Data), traceID)
		}
		have := map[string]bool{}
		for _, s := range tr.Data[0].Spans {
			have[s.OperationName] = true
		}
		var missing []string
		for _, w := range want {
			if !have[w] {
				missing = append(missing, w)
			}
		}
		if len(missing) > 0 {
			return false, fmt.Errorf("spans missing: %v (have %v)", missing, have)
		}
		for _, p := range tr.Data[0].Processes {
			if p.ServiceName != "cdc-sentinel" {
				return false, fmt.Errorf("service name %q, want cdc-sentinel", p.ServiceName)
			}
		}
		return true, nil
	})
}
