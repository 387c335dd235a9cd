package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/doctor"
	"github.com/cdc-sentinel/cdc-sentinel/internal/server"
	"github.com/cdc-sentinel/cdc-sentinel/internal/wiring"
)

func addDoctor(a *kingpin.Application, g *globals) {
	cmd := a.Command("doctor", "Diagnose the pipeline from the configuration, the live Connect clusters, Kafka and the databases; print each problem with its fix."+exitHelp+" A finding at warning or above exits 1.")
	g.logFlags(cmd)
	output := new(string)
	outputFlag(cmd, output)
	cluster := cmd.Flag("connect-cluster", "Examine only this connect_clusters entry (default: all).").String()
	timeout := cmd.Flag("timeout", "Bound on the whole run.").Default("2m").Duration()
	// The serve flags that decide who can reach /alerts, given the same
	// values as serve has, so doctor judges the same exposure.
	var listen server.Listen
	var listenGiven bool
	cmd.Flag("web.listen-address", "The listen addresses serve runs with, to judge whether /alerts is reachable beyond this host.").Default(DefaultListenAddress).IsSetByUser(&listenGiven).StringsVar(&listen.Addresses)
	cmd.Flag("web.config.file", "The web config serve runs with, to judge whether /alerts requires authentication.").StringVar(&listen.WebConfigFile)
	g.handle(cmd, func() int { return runDoctor(g, *output, *cluster, *timeout, listen, listenGiven) })
}

func runDoctor(g *globals, output, clusterName string, timeout time.Duration, listen server.Listen, listenGiven bool) int {
	cfg, err := config.Load(g.configFile)
	if err != nil {
		fmt.Fprintf(g.stderr, "cdc-sentinel: %v\n", err)
		return 2
	}
	listen.DeleteOverHTTP = cfg.Reconcile.HTTPDeleteExtra
	exposure, err := server.AlertsExposureWarning(listen)
	if err != nil {
		fmt.Fprintf(g.stderr, "cdc-sentinel: %v\n", err)
		return 2
	}
	if exposure != "" && !listenGiven {
		// doctor cannot see how serve was started: say what it assumed,
		// so a server on another address is not judged by the default.
		exposure += fmt.Sprintf(" (judged for serve's default --web.listen-address=%s: give doctor the --web.listen-address and --web.config.file serve runs with)", DefaultListenAddress)
	}
	clusters := cfg.ConnectClusters
	if clusterName != "" {
		cc := cfg.ConnectCluster(clusterName)
		if cc == nil {
			fmt.Fprintf(g.stderr, "cdc-sentinel: %s: unknown connect cluster %q\n", g.configFile, clusterName)
			return 2
		}
		clusters = []config.ConnectCluster{*cc}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	d := &doctor.Doctor{Config: cfg, AlertsExposure: exposure}
	for _, cc := range clusters {
		c, err := connect.New(cc, connect.WithUserAgent("cdc-sentinel/"+version.Version))
		if err != nil {
			fmt.Fprintf(g.stderr, "cdc-sentinel: connect cluster %s: %v\n", cc.Name, err)
			return 2
		}
		d.Clusters = append(d.Clusters, doctor.Cluster{Name: cc.Name, Client: c})
	}
	sources, err := wiring.OpenSources(ctx, cfg, wiring.Deps{Logger: g.logger()})
	if err != nil {
		fmt.Fprintf(g.stderr, "cdc-sentinel: %v\n", err)
		return 2
	}
	defer sources.Close()
	d.Databases = sources.DBs
	if sources.Kafka != nil {
		d.Kafka = doctor.NewKafkaTopics(sources.Kafka)
	}
	if d.Topics, err = wiring.TopicReader(cfg, sources); err != nil {
		fmt.Fprintf(g.stderr, "cdc-sentinel: %v\n", err)
		return 2
	}

	report := d.Run(ctx)
	if output == "json" {
		err = report.WriteJSON(g.stdout)
	} else {
		err = report.WriteTable(g.stdout)
	}
	if err != nil {
		fmt.Fprintf(g.stderr, "cdc-sentinel: writing the report: %v\n", err)
		return exitFailed
	}
	return report.ExitCode()
}
