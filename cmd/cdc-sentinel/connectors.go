package main

import (
	"fmt"

	"github.com/alecthomas/kingpin/v2"
)

func addConnectors(a *kingpin.Application, g *globals) {
	cmd := a.Command("connectors", "Not yet available.").Hidden()
	g.handle(cmd, func() int {
		fmt.Fprintln(g.stderr, "cdc-sentinel: connectors is not available yet")
		return 1
	})
}
