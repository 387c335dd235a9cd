package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeWorkerWithSinks answers GET /connectors/NAME/config for a sink with
// a DLQ ("with-dlq") and one without ("no-dlq").
func fakeWorkerWithSinks(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/connectors":
			out := map[string]any{}
			for _, n := range []string{"no-dlq", "with-dlq"} {
				out[n] = map[string]any{
					"status": map[string]any{"name": n, "type": "sink", "connector": map[string]string{"state": "RUNNING", "worker_id": "w1:8083"},
						"tasks": []map[string]any{{"id": 0, "state": "RUNNING", "worker_id": "w1:8083"}}},
					"info": map[string]any{"name": n, "type": "sink", "config": map[string]string{"connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector"}},
				}
			}
			_ = json.NewEncoder(w).Encode(out)
		case "/connectors/with-dlq/config":
			_ = json.NewEncoder(w).Encode(map[string]string{"connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector", "errors.deadletterqueue.topic.name": "with-dlq-dlq"})
		case "/connectors/no-dlq/config":
			_ = json.NewEncoder(w).Encode(map[string]string{"connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector"})
		default:
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]any{"error_code": 404, "message": "Connector " + r.URL.Path + " not found"})
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func dlqTestConfig(t *testing.T, connectURL string, withKafka bool) string {
	t.Helper()
	s := "connect_clusters:\n  - name: prod\n    url: " + connectURL + "\n"
	if withKafka {
		s += "kafka:\n  brokers: [127.0.0.1:1]\n  timeout: 1s\n"
	}
	path := filepath.Join(t.TempDir(), "cdc-sentinel.yml")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDLQCommandErrors(t *testing.T) {
	url := fakeWorkerWithSinks(t)
	cfg := dlqTestConfig(t, url, true)
	noKafka := dlqTestConfig(t, url, false)
	cases := []struct {
		name string
		args []string
		want string
		code int
	}{
		{"no kafka section", []string{"--config.file=" + noKafka, "dlq", "inspect", "with-dlq"},
			"has no kafka section: the DLQ is read from Kafka", 2},
		{"connector without a DLQ", []string{"--config.file=" + cfg, "dlq", "inspect", "no-dlq"},
			"connector no-dlq has no dead-letter queue (it is not a sink, or errors.deadletterqueue.topic.name is not set)", 1},
		{"unknown connector", []string{"--config.file=" + cfg, "dlq", "replay", "nope", "--storage.path=" + t.TempDir()},
			`dlq replay: unknown connector "nope" on connect cluster prod (it has: no-dlq, with-dlq)`, 2},
		{"not a connector name", []string{"--config.file=" + cfg, "dlq", "inspect", ".."},
			"dlq inspect: ", 2},
		{"bad limit", []string{"--config.file=" + cfg, "dlq", "inspect", "with-dlq", "--limit=0"},
			"--limit must be at least 1, not 0", 2},
		{"negative from-offset", []string{"--config.file=" + cfg, "dlq", "replay", "with-dlq", "--from-offset=-3"},
			"--from-offset must be 0 or more, not -3", 2},
		{"negative max", []string{"--config.file=" + cfg, "dlq", "replay", "with-dlq", "--max=-1"},
			"--max must be 0 (all) or more, not -1", 2},
		{"no delivery timeout", []string{"--config.file=" + cfg, "dlq", "replay", "with-dlq", "--delivery-timeout=0s"},
			"--delivery-timeout must be more than 0, not 0s", 2},
		{"bad output", []string{"--config.file=" + cfg, "dlq", "inspect", "with-dlq", "-o", "yaml"},
			"enum value must be one of table,json", 2},
		{"missing connector", []string{"--config.file=" + cfg, "dlq", "inspect"},
			"required argument 'connector' not provided", 2},
		{"missing config", []string{"--config.file=/nonexistent.yml", "dlq", "inspect", "with-dlq"},
			"reading config: open /nonexistent.yml", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runConnectorsCLI(c.args...)
			if code != c.code || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and an error containing %q", code, stderr, c.code, c.want)
			}
		})
	}
}

// A replay waiting on a Kafka that accepted the connection and never
// answers stops at SIGTERM and says what to do.
func TestDLQReplayStopsAtSIGTERM(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 64)
	go func() {
		for c, err := ln.Accept(); err == nil; c, err = ln.Accept() {
			accepted <- c // held open, never answered
		}
	}()
	conf := filepath.Join(t.TempDir(), "cdc-sentinel.yml")
	if err := os.WriteFile(conf, []byte("connect_clusters:\n  - name: prod\n    url: "+fakeWorkerWithSinks(t)+
		"\nkafka:\n  brokers: ["+ln.Addr().String()+"]\n  timeout: 1h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "--config.file="+conf, "dlq", "replay", "with-dlq", "--storage.path="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-accepted:
		defer c.Close()
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatal("the replay never connected to Kafka")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "interrupted") {
			t.Errorf("exit %v, stderr %s", err, stderr.String())
		}
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatal("SIGTERM did not stop the replay")
	}
}
