package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Promtool returns promtool's path, so tests can check exposition and
// rules with the real thing: $PROMTOOL, the cache of
// scripts/install-tools.sh, or $PATH. It skips the test when there is
// none, and fails it under `make test` (CDC_INTEGRATION=1).
func Promtool(t testing.TB) string {
	t.Helper()
	return Tool(t, "promtool", "PROMTOOL")
}

// Tool finds a binary built by scripts/install-tools.sh (promtool,
// prometheus, alertmanager, jaeger): $envVar, the script's cache, or
// $PATH. It skips the test when there is none, and fails it under
// `make test` (CDC_INTEGRATION=1).
func Tool(t testing.TB, name, envVar string) string {
	t.Helper()
	if p := os.Getenv(envVar); p != "" {
		return p
	}
	cache := os.Getenv("CDC_SENTINEL_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "cdc-sentinel")
	}
	if p := filepath.Join(cache, "bin", name); isExecutable(p) {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	msg := name + " not found: run scripts/install-tools.sh " + name
	if Integration() {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode()&0o111 != 0
}
