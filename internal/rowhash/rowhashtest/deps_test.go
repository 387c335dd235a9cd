package rowhashtest

import (
	"os/exec"
	"strings"
	"testing"
)

// The binary computes every encoding in SQL: the Go reference is for
// tests alone and must never be linked into cdc-sentinel.
func TestTheBinaryDoesNotLinkTheReference(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/cdc-sentinel/cdc-sentinel/cmd/cdc-sentinel").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "github.com/cdc-sentinel/cdc-sentinel/internal/rowhash/rowhashtest" {
			t.Errorf("cmd/cdc-sentinel links %s", dep)
		}
	}
}
