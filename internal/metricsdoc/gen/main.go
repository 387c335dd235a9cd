// Command gen rewrites docs/metrics.md from the code. Run from the
// repository root: go run ./internal/metricsdoc/gen
package main

import (
	"fmt"
	"os"

	"github.com/cdc-sentinel/cdc-sentinel/internal/metricsdoc"
)

func main() {
	if err := metricsdoc.WriteFile(".", "docs/metrics.md"); err != nil {
		fmt.Fprintln(os.Stderr, "metricsdoc:", err)
		os.Exit(1)
	}
}
