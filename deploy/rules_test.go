package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/gen/prometheusrule"
)

// ruleFiles lists the rule files directly in dir (*.yml, *.yaml), sorted;
// tests and other subdirectories are not rule files. The generator builds
// the PrometheusRule from the mixin's output; reading what rules/ holds on
// disk instead lets TestPrometheusRuleIsUpToDate catch a rule file written
// by hand and left out.
func ruleFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading rules directory: %w", err)
	}
	var files []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || (!strings.HasSuffix(n, ".yml") && !strings.HasSuffix(n, ".yaml")) {
			continue
		}
		files = append(files, filepath.Join(dir, n))
	}
	sort.Strings(files)
	return files, nil
}

// generateFromDir generates the PrometheusRule from every rule file in dir.
func generateFromDir(dir string, opts prometheusrule.Options) ([]byte, error) {
	files, err := ruleFiles(dir)
	if err != nil {
		return nil, err
	}
	srcs := make([]prometheusrule.Source, 0, len(files))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading rule file: %w", err)
		}
		srcs = append(srcs, prometheusrule.Source{Name: filepath.ToSlash(f), Data: data})
	}
	return prometheusrule.Generate(srcs, opts)
}

func TestRuleFilesSkipsTestsAndOtherFiles(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"b.yml", "a.yaml", "rules_test.go", "README.md", "tests/x_test.yml"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("groups: []\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files, err := ruleFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || filepath.Base(files[0]) != "a.yaml" || filepath.Base(files[1]) != "b.yml" {
		t.Errorf("rule files %v, want a.yaml, b.yml", files)
	}
	if _, err := ruleFiles(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "reading rules directory") {
		t.Errorf("missing directory gave %v", err)
	}
}
