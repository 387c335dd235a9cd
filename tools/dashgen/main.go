// Command dashgen writes cdc-sentinel's Grafana dashboards into
// dashboards/ from their Go definitions in internal/dashboards. Run it from
// the repository root after changing them: go run ./tools/dashgen
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/cdc-sentinel/cdc-sentinel/internal/dashboards"
)

func main() {
	dir := flag.String("out", "dashboards", "directory to write the dashboards into")
	flag.Parse()
	if err := dashboards.Write(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "dashgen:", err)
		os.Exit(1)
	}
}
