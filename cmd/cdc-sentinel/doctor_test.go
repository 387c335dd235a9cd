package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// doctorJSON is the shape `doctor --output=json` promises.
type doctorJSON struct {
	Findings []struct {
		Check    string `json:"check"`
		Severity string `json:"severity"`
		Target   string `json:"target"`
		Message  string `json:"message"`
		Fix      string `json:"fix"`
		Trace    string `json:"trace"` // a failed connector's or task's stack trace
	} `json:"findings"`
	Summary struct {
		Error      *int `json:"error"`
		Warning    *int `json:"warning"`
		Info       *int `json:"info"`
		Connectors int  `json:"connectors_checked"`
		Tables     int  `json:"tables_checked"`
		Databases  int  `json:"databases_checked"`
	} `json:"summary"`
}

func decodeDoctor(t *testing.T, out string) doctorJSON {
	t.Helper()
	var d doctorJSON
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("doctor output is not the promised JSON: %v\n%s", err, out)
	}
	if d.Findings == nil || d.Summary.Error == nil || d.Summary.Warning == nil || d.Summary.Info == nil {
		t.Fatalf("findings or summary counts missing:\n%s", out)
	}
	counts := map[string]int{}
	for _, f := range d.Findings {
		counts[f.Severity]++
		if f.Check == "" || f.Target == "" || f.Message == "" || f.Fix == "" {
			t.Errorf("finding with an empty field: %+v", f)
		}
		if !strings.Contains(f.Target, ":") {
			t.Errorf("target %q is not kind:name", f.Target)
		}
	}
	for sev, n := range map[string]int{"error": *d.Summary.Error, "warning": *d.Summary.Warning, "info": *d.Summary.Info} {
		if counts[sev] != n {
			t.Errorf("summary says %d %s, findings have %d", n, sev, counts[sev])
		}
	}
	if len(counts) > 3 || (len(counts) > 0 && counts["error"]+counts["warning"]+counts["info"] != len(d.Findings)) {
		t.Errorf("severity outside info, warning, error: %v", counts)
	}
	return d
}

func pipelineConfig(p *testenv.Pipeline, extraTables string) string {
	return fmt.Sprintf(`connect_clusters: [{name: local, url: %q}]
kafka: {brokers: [%q]}
databases:
  - {name: source, driver: postgres, dsn: %q}
  - {name: target, driver: postgres, dsn: %q}
tables:
  - {name: customers, source: {database: source, table: inventory.customers}, target: {database: target, table: public.customers}, key: [id],
     signal: {connector: demo-source, table: inventory.debezium_signal}}
  - {name: orders, source: {database: source, table: inventory.orders}, target: {database: target, table: public.orders}, key: [customer_id, order_no],
     signal: {connector: demo-source, table: inventory.debezium_signal}}
%s`, p.ConnectURL, p.KafkaBrokers, p.SourceDSN, p.TargetDSN, extraTables)
}

func TestDoctorOnTheLocalPipeline(t *testing.T) {
	p := testenv.Need(t)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "pipeline.yml", pipelineConfig(p, ""))
	out, errOut, code := runBinary(t, "--config.file="+cfg, "doctor", "--output=json")
	d := decodeDoctor(t, out)
	if code != 0 && code != 1 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// Other engineers' connectors may share the worker: the exit code must
	// agree with the findings, whatever they are.
	if serious := *d.Summary.Error + *d.Summary.Warning; (serious == 0) != (code == 0) {
		t.Errorf("exit %d with %d findings at warning or above", code, serious)
	}
	for _, f := range d.Findings {
		switch f.Target {
		case "connector:local/demo-source", "connector:local/demo-sink", "table:customers", "table:orders":
			if f.Severity != "info" {
				t.Errorf("demo pipeline reported: %+v", f)
			}
		}
	}
	if d.Summary.Tables != 2 || d.Summary.Databases != 2 {
		t.Errorf("summary: %+v", d.Summary)
	}
}

func TestDoctorExitsOneOnABrokenPipeline(t *testing.T) {
	p := testenv.Need(t)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "broken.yml", pipelineConfig(p,
		"  - {name: ghost, source: {database: source, table: inventory.ghost}, target: {database: target, table: public.ghost}}\n"))
	out, errOut, code := runBinary(t, "--config.file="+cfg, "doctor", "--output=json")
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, errOut)
	}
	d := decodeDoctor(t, out)
	found := map[string]bool{}
	for _, f := range d.Findings {
		if f.Target == "table:ghost" {
			found[f.Check+"/"+f.Severity] = true
		}
	}
	for _, want := range []string{"table-not-covered/error", "watermark-column/error", "signal/warning"} {
		if !found[want] {
			t.Errorf("no %s finding for table:ghost; got %v", want, found)
		}
	}
	// The table output says the same for a terminal.
	table, _, code := runBinary(t, "--config.file="+cfg, "doctor")
	if code != 1 || !strings.Contains(table, "table-not-covered") || !strings.Contains(table, "fix: ") || !strings.Contains(table, "SEVERITY") {
		t.Errorf("table output (exit %d):\n%s", code, table)
	}
}

func TestDoctorUnreachableClusterIsAFinding(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := writeFile(t, t.TempDir(), "c.yml", fmt.Sprintf("connect_clusters: [{name: gone, url: 'http://%s', timeout: 2s}]\n", addr))
	out, _, code := runBinary(t, "--config.file="+cfg, "doctor", "--output=json", "--web.listen-address=127.0.0.1:19641")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	d := decodeDoctor(t, out)
	if len(d.Findings) != 1 || d.Findings[0].Check != "connect-unreachable" || d.Findings[0].Target != "cluster:gone" {
		t.Errorf("findings: %+v", d.Findings)
	}
}

func TestDoctorUsageAndConfigErrorsExitTwo(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "ok.yml", "connect_clusters: [{name: a, url: 'http://127.0.0.1:1'}]\n")
	bad := writeFile(t, dir, "bad.yml", "connect_clusters: [{name: a, url: 'ftp://x'}]\n")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing config file", []string{"--config.file=" + dir + "/nope.yml", "doctor"}, "nope.yml"},
		{"invalid config", []string{"--config.file=" + bad, "doctor"}, "not an http or https URL"},
		{"unknown output", []string{"--config.file=" + good, "doctor", "--output=xml"}, "xml"},
		{"unknown cluster", []string{"--config.file=" + good, "doctor", "--connect-cluster=b"}, `unknown connect cluster "b"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := runBinary(t, tc.args...)
			if code != 2 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, tc.want)
			}
		})
	}
}

func TestConnectorsValidateBinary(t *testing.T) {
	p := testenv.Need(t)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yml", fmt.Sprintf("connect_clusters: [{name: local, url: %q}]\n", p.ConnectURL))
	url := strings.Replace(p.TargetDSN, "postgres://cdc:cdc@", "jdbc:postgresql://", 1)
	url, _, _ = strings.Cut(url, "?")
	good := writeFile(t, dir, "good.json", fmt.Sprintf(`{"name": "it-validate-good", "config": {"connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector",
  "topics": "a", "connection.url": %q, "insert.mode": "upsert", "errors.tolerance": "all", "errors.deadletterqueue.topic.name": "a-dlq"}}`, url))
	bad := writeFile(t, dir, "bad.json", fmt.Sprintf(`{"connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector",
  "topics": "a", "connection.url": %q, "insert.mode": "bogus", "errors.tolerance": "sometimes"}`, url))
	notJSON := writeFile(t, dir, "broken.json", "{")

	out, errOut, code := runBinary(t, "--config.file="+cfg, "connectors", "validate", good)
	if code != 0 || !strings.Contains(out, "good.json: valid") {
		t.Errorf("good file: exit %d\n%s%s", code, out, errOut)
	}
	out, _, code = runBinary(t, "--config.file="+cfg, "connectors", "validate", good, bad, notJSON, dir+"/missing.json")
	if code != 1 {
		t.Errorf("exit %d with bad files, want 1", code)
	}
	for _, want := range []string{"good.json: valid", "bad.json: INVALID", "  insert.mode: invalid value \"bogus\"", "  errors.tolerance: Invalid value sometimes",
		"broken.json: INVALID: not a JSON object", "missing.json: INVALID: cannot read", "1 of 4 file(s) valid"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, _, code = runBinary(t, "--config.file="+cfg, "connectors", "validate", "--output=json", bad)
	var res struct {
		Valid bool `json:"valid"`
		Files []struct {
			File        string `json:"file"`
			Valid       bool   `json:"valid"`
			FieldErrors []struct {
				Field, Message, Source string
			} `json:"field_errors"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 1 || res.Valid || len(res.Files) != 1 || len(res.Files[0].FieldErrors) < 2 {
		t.Errorf("json: exit %d, err %v:\n%s", code, err, out)
	}
	_, errOut, code = runBinary(t, "--config.file="+dir+"/none.yml", "connectors", "validate", good)
	if code != 2 || !strings.Contains(errOut, "none.yml") {
		t.Errorf("missing config: exit %d, %q", code, errOut)
	}
}

// Served on every interface without a web config, /alerts is open to
// anyone: doctor says so; on loopback or with basic auth it does not.
func TestDoctorWarnsOfUnauthenticatedAlerts(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yml", "connect_clusters: [{name: gone, url: 'http://127.0.0.1:1', timeout: 1s}]\n")
	deletes := writeFile(t, dir, "d.yml", "connect_clusters: [{name: gone, url: 'http://127.0.0.1:1', timeout: 1s}]\nreconcile: {http_delete_extra: true}\n")
	auth := writeFile(t, dir, "web.yml", "basic_auth_users:\n  alertmanager: $2y$10$Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9v\n")
	for _, c := range []struct {
		cfg     string
		args    []string
		warn    bool
		assumed bool // the message says doctor judged serve's default address
	}{
		{cfg, nil, true, true},
		{cfg, []string{"--web.listen-address=0.0.0.0:19641"}, true, false},
		{cfg, []string{"--web.listen-address=127.0.0.1:19641"}, false, false},
		{cfg, []string{"--web.config.file=" + auth}, false, false},
		// Deleting over HTTP without authentication is open to any
		// local process, loopback or not.
		{deletes, []string{"--web.listen-address=127.0.0.1:19641"}, true, false},
		{deletes, []string{"--web.config.file=" + auth}, false, false},
	} {
		out, errOut, _ := runBinary(t, append([]string{"--config.file=" + c.cfg, "doctor", "-o", "json"}, c.args...)...)
		d := decodeDoctor(t, out)
		found, assumed := false, false
		for _, f := range d.Findings {
			if f.Check == "alerts-unauthenticated" && f.Severity == "warning" {
				found = true
				assumed = strings.Contains(f.Message, "judged for serve's default --web.listen-address=:19641")
			}
		}
		if found != c.warn || assumed != c.assumed {
			t.Errorf("%v: alerts-unauthenticated found=%v (assumed default %v), want %v (%v)\n%s%s", c.args, found, assumed, c.warn, c.assumed, out, errOut)
		}
	}
}

// The demo listens on loopback and prints the doctor command to run
// against it with that address, so doctor judges the demo's server and not
// serve's default.
func TestDemoPrintsADoctorCommandForItsOwnAddress(t *testing.T) {
	script, err := os.ReadFile("../../scripts/demo.sh")
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^\s*doctor\s+(.*)$`).FindSubmatch(script)
	if line == nil {
		t.Fatal("the demo no longer prints a doctor command")
	}
	for _, want := range []string{`doctor --config.file="$CONFIG"`, `--web.listen-address="$ADDR"`} {
		if !strings.Contains(string(line[1]), want) {
			t.Errorf("the demo's doctor command %q lacks %s", line[1], want)
		}
	}
	if !regexp.MustCompile(`(?m)^\s*"\$BIN" --config.file="\$CONFIG" .*--web.listen-address="\$ADDR"`).Match(script) {
		t.Error("the demo's server no longer listens on $ADDR: the doctor command would judge another address")
	}
}
