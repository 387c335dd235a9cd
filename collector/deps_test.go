package collector

import (
	"os/exec"
	"strings"
	"testing"
)

// The scrape path only reads: nothing it links may repair, signal or act
// on the pipeline. A dependency slipping in (a shared helper placed in
// the reconcile package, say) would put that code one call away from
// every scrape.
func TestScrapePathDoesNotLinkRepairCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	forbidden := []string{
		"github.com/cdc-sentinel/cdc-sentinel/internal/reconcile",
		"github.com/cdc-sentinel/cdc-sentinel/internal/connectaction",
		"github.com/cdc-sentinel/cdc-sentinel/remediate",
	}
	// The configuration checks a rule's action against the names of
	// the actions, which hold no code that acts.
	names := "github.com/cdc-sentinel/cdc-sentinel/internal/connectaction/actionkind"
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if (dep == f || strings.HasPrefix(dep, f+"/")) && dep != names {
				t.Errorf("the collector package links %s", dep)
			}
		}
	}
}
