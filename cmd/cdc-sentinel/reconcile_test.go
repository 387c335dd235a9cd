package main

import (
	"strings"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// Flag mistakes are usage errors (exit 2), reported before the
// configuration is even read.
func TestReconcileRejectsBadFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--delete-extra"}, "--delete-extra needs --repair"},
		{[]string{"--wait"}, "--wait needs --repair"},
		{[]string{"--scan-parallel=-1"}, "--scan-parallel must be 0 (automatic) or a number of queries per side, not -1"},
		{[]string{"--repair", "--delete-extra", "--max-deletes=-1"}, "--max-deletes must be a number of rows (0: the table's repair.max_deletes), not -1"},
		{[]string{"--dry-run"}, "--dry-run needs --repair"},
		{[]string{"--repair", "--dry-run", "--wait"}, "--dry-run sends nothing to wait for"},
		{[]string{"--timeout=-1s"}, "--timeout must be positive, or 0 for reconcile.timeout, not -1s"},
	}
	for _, tc := range cases {
		args := append([]string{"reconcile", "--config.file=/nonexistent.yml", "--table=t"}, tc.args...)
		_, stderr, code := runBinary(t, args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

// A source database that accepts connections and never answers makes
// the command exit 1 within its query_timeout, naming the database,
// instead of running until killed.
func TestReconcileExitsOnAHungSource(t *testing.T) {
	addr, _ := testenv.HungListener(t)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yml", `databases:
  - {name: src, driver: postgres, dsn: "postgres://u:p@`+addr+`/inventory?sslmode=disable", query_timeout: 300ms}
  - {name: tgt, driver: postgres, dsn: "postgres://u:p@`+addr+`/sink?sslmode=disable", query_timeout: 300ms}
tables:
  - {name: t, source: {database: src, table: public.t}, target: {database: tgt, table: public.t}, key: [id]}
`)
	_, stderr, code := runBinary(t, "reconcile", "--config.file="+cfg, "--table=t", "--progress=never")
	if code != 1 || !strings.Contains(stderr, "database src") || !strings.Contains(stderr, "timed out") {
		t.Errorf("exit %d, stderr %q; want 1 naming database src and the timeout", code, stderr)
	}
}
