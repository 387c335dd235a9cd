// Command mixin renders the monitoring mixin (mixin/) into rules/,
// dashboards/ and deploy/kubernetes/prometheusrule.yaml. Run it with
// `make generate` from the repository root; tests fail while the
// committed files differ from what it writes.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/cdc-sentinel/cdc-sentinel/internal/mixin"
)

func main() {
	root := flag.String("root", ".", "repository root (holds mixin/)")
	flag.Parse()
	files, err := mixin.Render(*root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mixin:", err)
		os.Exit(1)
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		full := filepath.Join(*root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "mixin:", err)
			os.Exit(1)
		}
		if err := os.WriteFile(full, files[p], 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "mixin:", err)
			os.Exit(1)
		}
	}
}
