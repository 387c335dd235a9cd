// Package promtool finds the promtool binary that scripts/install-tools.sh
// builds, so tests can check exposition and rules with the real thing.
package promtool

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// Path returns promtool's path: $PROMTOOL, the cache of
// scripts/install-tools.sh, or $PATH. It skips the test when there is
// none, and fails it under `make test` (CDC_INTEGRATION=1).
func Path(t testing.TB) string {
	t.Helper()
	return Tool(t, "promtool", "PROMTOOL")
}

// Tool finds a binary built by scripts/install-tools.sh.
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
	if testenv.Integration() {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode()&0o111 != 0
}
