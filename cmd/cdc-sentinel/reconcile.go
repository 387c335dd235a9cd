package main

import (
	"fmt"

	"github.com/alecthomas/kingpin/v2"
)

func addReconcile(a *kingpin.Application, g *globals) {
	cmd := a.Command("reconcile", "Not yet available.").Hidden()
	g.handle(cmd, func() int {
		fmt.Fprintln(g.stderr, "cdc-sentinel: reconcile is not available yet")
		return 1
	})
}
