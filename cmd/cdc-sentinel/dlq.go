package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectaction"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/dlq"
	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
)

// dlqCmd holds what both `dlq` subcommands share.
type dlqCmd struct {
	g       *globals
	cluster string
}

func addDLQ(a *kingpin.Application, g *globals) {
	cmd := a.Command("dlq", "Look at a sink connector's dead-letter queue, and send its records back to their original topics once the cause is fixed."+exitHelp)
	dc := &dlqCmd{g: g}
	cmd.Flag("connect-cluster", "Name of the connect_clusters entry the connector runs on; required when several are configured.").StringVar(&dc.cluster)
	addDLQInspect(cmd, dc)
	addDLQReplay(cmd, dc)
}

func addDLQInspect(parent *kingpin.CmdClause, dc *dlqCmd) {
	cmd := parent.Command("inspect", "Show the newest records of a connector's DLQ topic: where each came from (original topic, partition, offset) and why it failed (stage, exception, message)."+exitHelp)
	name := cmd.Arg("connector", "Sink connector whose DLQ to read.").Required().String()
	limit := cmd.Flag("limit", "How many of the newest records to show.").Default("20").Int()
	var output string
	outputFlag(cmd, &output)
	dc.g.handle(cmd, func() int {
		if *limit < 1 {
			return dc.fail("inspect", usageErr{fmt.Errorf("--limit must be at least 1, not %d", *limit)})
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		t, err := dc.open(ctx, *name)
		if err != nil {
			return dc.fail("inspect", err)
		}
		defer t.kafka.Close()
		in, err := dlq.Inspect(ctx, t.kafka, *name, t.topic, *limit)
		if err != nil {
			return dc.fail("inspect", err)
		}
		if output == "json" {
			err = in.WriteJSON(dc.g.stdout)
		} else {
			err = in.WriteTable(dc.g.stdout)
		}
		if err != nil {
			return dc.fail("inspect", err)
		}
		return 0
	})
}

func addDLQReplay(parent *kingpin.CmdClause, dc *dlqCmd) {
	cmd := parent.Command("replay", "Send a connector's dead-lettered records back to their original topic and partition, once, so the sink retries them after a fix. "+
		"What was sent is remembered under --storage.path, so running it again sends only new records; a run cut short is finished by the next. "+
		"Records whose key has a newer record in the original topic are left out, so an older change never overwrites a newer one."+exitHelp)
	name := cmd.Arg("connector", "Sink connector whose DLQ to replay.").Required().String()
	from := cmd.Flag("from-offset", "Leave out DLQ records below this offset (in every partition).").Default("0").Int64()
	maxN := cmd.Flag("max", "Send at most this many records (0: all); run again to continue.").Default("0").Int()
	dry := cmd.Flag("dry-run", "Report what would be sent; send and remember nothing.").Bool()
	noCheck := cmd.Flag("no-superseded-check", "Send records even when their key has a newer record in the original topic (an older change may then overwrite a newer one).").Bool()
	delivery := cmd.Flag("delivery-timeout", "Longest wait for Kafka to acknowledge a batch of replayed records; past it the run fails, and what was not acknowledged is looked for by the next run.").Default(kafka.DefaultDeliveryTimeout.String()).Duration()
	scanMax := cmd.Flag("scan-max", "Most records of one original partition read to look for newer records of the same keys.").Default("1000000").Int64()
	progress := cmd.Flag("progress", "Progress bar on stderr: auto (only on a terminal), always or never.").Default("auto").Enum("auto", "always", "never")
	storage := cmd.Flag("storage.path", "Directory of local state; the replay ledger ("+dlq.LedgerFile+") is kept there. Use the same one for every replay of a connector.").Default("data/").String()
	var output string
	outputFlag(cmd, &output)
	dc.g.handle(cmd, func() int {
		switch {
		case *from < 0:
			return dc.fail("replay", usageErr{fmt.Errorf("--from-offset must be 0 or more, not %d", *from)})
		case *maxN < 0:
			return dc.fail("replay", usageErr{fmt.Errorf("--max must be 0 (all) or more, not %d", *maxN)})
		case *scanMax < 1:
			return dc.fail("replay", usageErr{fmt.Errorf("--scan-max must be at least 1, not %d", *scanMax)})
		case *delivery <= 0:
			return dc.fail("replay", usageErr{fmt.Errorf("--delivery-timeout must be more than 0, not %s", *delivery)})
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		t, err := dc.open(ctx, *name)
		if err != nil {
			return dc.fail("replay", err)
		}
		defer t.kafka.Close()
		prod, err := kafka.NewProducer(*t.cfg.Kafka, *delivery)
		if err != nil {
			return dc.fail("replay", err)
		}
		defer prod.Close()
		if err := os.MkdirAll(*storage, 0o750); err != nil {
			return dc.fail("replay", fmt.Errorf("storage path: %w", err))
		}
		ledger, err := dlq.OpenLedger(filepath.Join(*storage, dlq.LedgerFile))
		if err != nil {
			return dc.fail("replay", err)
		}
		defer ledger.Close()
		opts := dlq.ReplayOptions{FromOffset: *from, Max: *maxN, DryRun: *dry, CheckSuperseded: !*noCheck, ScanMax: *scanMax}
		bar := newProgressBar(*progress, dc.g.stderr)
		if bar != nil {
			opts.Progress = func(p dlq.Progress) { bar.draw(p.Phase, p.Done, p.Total, "") }
		}
		src := dlq.Source{Cluster: t.cluster, Connector: *name, Topic: t.topic}
		rep, err := dlq.NewReplayer(src, t.kafka, prod, ledger, opts).Run(ctx)
		bar.finish()
		if output == "json" {
			enc := json.NewEncoder(dc.g.stdout)
			enc.SetIndent("", "  ")
			_ = enc.Encode(rep)
		} else {
			rep.WriteText(dc.g.stdout)
		}
		if err != nil {
			if errors.Is(err, context.Canceled) {
				err = fmt.Errorf("interrupted (what was acknowledged is recorded; run again to finish the rest): %w", err)
			}
			return dc.fail("replay", err)
		}
		return 0
	})
}

// dlqTarget is a connector's DLQ and what reads it.
type dlqTarget struct {
	cfg     *config.Config
	cluster string
	topic   string
	kafka   *kafka.Client
}

// open finds the connector's DLQ topic on its Connect cluster and opens
// the configured Kafka cluster.
func (dc *dlqCmd) open(ctx context.Context, name string) (*dlqTarget, error) {
	if err := connectorkind.ValidateName(name); err != nil {
		return nil, usageErr{err}
	}
	cfg, err := config.Load(dc.g.configFile)
	if err != nil {
		return nil, err
	}
	if cfg.Kafka == nil {
		return nil, usageErr{fmt.Errorf("%s has no kafka section: the DLQ is read from Kafka", dc.g.configFile)}
	}
	cluster, err := cfg.PickConnectCluster(dc.cluster)
	if err != nil {
		return nil, usageErr{fmt.Errorf("%s: %w", dc.g.configFile, err)}
	}
	cc, err := connect.New(cluster, connect.WithUserAgent("cdc-sentinel/"+version.Version))
	if err != nil {
		return nil, err
	}
	connCfg, err := cc.Config(ctx, name)
	if errors.Is(err, connect.ErrNotFound) {
		// Answered as every command answers an unknown name: exit 2 with
		// the names the cluster has.
		if _, rerr := connectaction.NewOperator(cc, connectaction.Options{}).Resolve(ctx, []string{name}, false); errors.Is(rerr, connect.ErrNotFound) {
			return nil, usageErr{rerr}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("connector %s on connect cluster %s: %w", name, cluster.Name, err)
	}
	topic := connectorkind.New(name, "", connCfg).DLQTopic()
	if topic == "" {
		return nil, fmt.Errorf("connector %s has no dead-letter queue (it is not a sink, or %s is not set)", name, connectorkind.KeyDLQTopic)
	}
	kc, err := kafka.New(*cfg.Kafka)
	if err != nil {
		return nil, err
	}
	return &dlqTarget{cfg: cfg, cluster: cluster.Name, topic: topic, kafka: kc}, nil
}

// fail reports err: exit 2 for a bad command line or configuration, 1
// for an operation that did not succeed.
func (dc *dlqCmd) fail(sub string, err error) int {
	wrapped := fmt.Errorf("dlq %s: %w", sub, err)
	if errors.Is(err, config.ErrInvalid) || errors.Is(err, errUsage) {
		return dc.g.usageError(wrapped)
	}
	return dc.g.failed(wrapped)
}
