package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const unitFile = "systemd/cdc-sentinel.service"

// buildBinary builds cdc-sentinel for the tests that run it as the unit
// would.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "cdc-sentinel")
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/cdc-sentinel")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building cdc-sentinel: %v\n%s", err, out)
	}
	return bin
}

// TestSystemdUnit builds the binary once for the checks that run it as
// the unit would.
func TestSystemdUnit(t *testing.T) {
	dir := t.TempDir()
	// The service's user must reach the binary and the files below.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := buildBinary(t, dir)
	t.Run("verifies", func(t *testing.T) { unitVerifies(t, bin) })
	t.Run("reads its config and credentials as its user", func(t *testing.T) { unitReadsAsItsUser(t, bin, dir) })
}

func unitVerifies(t *testing.T, bin string) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	dir := t.TempDir()
	unit, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	// verify checks that ExecStart's program exists: point it at the one
	// just built, and change nothing else.
	path := filepath.Join(dir, "cdc-sentinel.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/cdc-sentinel", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", path).CombinedOutput(); err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// The unit runs as a user allocated at start (DynamicUser=), which is
// neither root nor in root's group. This runs check-config as such a
// user, with the configuration installed as the unit's comments say and a
// credential laid out as systemd lays out LoadCredential= files: a
// directory owned by the service user, the file readable by it alone.
func unitReadsAsItsUser(t *testing.T, bin, root string) {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and setpriv to run as another user")
	}
	unit, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^DynamicUser=yes$`).Match(unit) {
		t.Fatal("the unit no longer runs as a dynamic user: this test no longer describes it")
	}
	m := regexp.MustCompile(`install -m (0[0-7]{3}) -D cdc-sentinel\.yml /etc/cdc-sentinel/cdc-sentinel\.yml`).FindSubmatch(unit)
	if m == nil {
		t.Fatal("the unit's comments no longer say how the configuration is installed")
	}
	mode, _ := strconv.ParseUint(string(m[1]), 8, 32)

	const uid = 61234 // systemd allocates dynamic users from 61184–65519
	creds := filepath.Join(root, "credentials")
	if err := os.Mkdir(creds, 0o500); err != nil {
		t.Fatal(err)
	}
	dsnFile := filepath.Join(creds, "source-dsn")
	if err := os.WriteFile(dsnFile, []byte("postgres://u:p@127.0.0.1:5432/db\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dsnFile, creds} {
		if err := os.Chown(p, uid, uid); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(root, "cdc-sentinel.yml")
	if err := os.WriteFile(cfg, []byte(`databases:
  - name: source
    driver: postgres
    dsn_file: ${CREDENTIALS_DIRECTORY}/source-dsn
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(cfg, os.FileMode(mode)); err != nil { // as installed: root-owned, the unit's mode
		t.Fatal(err)
	}

	cmd := exec.Command(setpriv, "--reuid="+strconv.Itoa(uid), "--regid="+strconv.Itoa(uid), "--clear-groups",
		bin, "check-config", "--config.file="+cfg)
	cmd.Env = []string{"CREDENTIALS_DIRECTORY=" + creds, "PATH=/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("check-config as the unit's user: %v\n%s", err, out)
	}
}
