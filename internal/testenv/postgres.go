package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Postgres is a throwaway PostgreSQL cluster on loopback, for tests that
// need a server setting of their own (max_slot_wal_keep_size, say) that
// must not touch the shared pipeline's server, or that run without the
// pipeline. It runs as the postgres user when the tests run as root, as
// PostgreSQL refuses root.
type Postgres struct {
	Addr string // host:port
	Dir  string
	Bin  string // the directory holding initdb, pg_ctl and psql
}

// PostgresBin is the newest local PostgreSQL's bin directory, or "".
func PostgresBin() string {
	for _, v := range []string{"17", "16", "15", "14", "13"} {
		d := "/usr/lib/postgresql/" + v + "/bin"
		if _, err := os.Stat(d + "/initdb"); err == nil {
			return d
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

func asPostgres(name string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	}
	return exec.Command(name, args...)
}

// StartPostgres starts a private cluster, stopped and removed at the
// end of the test; settings are server settings ("wal_level=logical").
// It skips the test when no PostgreSQL binaries are installed.
func StartPostgres(t testing.TB, settings ...string) *Postgres {
	t.Helper()
	bin := PostgresBin()
	if bin == "" {
		t.Skip("no PostgreSQL binaries (initdb) found")
	}
	dir, err := os.MkdirTemp("", "cdc-test-pg-")
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		_ = exec.Command("chown", "postgres", dir).Run()
	}
	addr := FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	if out, err := asPostgres(bin+"/initdb", "-D", dir+"/data", "-U", "postgres", "--auth=trust", "-E", "UTF8").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	opts := fmt.Sprintf("-p %s -k %s -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off", port, dir)
	for _, s := range settings {
		opts += " -c " + s
	}
	start := asPostgres(bin+"/pg_ctl", "-D", dir+"/data", "-l", dir+"/log", "-w", "-o", opts, "start")
	if out, err := start.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(dir + "/log")
		t.Fatalf("starting PostgreSQL: %v\n%s\n%s", err, out, log)
	}
	t.Cleanup(func() {
		_ = asPostgres(bin+"/pg_ctl", "-D", dir+"/data", "-m", "immediate", "stop").Run()
		_ = os.RemoveAll(dir)
	})
	return &Postgres{Addr: addr, Dir: dir, Bin: bin}
}

// Psql runs sql in db as the superuser and fails the test on an error.
func (pg *Postgres) Psql(t testing.TB, db, sql string) {
	t.Helper()
	host, port, _ := net.SplitHostPort(pg.Addr)
	cmd := exec.Command(pg.Bin+"/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", port, "-U", "postgres", "-d", db, "-c", sql)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("psql %s: %v\n%s", strings.TrimSpace(sql), err, out)
	}
}

// DSN names db on the cluster through addr (the cluster's own address,
// or a proxy in front of it).
func PostgresDSN(addr, db string) string {
	return "postgres://postgres@" + addr + "/" + db + "?sslmode=disable&connect_timeout=5"
}
