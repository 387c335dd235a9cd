package main

import (
	"strings"
	"testing"
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
	}
	for _, tc := range cases {
		args := append([]string{"reconcile", "--config.file=/nonexistent.yml", "--table=t"}, tc.args...)
		_, stderr, code := runBinary(t, args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}
