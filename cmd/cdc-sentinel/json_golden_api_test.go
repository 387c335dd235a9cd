package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect/connecttest"
)

// fakeWorkerThatValidates is a Connect worker with one running sink that
// acts on pause, resume, restart, stop and scale, and whose validate
// endpoint finds one field error.
func fakeWorkerThatValidates(t *testing.T) string {
	t.Helper()
	f, _ := connecttest.New(t)
	f.Add("orders-sink", "io.debezium.connector.jdbc.JdbcSinkConnector", connect.StateRunning, 1)
	mux := http.NewServeMux()
	mux.Handle("/", f)
	mux.HandleFunc("PUT /connector-plugins/{class}/config/validate", func(w http.ResponseWriter, r *http.Request) {
		var v connect.Validation
		v.Name, v.ErrorCount, v.Groups = r.PathValue("class"), 1, []string{"Connector"}
		v.Configs = make([]connect.ValidatedConfig, 1)
		c := &v.Configs[0]
		c.Definition.Name, c.Definition.Type, c.Definition.Importance, c.Definition.Group = "insert.mode", "STRING", "MEDIUM", "Connector"
		c.Value.Name, c.Value.Value, c.Value.Errors, c.Value.Visible = "insert.mode", "bogus", []string{"Invalid value bogus for configuration insert.mode"}, true
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// The -o json outputs of the commands that act on connectors keep their
// shape, one golden file each.
func TestConnectorActionsJSONMatchTheirGoldenShapes(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "cdc-sentinel.yml", "connect_clusters:\n  - name: prod\n    url: "+fakeWorkerThatValidates(t)+"\n")
	sink := writeFile(t, dir, "orders-sink.json", `{"name": "orders-sink", "config": {"connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector", "topics": "orders", "insert.mode": "bogus"}}`)
	// In this order: scale needs running tasks, so stop comes last.
	for _, c := range []struct {
		name string
		args []string
	}{
		{"connectors-pause", []string{"connectors", "pause", "orders-sink"}},
		{"connectors-resume", []string{"connectors", "resume", "orders-sink"}},
		{"connectors-restart", []string{"connectors", "restart", "orders-sink"}},
		{"connectors-scale", []string{"connectors", "scale", "orders-sink", "--tasks=2"}},
		{"connectors-stop", []string{"connectors", "stop", "orders-sink"}},
		{"connectors-validate", []string{"connectors", "validate", sink}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, _ := runBinary(t, append([]string{"--config.file=" + cfg}, append(c.args, "-o", "json")...)...)
			if out == "" {
				t.Fatalf("no output: %s", errOut)
			}
			compareShape(t, c.name, out)
		})
	}
}

// The API's JSON answers that need no database keep their shape: the
// webhook's answer, the audit trail after one (dry-run) decision, and the
// reconcile API's errors.
func TestAPIJSONMatchesItsGoldenShapes(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "cdc-sentinel.yml", `connect_clusters:
  - name: prod
    url: `+fakeConnect(t).URL+`
remediation:
  dry_run: true
  rules:
    - name: restart-failed-connector
      match: ['alertname="CDCConnectorFailed"']
      action: restart_connector
`)
	s := startServer(t, "--config.file="+cfg)
	base := "http://" + s.addr
	alert := `{"version": "4", "groupKey": "g", "status": "firing", "receiver": "cdc-sentinel",
  "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "",
  "alerts": [{"status": "firing", "fingerprint": "0123456789abcdef",
    "labels": {"alertname": "CDCConnectorFailed", "connect_cluster": "prod", "connector": "demo"},
    "annotations": {}, "startsAt": "` + time.Now().UTC().Format(time.RFC3339) + `", "endsAt": "0001-01-01T00:00:00Z"}]}`
	code, body := send(t, http.MethodPost, base+"/alerts", alert)
	if code != http.StatusOK {
		t.Fatalf("POST /alerts: %d %s", code, body)
	}
	compareShape(t, "api-alerts", body)
	// A bound for failing, not a timing: the decision is taken by a worker.
	var audit string
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		code, body := get(t, base+"/api/v1/remediations")
		if code == http.StatusOK && strings.HasPrefix(strings.TrimSpace(body), "[{") {
			audit = body
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no decision in the audit trail: %d %s\n%s", code, body, s.logs)
		}
	}
	compareShape(t, "api-remediations", audit)

	for _, c := range []struct {
		method, path string
	}{
		{http.MethodPost, "/api/v1/reconcile"},
		{http.MethodGet, "/api/v1/reconcile?limit=0"},
		{http.MethodGet, "/api/v1/reconcile/nope"},
	} {
		// Every error of the reconcile API has one shape.
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			code, body := send(t, c.method, base+c.path, "")
			if code < 400 || code >= 500 {
				t.Fatalf("%s %s: %d, want an error in the 400s: %s", c.method, c.path, code, body)
			}
			compareShape(t, "api-reconcile-error", body)
		})
	}
}
