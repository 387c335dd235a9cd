package main

import (
	"fmt"

	"github.com/alecthomas/kingpin/v2"
)

func addDoctor(a *kingpin.Application, g *globals) {
	cmd := a.Command("doctor", "Not yet available.").Hidden()
	g.handle(cmd, func() int {
		fmt.Fprintln(g.stderr, "cdc-sentinel: doctor is not available yet")
		return 1
	})
}
