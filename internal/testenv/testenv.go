// Package testenv gives tests what lies outside the process: the address
// of the local pipeline started by scripts/pipeline/pipeline.sh, and the
// tools scripts/install-tools.sh builds (promtool, Prometheus,
// Alertmanager, Jaeger). Tests only: the binary never imports it.
// `make test` sets CDC_INTEGRATION=1, and then a missing pipeline or tool
// fails the test instead of skipping it, so a broken set-up cannot pass
// silently.
package testenv

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Pipeline is where the local pipeline listens.
type Pipeline struct {
	Dir          string
	ConnectURL   string
	KafkaBrokers string
	SourceDSN    string
	TargetDSN    string
	Env          map[string]string
}

// Integration reports whether integration tests are required to run.
func Integration() bool { return os.Getenv("CDC_INTEGRATION") == "1" }

// Need returns the local pipeline, or skips the test (fails it when
// CDC_INTEGRATION=1) when the pipeline is not up.
func Need(t testing.TB) *Pipeline {
	t.Helper()
	p, ok := Load()
	if !ok {
		msg := "local pipeline not up (run scripts/pipeline/pipeline.sh up, or make test)"
		if Integration() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// Load reads where the local pipeline listens from the environment and
// the pipeline's env file; ok is false when no pipeline is described.
func Load() (p *Pipeline, ok bool) {
	dir := os.Getenv("CDC_PIPELINE_DIR")
	if dir == "" {
		dir = "/tmp/cdc-sentinel-pipeline"
	}
	env := map[string]string{}
	if f, err := os.Open(filepath.Join(dir, "env")); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimPrefix(strings.TrimSpace(sc.Text()), "export ")
			if k, v, ok := strings.Cut(line, "="); ok {
				env[k] = strings.Trim(v, `"'`)
			}
		}
		f.Close()
	}
	get := func(k string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		return env[k]
	}
	p = &Pipeline{
		Dir:          dir,
		ConnectURL:   get("CDC_CONNECT_URL"),
		KafkaBrokers: get("CDC_KAFKA_BROKERS"),
		SourceDSN:    get("CDC_SOURCE_DSN"),
		TargetDSN:    get("CDC_TARGET_DSN"),
		Env:          env,
	}
	return p, p.ConnectURL != "" && p.SourceDSN != ""
}
