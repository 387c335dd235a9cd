// Command cdc-sentinel watches and heals a Debezium change-data-capture
// pipeline. This package only parses flags and wires the parts together.
package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"

	"github.com/cdc-sentinel/cdc-sentinel/internal/dsn"
)

// DefaultListenAddress sits outside 9100-9999, the exporter port range
// that Prometheus's default-port allocations page has used up.
const DefaultListenAddress = ":19641"

// Exit codes, the same for every command.
const (
	exitOK = 0
	// exitFailed: findings (doctor, reconcile differences, invalid
	// connector files) or an operation that did not succeed.
	exitFailed = 1
	// exitUsage: a bad command line or a bad configuration file.
	exitUsage = 2
)

// exitHelp ends every command's help.
const exitHelp = " Exit status: 0 fine, 1 findings or the operation failed, 2 usage or configuration error."

// globals are the flags every command shares.
type globals struct {
	configFile string
	logConfig  promslog.Config
	stdout     io.Writer
	stderr     io.Writer
	// handlers maps a full command name ("connectors list") to its run
	// function, which returns the exit code.
	handlers map[string]func() int
}

func (g *globals) handle(cmd *kingpin.CmdClause, run func() int) {
	g.handlers[cmd.FullCommand()] = run
}

// usageError reports a bad command line or configuration: exit 2.
func (g *globals) usageError(err error) int {
	fmt.Fprintf(g.stderr, "cdc-sentinel: %s\n", dsn.Redact(err.Error()))
	return exitUsage
}

// failed reports an operation that did not succeed: exit 1.
func (g *globals) failed(err error) int {
	fmt.Fprintf(g.stderr, "cdc-sentinel: %s\n", dsn.Redact(err.Error()))
	return exitFailed
}

// outputFlag adds -o/--output, the same on every command with output.
func outputFlag(cmd *kingpin.CmdClause, dst *string) {
	cmd.Flag("output", "Output format: table (for people) or json (everything, for programs).").Short('o').Default("table").EnumVar(dst, "table", "json")
}

// logFlags adds --log.level and --log.format to a command that logs.
// Every command sets the same values: only one runs.
func (g *globals) logFlags(cmd *kingpin.CmdClause) {
	cmd.Flag(promslogflag.LevelFlagName, promslogflag.LevelFlagHelp).
		Default("info").HintOptions(promslog.LevelFlagOptions...).SetValue(g.logConfig.Level)
	cmd.Flag(promslogflag.FormatFlagName, promslogflag.FormatFlagHelp).
		Default("logfmt").HintOptions(promslog.FormatFlagOptions...).SetValue(g.logConfig.Format)
}

func (g *globals) logger() *slog.Logger {
	cfg := g.logConfig
	cfg.Writer = g.stderr
	// Every line, whatever logged it, is redacted before it is written.
	return slog.New(dsn.RedactingHandler(promslog.New(&cfg).Handler()))
}

// commandAdders register the subcommands; each lives in a file of its own.
var commandAdders = []func(*kingpin.Application, *globals){
	addServe,
	addCheckConfig,
	addConnectors,
	addReconcile,
	addDoctor,
	addDLQ,
}

func main() {
	stampVersion(debug.ReadBuildInfo())
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// newApp builds the command line, every command registered; run parses
// and executes it, the docs check only parses it.
func newApp(stdout, stderr io.Writer) (*kingpin.Application, *globals) {
	app := kingpin.New("cdc-sentinel", "Watches and heals a Debezium CDC pipeline: a Prometheus exporter, an Alertmanager webhook remediator and a set of operations commands."+exitHelp)
	app.UsageWriter(stdout)
	app.ErrorWriter(stderr)
	app.Version(version.Print("cdc-sentinel"))
	app.HelpFlag.Short('h')
	g := &globals{stdout: stdout, stderr: stderr, logConfig: promslog.Config{Level: promslog.NewLevel(), Format: promslog.NewFormat()}, handlers: map[string]func() int{}}
	app.Flag("config.file", "cdc-sentinel configuration file.").Default("cdc-sentinel.yml").StringVar(&g.configFile)
	for _, add := range commandAdders {
		add(app, g)
	}
	return app, g
}

func run(args []string, stdout, stderr io.Writer) int {
	app, g := newApp(stdout, stderr)
	exit := -1
	app.Terminate(func(code int) { exit = code })
	cmd, err := app.Parse(args)
	if exit >= 0 {
		return exit
	}
	if err != nil {
		fmt.Fprintf(stderr, "cdc-sentinel: error: %v, try --help\n", err)
		return exitUsage
	}
	run, ok := g.handlers[cmd]
	if !ok {
		fmt.Fprintf(stderr, "cdc-sentinel: error: command %q has nothing to run, try --help\n", cmd)
		return exitUsage
	}
	return run()
}
