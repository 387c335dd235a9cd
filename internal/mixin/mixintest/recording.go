package mixintest

import (
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// RecordingRules reads the names of the recording rules in the rule files
// dir/cdc-sentinel.*.yml: the series the dashboards may read besides the
// exported metrics.
func RecordingRules(dir string) (map[string]bool, error) {
	files, err := filepath.Glob(filepath.Join(dir, "cdc-sentinel.*.yml"))
	if err != nil {
		return nil, fmt.Errorf("listing rule files in %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no rule files cdc-sentinel.*.yml in %s", dir)
	}
	out := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading rule file: %w", err)
		}
		var rf struct {
			Groups []struct {
				Rules []struct {
					Record string `yaml:"record"`
				} `yaml:"rules"`
			} `yaml:"groups"`
		}
		if err := yaml.Unmarshal(b, &rf); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				if r.Record != "" {
					out[r.Record] = true
				}
			}
		}
	}
	return out, nil
}
