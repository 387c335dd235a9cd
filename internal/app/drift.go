package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/collector"
	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/drift"
	"github.com/cdc-sentinel/cdc-sentinel/internal/reconcile"
	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
	"github.com/cdc-sentinel/cdc-sentinel/internal/tracing"
)

// BuildDrift builds the drift collector and the reconcile runner over
// the Runtime's shared pools. The runner is also a collector (the
// cdc_reconcile_* metrics), serves /api/v1/reconcile, and is what the
// remediator's reconcile action starts (via reconcile.BoolStarter).
func BuildDrift(cfg *config.Config, sources *Sources, clusters map[string]*connect.Client, logger *slog.Logger, tp *tracing.Provider) (*collector.DriftCollector, *reconcile.Runner, error) {
	var tables []reconcile.Table
	var sampled []drift.Table
	for _, tc := range cfg.Tables {
		t, err := ReconcileTable(cfg, tc, sources, clusters)
		if err != nil {
			return nil, nil, err
		}
		tables = append(tables, t)
		d := config.Drift{}
		if tc.Drift != nil {
			d = *tc.Drift
		}
		sampled = append(sampled, drift.Table{
			Name: tc.Name, Sides: t.Sides, PlanOptions: t.PlanOptions, Drift: d,
			Lag: sources.Lag.Func(tc),
		})
	}
	runner := reconcile.NewRunner(tables, reconcile.Options{Tracing: tp}, logger)
	return collector.NewDriftCollector(drift.NewSampler(sampled), cfg.Drift.Budget), runner, nil
}

// ReconcileTable is one configured table as drift and reconcile compare
// it, over sources' pools: temporal columns at the precision the source
// connector (read from clusters) lets through.
func ReconcileTable(cfg *config.Config, tc config.Table, sources *Sources, clusters map[string]*connect.Client) (reconcile.Table, error) {
	var kc *kgo.Client
	if sources.Kafka != nil {
		kc = sources.Kafka.Kgo()
	}
	t, err := reconcile.TableFromConfig(tc, sources.DBs, kc)
	if err != nil {
		return reconcile.Table{}, fmt.Errorf("table %s: %w", tc.Name, err)
	}
	t.PlanOptions.Path = reconcile.TimePath(tc, SourceConfig(cfg, sources.DBs, clusters))
	return t, nil
}

// SourceConfig reads the live configuration of a table's source
// connector: the one its signal.connector names (on signal.connect_cluster,
// else the first cluster), else the Debezium source found capturing the
// table on the configured clusters. The found connector is remembered
// per table and looked for again only when it is gone, so a drift sample
// costs one configuration read, as with a named connector.
func SourceConfig(cfg *config.Config, dbs map[string]*database.DB, clusters map[string]*connect.Client) reconcile.SourceConfig {
	f := &sourceFinder{cfg: cfg, dbs: dbs, clusters: clusters, found: map[string]foundSource{}}
	return f.config
}

type foundSource struct{ cluster, name string }

type sourceFinder struct {
	cfg      *config.Config
	dbs      map[string]*database.DB
	clusters map[string]*connect.Client

	mu    sync.Mutex
	found map[string]foundSource
}

func (f *sourceFinder) config(ctx context.Context, t config.Table) (string, map[string]string, error) {
	if t.Signal != nil && t.Signal.Connector != "" {
		c, err := f.read(ctx, t.Signal.ConnectCluster, t.Signal.Connector)
		if err != nil {
			return "", nil, fmt.Errorf("source connector %s: %w", t.Signal.Connector, err)
		}
		return t.Signal.Connector, c, nil
	}
	f.mu.Lock()
	known, ok := f.found[t.Name]
	f.mu.Unlock()
	if ok {
		c, err := f.read(ctx, known.cluster, known.name)
		if err == nil {
			return known.name, c, nil
		}
		if !errors.Is(err, connect.ErrNotFound) {
			return "", nil, fmt.Errorf("source connector %s: %w", known.name, err)
		}
	}
	src, c, err := f.find(ctx, t)
	if err != nil || src.name == "" {
		return "", nil, err
	}
	f.mu.Lock()
	f.found[t.Name] = src
	f.mu.Unlock()
	return src.name, c, nil
}

func (f *sourceFinder) read(ctx context.Context, cluster, name string) (map[string]string, error) {
	if cluster == "" && len(f.cfg.ConnectClusters) > 0 {
		cluster = f.cfg.ConnectClusters[0].Name
	}
	c := f.clusters[cluster]
	if c == nil {
		return nil, fmt.Errorf("no connect cluster %q configured", cluster)
	}
	return c.Config(ctx, name)
}

// find looks for the sources capturing t on every configured cluster.
// Two that disagree on time.precision.mode cannot both be right about
// the table's values: the user must name one.
func (f *sourceFinder) find(ctx context.Context, t config.Table) (foundSource, map[string]string, error) {
	db := f.dbs[t.Source.Database]
	if db == nil {
		return foundSource{}, nil, nil
	}
	all := make([]*database.DB, 0, len(f.dbs))
	for _, name := range slices.Sorted(maps.Keys(f.dbs)) {
		all = append(all, f.dbs[name])
	}
	var (
		hits  []foundSource
		cfgs  []map[string]string
		modes = map[string]bool{}
	)
	for _, cc := range f.cfg.ConnectClusters {
		client := f.clusters[cc.Name]
		if client == nil {
			continue
		}
		conns, err := client.Connectors(ctx)
		if err != nil {
			return foundSource{}, nil, fmt.Errorf("looking for the source connector of table %s: %w", t.Name, err)
		}
		for _, conn := range conns {
			k := connectorkind.New(conn.Name(), conn.Type(), conn.Info.Config)
			if k.CapturesTable(all, db, t.Source.Table) {
				hits = append(hits, foundSource{cluster: cc.Name, name: k.Name})
				cfgs = append(cfgs, conn.Info.Config)
				modes[k.Get("time.precision.mode", rowhash.ModeAdaptive)] = true
			}
		}
	}
	switch {
	case len(hits) == 0:
		return foundSource{}, nil, nil
	case len(modes) > 1:
		names := make([]string, len(hits))
		for i, h := range hits {
			names[i] = h.cluster + "/" + h.name
		}
		return foundSource{}, nil, fmt.Errorf("table %s is captured by %s with different time.precision.mode settings: name its source in tables[].signal.connector", t.Name, strings.Join(names, ", "))
	}
	return hits[0], cfgs[0], nil
}
