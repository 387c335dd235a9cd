package main

import (
	"fmt"

	"github.com/alecthomas/kingpin/v2"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
)

func addCheckConfig(a *kingpin.Application, g *globals) {
	cmd := a.Command("check-config", "Validate the configuration file and exit: 0 when valid, 1 with every error and its line otherwise.")
	g.handle(cmd, func() int {
		cfg, err := config.Load(g.configFile)
		if err != nil {
			fmt.Fprintln(g.stderr, err)
			return 1
		}
		fmt.Fprintf(g.stdout, "%s: valid (%d connect clusters, %d databases, %d tables, %d remediation rules)\n",
			g.configFile, len(cfg.ConnectClusters), len(cfg.Databases), len(cfg.Tables), len(cfg.Remediation.Rules))
		return 0
	})
}
