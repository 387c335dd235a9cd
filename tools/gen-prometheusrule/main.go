// Command gen-prometheusrule writes deploy/kubernetes/prometheusrule.yaml
// from rules/*.yml (see internal/gen/prometheusrule). Run it with
// `make generate`; deploy's tests fail while the output is stale.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/cdc-sentinel/cdc-sentinel/internal/gen/prometheusrule"
)

func main() {
	rules := flag.String("rules", "rules", "directory holding the Prometheus rule files")
	out := flag.String("out", "deploy/kubernetes/prometheusrule.yaml", "file to write")
	flag.Parse()
	data, err := prometheusrule.GenerateDir(*rules, prometheusrule.DefaultOptions)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gen-prometheusrule: %v\n", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "gen-prometheusrule: %v\n", err)
		os.Exit(1)
	}
}
