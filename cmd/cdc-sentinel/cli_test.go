package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// commandsWithOutput are every command that prints a result.
var commandsWithOutput = [][]string{
	{"check-config"}, {"connectors", "list"}, {"connectors", "pause"}, {"connectors", "resume"},
	{"connectors", "restart"}, {"connectors", "stop"}, {"connectors", "scale"},
	{"connectors", "validate"}, {"doctor"}, {"reconcile"}, {"dlq", "inspect"}, {"dlq", "replay"},
}

var serverFlags = []string{"web.listen-address", "web.config.file", "web.telemetry-path", "storage.path",
	"scrape.timeout-offset", "scrape.default-timeout", "web.enable-pprof", "web.systemd-socket"}

// One convention for every command: its help states the exit codes, it
// has -o/--output, and it lists only the flags it uses.
func TestEveryCommandFollowsTheCLIConvention(t *testing.T) {
	for _, c := range commandsWithOutput {
		help, _, code := runBinary(t, append(c, "--help")...)
		name := strings.Join(c, " ")
		if code != 0 {
			t.Errorf("%s --help: exit %d", name, code)
		}
		if !strings.Contains(strings.Join(strings.Fields(help), " "), "Exit status: 0 fine, 1 findings or the operation failed, 2 usage or configuration error.") {
			t.Errorf("%s --help does not state the exit codes:\n%s", name, help)
		}
		if !strings.Contains(help, "-o, --output") {
			t.Errorf("%s has no -o/--output", name)
		}
		for _, f := range serverFlags {
			if f == "storage.path" && name == "dlq replay" {
				continue // its ledger lives there
			}
			// doctor takes serve's listen address and web config to judge
			// whether /alerts is exposed without authentication.
			if name == "doctor" && (f == "web.listen-address" || f == "web.config.file") {
				continue
			}
			if strings.Contains(help, f) {
				t.Errorf("%s --help lists the server flag %s", name, f)
			}
		}
	}
	help, _, _ := runBinary(t, "serve", "--help")
	for _, f := range serverFlags {
		if !strings.Contains(help, f) {
			t.Errorf("serve --help lacks %s", f)
		}
	}
	for _, c := range [][]string{{"connectors", "list"}, {"connectors", "validate"}, {"check-config"}} {
		if help, _, _ := runBinary(t, append(c, "--help")...); strings.Contains(help, "--timeout") || strings.Contains(help, "--log.level") {
			t.Errorf("%s --help lists --timeout or --log.level, which it does not use", strings.Join(c, " "))
		}
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.yml", "connect_clusters:\n  - name: a\n")
	good := writeFile(t, dir, "good.yml", "connect_clusters:\n  - name: a\n    url: http://127.0.0.1:1\n  - name: b\n    url: http://127.0.0.1:1\n")
	cases := []struct {
		args []string
		want int
	}{
		{[]string{"check-config", "--config.file=" + good}, 0},
		{[]string{"check-config", "--config.file=" + bad}, 2},
		{[]string{"check-config", "--config.file=" + dir + "/missing.yml"}, 2},
		{[]string{"connectors", "list", "--config.file=" + bad}, 2},
		{[]string{"connectors", "pause", "x", "--config.file=" + bad}, 2},
		{[]string{"connectors", "pause", "--config.file=" + good, "--connect-cluster=a"}, 2},       // no names, no --all
		{[]string{"connectors", "pause", "..", "--config.file=" + good, "--connect-cluster=a"}, 2}, // not a connector name
		{[]string{"connectors", "list", "--config.file=" + good}, 2},                               // several clusters, none chosen
		{[]string{"connectors", "list", "--config.file=" + good, "--connect-cluster=a"}, 1},        // the cluster does not answer
		{[]string{"connectors", "scale", "x", "--tasks=0", "--config.file=" + good}, 2},
		{[]string{"doctor", "--config.file=" + bad}, 2},
		{[]string{"reconcile", "--table=t", "--config.file=" + bad}, 2},
		{[]string{"reconcile", "--table=nope", "--config.file=" + good}, 2},
		{[]string{"--config.file=" + bad, "--web.listen-address=127.0.0.1:0", "--storage.path=" + dir}, 2},
		{[]string{"no-such-command"}, 2},
	}
	for _, c := range cases {
		_, errOut, code := runBinary(t, c.args...)
		if code != c.want {
			t.Errorf("%v: exit %d, want %d; stderr %q", c.args, code, c.want, errOut)
		}
	}
}

func TestCheckConfigJSONOutput(t *testing.T) {
	f := writeFile(t, t.TempDir(), "bad.yml", "connect_clusters:\n  - name: a\n    url: ftp://x\nkafka:\n  brokers: k:9092\n")
	out, _, code := runBinary(t, "check-config", "-o", "json", "--config.file="+f)
	var res checkResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 2 {
		t.Fatalf("exit %d, %v: %s", code, err, out)
	}
	if res.Valid || len(res.Errors) != 2 || res.Errors[0].Line != 3 || res.Errors[0].Path != "connect_clusters[0].url" || res.Errors[1].Path != "kafka.brokers" {
		t.Errorf("result %+v", res)
	}
}

// A DSN file serve would refuse makes check-config fail too.
func TestCheckConfigParsesDSNFiles(t *testing.T) {
	dir := t.TempDir()
	dsnFile := writeFile(t, dir, "dsn", "postgres://u:hunter2@db:port/app\n")
	f := writeFile(t, dir, "c.yml", "databases:\n  - {name: a, driver: postgres, dsn_file: "+dsnFile+"}\n")
	_, errOut, code := runBinary(t, "check-config", "--config.file="+f)
	if code != 2 || !strings.Contains(errOut, "c.yml:2: databases[0].dsn_file: "+dsnFile+" does not hold a valid postgres DSN") || strings.Contains(errOut, "hunter") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}
