package main

import (
	"fmt"

	"github.com/alecthomas/kingpin/v2"

	"github.com/cdc-sentinel/cdc-sentinel/internal/doctor"
)

// addConnectorsValidate registers `connectors validate FILE...` under the
// `connectors` command: each file is validated by the live worker of the
// cluster chosen with --connect-cluster, plus the checks the worker does
// not make.
func addConnectorsValidate(parent *kingpin.CmdClause, g *globals, cc *connectorsCmd) {
	cmd := parent.Command("validate", "Validate connector configuration files (the JSON of POST /connectors, or its config object) on the live worker; print every field error with its field name."+exitHelp+" A file that is not valid is a finding (1).")
	var output string
	outputFlag(cmd, &output)
	files := cmd.Arg("file", "Connector configuration files.").Required().Strings()
	g.handle(cmd, func() int {
		client, err := cc.client()
		if err != nil {
			fmt.Fprintf(g.stderr, "cdc-sentinel: %v\n", err)
			return 2
		}
		ctx, cancel := cc.context()
		defer cancel()
		results := doctor.ValidateFiles(ctx, client, *files)
		if output == "json" {
			err = doctor.WriteValidationJSON(g.stdout, results)
		} else {
			err = doctor.WriteValidationTable(g.stdout, results)
		}
		if err != nil {
			fmt.Fprintf(g.stderr, "cdc-sentinel: writing the results: %v\n", err)
			return 2
		}
		return doctor.ValidationExitCode(results)
	})
}
