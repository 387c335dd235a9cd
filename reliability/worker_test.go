package reliability

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// standIn is a Kafka Connect worker that answers what cdc-sentinel asks
// and logs every restart it is asked for: the crash tests count actions
// from its log, as one would from a real worker's. Every connector it is
// asked about exists, as a sink whose task 0 is FAILED and stays so (a
// poison record), so a second restart in an episode is always tempting.
type standIn struct {
	addr string
	srv  *http.Server

	mu       sync.Mutex
	restarts map[string]int // connector → restarts asked for
	// onRestart, when set, is called with the connector of every restart
	// before it is answered.
	onRestart func(connector string)
}

func startStandIn(t testing.TB) *standIn {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &standIn{addr: l.Addr().String(), restarts: map[string]int{}}
	w.srv = &http.Server{Handler: http.HandlerFunc(w.serve)}
	go func() { _ = w.srv.Serve(l) }()
	t.Cleanup(func() { _ = w.srv.Close() })
	return w
}

func (w *standIn) status(name string) map[string]any {
	return map[string]any{
		"name":      name,
		"connector": map[string]any{"state": "RUNNING", "worker_id": w.addr},
		"tasks": []any{map[string]any{"id": 0, "state": "FAILED", "worker_id": w.addr,
			"trace": "org.apache.kafka.connect.errors.DataException: Converting byte[] to Kafka Connect data failed due to serialization error"}},
		"type": "sink",
	}
}

func (w *standIn) info(name string) map[string]any {
	return map[string]any{"name": name, "type": "sink", "tasks": []any{map[string]any{"connector": name, "task": 0}},
		"config": map[string]string{"connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector", "name": name,
			"errors.deadletterqueue.topic.name": "dlq-" + name}}
}

func (w *standIn) serve(rw http.ResponseWriter, r *http.Request) {
	rw.Header().Set("Content-Type", "application/json")
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	enc := json.NewEncoder(rw)
	switch {
	case r.URL.Path == "/":
		_ = enc.Encode(map[string]string{"version": "3.9.0", "commit": "standin", "kafka_cluster_id": "standin"})
	case r.URL.Path == "/connectors" && r.Method == http.MethodGet:
		_ = enc.Encode(map[string]any{"orders-sink": map[string]any{"status": w.status("orders-sink"), "info": w.info("orders-sink")}})
	case len(parts) == 3 && parts[2] == "status":
		_ = enc.Encode(w.status(parts[1]))
	case len(parts) == 2 && r.Method == http.MethodGet:
		_ = enc.Encode(w.info(parts[1]))
	case len(parts) == 3 && parts[2] == "offsets":
		_ = enc.Encode(map[string]any{"offsets": []any{}})
	case r.Method == http.MethodPost && len(parts) >= 3 && parts[len(parts)-1] == "restart":
		w.mu.Lock()
		w.restarts[parts[1]]++
		hook := w.onRestart
		w.mu.Unlock()
		if hook != nil {
			hook(parts[1])
		}
		rw.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPut && len(parts) == 3:
		rw.WriteHeader(http.StatusAccepted)
	default:
		rw.WriteHeader(http.StatusNotFound)
		_, _ = fmt.Fprintf(rw, `{"error_code":404,"message":"no %s"}`, r.URL.Path)
	}
}

// notify sets the hook called on every restart.
func (w *standIn) notify(f func(connector string)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.onRestart = f
}

func (w *standIn) restartsOf(connector string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.restarts[connector]
}
