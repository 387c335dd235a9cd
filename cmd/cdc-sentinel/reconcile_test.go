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
		{[]string{"--repair", "--delete-extra", "--max-deletes=0"}, "--max-deletes must be at least 1, not 0"},
	}
	for _, tc := range cases {
		args := append([]string{"reconcile", "--config.file=/nonexistent.yml", "--table=t"}, tc.args...)
		_, stderr, code := runBinary(t, args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}
