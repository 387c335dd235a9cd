package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect/connecttest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// writeConfig writes a configuration file with the given Connect clusters
// (name → URL) and returns its path.
func connectorsTestConfig(t *testing.T, clusters ...[2]string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("connect_clusters:\n")
	for _, c := range clusters {
		b.WriteString("  - name: " + c[0] + "\n    url: " + c[1] + "\n")
	}
	path := filepath.Join(t.TempDir(), "cdc-sentinel.yml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func runConnectorsCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// oneSink answers like a Connect worker with a single running sink.
func fakeWorkerWithOneSink(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/connectors":
			_ = json.NewEncoder(w).Encode(map[string]any{"orders-sink": map[string]any{
				"status": map[string]any{"name": "orders-sink", "type": "sink", "connector": map[string]string{"state": "RUNNING", "worker_id": "w1:8083"},
					"tasks": []map[string]any{{"id": 0, "state": "RUNNING", "worker_id": "w1:8083"}}},
				"info": map[string]any{"name": "orders-sink", "type": "sink", "config": map[string]string{"connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector"}},
			}})
		default:
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]any{"error_code": 404, "message": "Connector not found"})
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestConnectorsCommandErrors(t *testing.T) {
	url := fakeWorkerWithOneSink(t)
	one := connectorsTestConfig(t, [2]string{"prod", url})
	two := connectorsTestConfig(t, [2]string{"prod", url}, [2]string{"dr", url})
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown connector", []string{"--config.file=" + one, "connectors", "pause", "orders-snk"},
			`unknown connector "orders-snk" on connect cluster prod (it has: orders-sink)`},
		{"several clusters and no choice", []string{"--config.file=" + two, "connectors", "list"},
			"2 connect clusters are configured (dr, prod): pick one with --connect-cluster"},
		{"unknown cluster", []string{"--config.file=" + two, "connectors", "--connect-cluster=qa", "list"},
			`unknown connect cluster "qa" (configured: dr, prod)`},
		{"no names and no --all", []string{"--config.file=" + one, "connectors", "restart"},
			"name at least one connector, or pass --all"},
		{"--task with --all", []string{"--config.file=" + one, "connectors", "restart", "--all", "--task=0"},
			"--task needs named connectors and a task id of 0 or more"},
		{"negative --task", []string{"--config.file=" + one, "connectors", "restart", "orders-sink", "--task=-1"},
			"--task needs named connectors and a task id of 0 or more (got --task=-1)"},
		{"dot-segment name", []string{"--config.file=" + one, "connectors", "pause", ".."},
			`connector name ".." is a URL dot segment`},
		{"scale to zero", []string{"--config.file=" + one, "connectors", "scale", "orders-sink", "--tasks=0"},
			"--tasks must be at least 1, got 0"},
		{"missing config", []string{"--config.file=/nonexistent.yml", "connectors", "list"},
			"reading config: open /nonexistent.yml"},
		{"bad output format", []string{"--config.file=" + one, "connectors", "list", "--output=yaml"},
			"enum value must be one of table,json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runConnectorsCLI(tc.args...)
			if code == 0 {
				t.Fatalf("exit 0, want non-zero with %q", tc.want)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q, want it to contain %q", stderr, tc.want)
			}
		})
	}
}

func TestConnectorsListPicksTheNamedCluster(t *testing.T) {
	url := fakeWorkerWithOneSink(t)
	two := connectorsTestConfig(t, [2]string{"prod", url}, [2]string{"dr", "http://127.0.0.1:1"})
	code, stdout, stderr := runConnectorsCLI("--config.file="+two, "connectors", "list", "--connect-cluster=prod", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var l struct {
		Cluster    string `json:"connect_cluster"`
		Connectors []struct {
			Name string `json:"name"`
		} `json:"connectors"`
	}
	if err := json.Unmarshal([]byte(stdout), &l); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if l.Cluster != "prod" || len(l.Connectors) != 1 || l.Connectors[0].Name != "orders-sink" {
		t.Errorf("listing %+v", l)
	}
}

func TestConnectorsListRealWorker(t *testing.T) {
	p := testenv.Need(t)
	cfg := connectorsTestConfig(t, [2]string{"local", p.ConnectURL})
	code, stdout, stderr := runConnectorsCLI("--config.file="+cfg, "connectors", "list")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"CONNECTOR", "demo-source", "demo-sink", "WORKER"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("listing lacks %q:\n%s", want, stdout)
		}
	}
	code, _, stderr = runConnectorsCLI("--config.file="+cfg, "connectors", "stop", "no-such-connector-xyz")
	if code == 0 || !strings.Contains(stderr, `unknown connector "no-such-connector-xyz" on connect cluster local`) {
		t.Errorf("stop of an unknown connector: exit %d, %q", code, stderr)
	}
}

// Every command that takes a connector, a task or a table answers an
// unknown one the same way: exit 2, the name, and the names that exist.
// (dlq inspect once exited 1 with a raw 404, restart --task=7 of a
// one-task connector exited 1.)
func TestUnknownNamesAreAnsweredOneWay(t *testing.T) {
	one := connectorsTestConfig(t, [2]string{"prod", fakeWorkerWithOneSink(t)})
	dlq := dlqTestConfig(t, fakeWorkerWithSinks(t), true)
	tables := filepath.Join(t.TempDir(), "tables.yml")
	if err := os.WriteFile(tables, []byte(`databases:
  - {name: s, driver: postgres, dsn: "postgres://u@127.0.0.1:1/s"}
  - {name: t, driver: postgres, dsn: "postgres://u@127.0.0.1:1/t"}
tables:
  - {name: customers, source: {database: s, table: public.customers}, target: {database: t, table: public.customers}}
  - {name: orders, source: {database: s, table: public.orders}, target: {database: t, table: public.orders}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		name string // the unknown name, as the message quotes it
		has  string // the names that exist, as the message lists them
	}{
		{[]string{"--config.file=" + one, "connectors", "pause", "nope"}, `"nope"`, "orders-sink"},
		{[]string{"--config.file=" + one, "connectors", "resume", "nope"}, `"nope"`, "orders-sink"},
		{[]string{"--config.file=" + one, "connectors", "stop", "nope"}, `"nope"`, "orders-sink"},
		{[]string{"--config.file=" + one, "connectors", "restart", "nope"}, `"nope"`, "orders-sink"},
		{[]string{"--config.file=" + one, "connectors", "scale", "nope", "--tasks=2"}, `"nope"`, "orders-sink"},
		{[]string{"--config.file=" + one, "connectors", "restart", "orders-sink", "--task=7"}, "task 7", "it has: 0"},
		{[]string{"--config.file=" + dlq, "dlq", "inspect", "nope"}, `"nope"`, "no-dlq, with-dlq"},
		{[]string{"--config.file=" + dlq, "dlq", "replay", "nope", "--storage.path=" + t.TempDir()}, `"nope"`, "no-dlq, with-dlq"},
		{[]string{"--config.file=" + tables, "reconcile", "--table=nope"}, `"nope"`, "customers, orders"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args[1:], " "), func(t *testing.T) {
			code, _, stderr := runConnectorsCLI(c.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2; stderr %q", code, stderr)
			}
			if !strings.Contains(stderr, c.name) || !strings.Contains(stderr, c.has) {
				t.Errorf("stderr %q, want the name %s and what exists (%s)", stderr, c.name, c.has)
			}
		})
	}
}

// An action that changes nothing is not sent and succeeds, saying why: a
// STOPPED connector runs no tasks, so pausing it (which would start it)
// is not needed, and a task restart with --only-failed leaves a RUNNING
// task alone.
func TestConnectorsActionNotNeededIsNotSent(t *testing.T) {
	f, c := connecttest.New(t)
	f.Add("stopped-sink", "io.debezium.connector.jdbc.JdbcSinkConnector", connect.StateStopped, 1)
	f.Add("running-sink", "io.debezium.connector.jdbc.JdbcSinkConnector", connect.StateRunning, 1)
	cfg := connectorsTestConfig(t, [2]string{"prod", c.URL()})
	for _, tc := range []struct {
		args  []string
		state string
		note  string
	}{
		{[]string{"pause", "stopped-sink"}, "connector STOPPED, no tasks", "not sent: connector is STOPPED: it runs no tasks, and pausing it would start it"},
		{[]string{"restart", "running-sink", "--task=0", "--only-failed"}, "connector RUNNING, 1 task RUNNING", "not sent: task 0 is RUNNING"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			args := append([]string{"--config.file=" + cfg, "connectors"}, tc.args...)
			code, stdout, stderr := runConnectorsCLI(append(args, "--output=json")...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var res []actionResult
			if err := json.Unmarshal([]byte(stdout), &res); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, stdout)
			}
			if len(res) != 1 || !res[0].OK || res[0].State != tc.state || res[0].Note != tc.note {
				t.Errorf("result %+v, want ok, %q, note %q", res, tc.state, tc.note)
			}
			if sent := append(f.Requests("PUT /connectors/"), f.Requests("POST /connectors/")...); len(sent) != 0 {
				t.Errorf("sent %v, want nothing", sent)
			}
		})
	}
}
