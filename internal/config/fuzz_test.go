package config

import (
	"os"
	"path/filepath"
	"testing"
)

// Whatever a user writes, loading either succeeds or fails with an error:
// it never panics, and a successful load is valid on a second pass.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yml")
	files = append(files, "../../cdc-sentinel.example.yml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yml", data)
		if err != nil || cfg == nil {
			return
		}
		v := &validator{file: "again"}
		cfg.validate(v)
		if err := v.err(); err != nil {
			t.Fatalf("loaded config fails validation on a second pass: %v", err)
		}
	})
}
