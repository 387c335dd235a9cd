// Command cdc-sentinel watches and heals a Debezium change-data-capture
// pipeline. This package only parses flags and wires the parts together.
package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
)

// DefaultListenAddress sits outside 9100-9999, the exporter port range
// that Prometheus's default-port allocations page has used up.
const DefaultListenAddress = ":19641"

// globals are the flags every command shares.
type globals struct {
	configFile  string
	storagePath string
	logConfig   promslog.Config
	stdout      io.Writer
	stderr      io.Writer
	// handlers maps a full command name ("connectors list") to its run
	// function, which returns the exit code.
	handlers map[string]func() int
}

func (g *globals) handle(cmd *kingpin.CmdClause, run func() int) {
	g.handlers[cmd.FullCommand()] = run
}

func (g *globals) logger() *slog.Logger {
	cfg := g.logConfig
	cfg.Writer = g.stderr
	return promslog.New(&cfg)
}

// commandAdders register the subcommands; each lives in a file of its own.
var commandAdders = []func(*kingpin.Application, *globals){
	addServe,
	addCheckConfig,
	addConnectors,
	addReconcile,
	addDoctor,
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	app := kingpin.New("cdc-sentinel", "Watches and heals a Debezium CDC pipeline: a Prometheus exporter, an Alertmanager webhook remediator and a set of operations commands.")
	app.UsageWriter(stdout)
	app.ErrorWriter(stderr)
	app.Version(version.Print("cdc-sentinel"))
	app.HelpFlag.Short('h')
	g := &globals{stdout: stdout, stderr: stderr, logConfig: promslog.Config{}, handlers: map[string]func() int{}}
	app.Flag("config.file", "cdc-sentinel configuration file.").Default("cdc-sentinel.yml").StringVar(&g.configFile)
	app.Flag("storage.path", "Directory for local state (remediation episodes, audit log).").Default("data/").StringVar(&g.storagePath)
	promslogflag.AddFlags(app, &g.logConfig)
	for _, add := range commandAdders {
		add(app, g)
	}
	exit := -1
	app.Terminate(func(code int) { exit = code })
	cmd, err := app.Parse(args)
	if exit >= 0 {
		return exit
	}
	if err != nil {
		fmt.Fprintf(stderr, "cdc-sentinel: error: %v, try --help\n", err)
		return 2
	}
	run, ok := g.handlers[cmd]
	if !ok {
		fmt.Fprintf(stderr, "cdc-sentinel: error: command %q has nothing to run, try --help\n", cmd)
		return 2
	}
	return run()
}
