package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/alecthomas/kingpin/v2"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/dsn"
)

// checkResult is check-config's JSON output.
type checkResult struct {
	File   string         `json:"file"`
	Valid  bool           `json:"valid"`
	Errors []checkProblem `json:"errors"`
	// Counts of what a valid file configures.
	ConnectClusters  int `json:"connect_clusters"`
	Databases        int `json:"databases"`
	Tables           int `json:"tables"`
	RemediationRules int `json:"remediation_rules"`
}

type checkProblem struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
	// Error is the whole line as the table output prints it.
	Error string `json:"error"`
}

func addCheckConfig(a *kingpin.Application, g *globals) {
	cmd := a.Command("check-config", "Validate the configuration file, and the DSN files it names, and exit; print every error with its line and key path."+exitHelp+" An invalid file is a configuration error (2).")
	var output string
	outputFlag(cmd, &output)
	g.handle(cmd, func() int {
		cfg, err := config.Load(g.configFile)
		if err == nil {
			// The DSN files too, parsed as serve will parse them.
			var data []byte
			if data, err = os.ReadFile(g.configFile); err == nil {
				err = config.CheckFiles(g.configFile, data, cfg)
			}
		}
		res := checkResult{File: g.configFile, Valid: err == nil, Errors: []checkProblem{}}
		if err != nil {
			res.Errors = problems(g.configFile, err)
		} else {
			res.ConnectClusters, res.Databases, res.Tables, res.RemediationRules = len(cfg.ConnectClusters), len(cfg.Databases), len(cfg.Tables), len(cfg.Remediation.Rules)
		}
		if output == "json" {
			enc := json.NewEncoder(g.stdout)
			enc.SetIndent("", "  ")
			if werr := enc.Encode(res); werr != nil {
				return g.failed(werr)
			}
		} else if err != nil {
			fmt.Fprintln(g.stderr, dsn.Redact(err.Error()))
		} else {
			fmt.Fprintf(g.stdout, "%s: valid (%d connect clusters, %d databases, %d tables, %d remediation rules)\n",
				g.configFile, res.ConnectClusters, res.Databases, res.Tables, res.RemediationRules)
		}
		if err != nil {
			return exitUsage
		}
		return exitOK
	})
}

// problems splits a load error into its located parts.
func problems(file string, err error) []checkProblem {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	out := make([]checkProblem, 0, len(errs))
	for _, e := range errs {
		var ce *config.Error
		if errors.As(e, &ce) {
			out = append(out, checkProblem{File: ce.File, Line: ce.Line, Path: ce.Path, Message: ce.Msg, Error: ce.Error()})
		} else {
			msg := dsn.Redact(e.Error())
			out = append(out, checkProblem{File: file, Message: msg, Error: msg})
		}
	}
	return out
}
