package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/ops"
)

// connectorsCmd holds what every `connectors` subcommand shares. The
// subcommands live here, except `validate`, which connectors_validate.go
// registers through addConnectorsValidate.
type connectorsCmd struct {
	g       *globals
	cluster string
	timeout time.Duration
}

func addConnectors(a *kingpin.Application, g *globals) {
	cmd := a.Command("connectors", "Operate Kafka Connect connectors: list them, pause, resume, restart, stop or scale them, each change verified by reading the status back.")
	cc := &connectorsCmd{g: g}
	cmd.Flag("connect-cluster", "Name of the connect_clusters entry to act on; required when several are configured.").StringVar(&cc.cluster)
	cmd.Flag("timeout", "How long to wait for each connector to reach the wanted state.").Default("60s").DurationVar(&cc.timeout)

	addConnectorsList(cmd, cc)
	for _, action := range ops.Actions {
		addConnectorsAction(cmd, cc, action)
	}
	addConnectorsScale(cmd, cc)
	addConnectorsValidate(cmd, g, cc)
}

// context is cancelled on Ctrl-C, so an interrupted wait still reports
// where each connector got to.
func (cc *connectorsCmd) context() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// config loads the configuration file.
func (cc *connectorsCmd) config() (*config.Config, error) {
	return config.Load(cc.g.configFile)
}

// client builds a client for the chosen cluster.
func (cc *connectorsCmd) client() (*connect.Client, error) {
	cfg, err := cc.config()
	if err != nil {
		return nil, err
	}
	cluster, err := ops.PickCluster(cfg, cc.cluster)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cc.g.configFile, err)
	}
	return connect.New(cluster, connect.WithUserAgent("cdc-sentinel/"+version.Version))
}

func (cc *connectorsCmd) operator() (*ops.Operator, error) {
	c, err := cc.client()
	if err != nil {
		return nil, err
	}
	opts := ops.DefaultOptions
	opts.Timeout = cc.timeout
	return ops.New(c, opts), nil
}

func (cc *connectorsCmd) fail(err error) int {
	fmt.Fprintf(cc.g.stderr, "cdc-sentinel: %v\n", err)
	return 1
}

func addConnectorsList(parent *kingpin.CmdClause, cc *connectorsCmd) {
	cmd := parent.Command("list", "List connectors with their tasks, states and workers.")
	output := cmd.Flag("output", "Output format: table or json.").Short('o').Default("table").Enum("table", "json")
	cc.g.handle(cmd, func() int {
		c, err := cc.client()
		if err != nil {
			return cc.fail(err)
		}
		ctx, stop := cc.context()
		defer stop()
		l, err := ops.List(ctx, c)
		if err != nil {
			return cc.fail(err)
		}
		if *output == "json" {
			err = l.WriteJSON(cc.g.stdout)
		} else {
			err = l.WriteTable(cc.g.stdout)
		}
		if err != nil {
			return cc.fail(err)
		}
		return 0
	})
}

func addConnectorsAction(parent *kingpin.CmdClause, cc *connectorsCmd, action ops.Action) {
	verb := strings.ToUpper(string(action[:1])) + string(action[1:])
	help := fmt.Sprintf("%s connectors, then wait for %s.", verb, action.Wants())
	cmd := parent.Command(string(action), help)
	names := cmd.Arg("name", "Connectors to act on.").Strings()
	all := cmd.Flag("all", "Act on every connector of the cluster.").Bool()
	var onlyFailed *bool
	if action == ops.Restart {
		onlyFailed = cmd.Flag("only-failed", "Restart only the FAILED connector instance and tasks (includeTasks=true&onlyFailed=true).").Bool()
	}
	cc.g.handle(cmd, func() int {
		c, err := cc.client()
		if err != nil {
			return cc.fail(err)
		}
		opts := ops.DefaultOptions
		opts.Timeout = cc.timeout
		if onlyFailed != nil {
			opts.OnlyFailed = *onlyFailed
		}
		op := ops.New(c, opts)
		ctx, stop := cc.context()
		defer stop()
		targets, err := op.Resolve(ctx, *names, *all)
		if err != nil {
			return cc.fail(err)
		}
		if len(targets) == 0 {
			fmt.Fprintf(cc.g.stdout, "no connectors on connect cluster %s\n", c.Name())
			return 0
		}
		code := 0
		for _, r := range op.Do(ctx, action, targets) {
			if r.OK {
				fmt.Fprintln(cc.g.stdout, r)
			} else {
				fmt.Fprintf(cc.g.stderr, "cdc-sentinel: %s %s\n", action, r)
				code = 1
			}
		}
		return code
	})
}

func addConnectorsScale(parent *kingpin.CmdClause, cc *connectorsCmd) {
	cmd := parent.Command("scale", "Set a connector's tasks.max, leaving the rest of its configuration unchanged, and wait until the worker runs the new tasks.")
	name := cmd.Arg("name", "Connector to scale.").Required().String()
	tasks := cmd.Flag("tasks", "New tasks.max (at least 1).").Required().Int()
	force := cmd.Flag("force", "Set tasks.max even above what the connector can run (one task per database for the SQL Server source, at most 8; one for the other Debezium sources; 32 for a JDBC sink into PostgreSQL).").Bool()
	cc.g.handle(cmd, func() int {
		if *tasks < 1 {
			return cc.fail(fmt.Errorf("--tasks must be at least 1, got %d", *tasks))
		}
		op, err := cc.operator()
		if err != nil {
			return cc.fail(err)
		}
		ctx, stop := cc.context()
		defer stop()
		res, err := op.Scale(ctx, *name, *tasks, *force)
		if err != nil {
			return cc.fail(err)
		}
		for _, w := range res.Warnings {
			fmt.Fprintf(cc.g.stderr, "cdc-sentinel: warning: %s\n", w)
		}
		switch {
		case res.Unchanged:
			fmt.Fprintf(cc.g.stdout, "%s: tasks.max is already %d, nothing to do\n", *name, *tasks)
		case res.OK:
			fmt.Fprintf(cc.g.stdout, "%s: tasks.max %s -> %d: %s\n", *name, res.Previous, *tasks, res.Result)
		default:
			fmt.Fprintf(cc.g.stderr, "cdc-sentinel: scale %s\n", res.Result)
			return 1
		}
		return 0
	})
}
