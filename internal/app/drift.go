package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/collector"
	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/drift"
	"github.com/cdc-sentinel/cdc-sentinel/internal/reconcile"
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
	t.PlanOptions.Path = reconcile.TimePath(tc, ConnectorConfig(cfg, clusters))
	return t, nil
}

// ConnectorConfig reads connector configurations from the configured
// clusters; a table that names no cluster uses the first one.
func ConnectorConfig(cfg *config.Config, clusters map[string]*connect.Client) reconcile.ConnectorConfig {
	return func(ctx context.Context, cluster, name string) (map[string]string, error) {
		if cluster == "" && len(cfg.ConnectClusters) > 0 {
			cluster = cfg.ConnectClusters[0].Name
		}
		c := clusters[cluster]
		if c == nil {
			return nil, fmt.Errorf("no connect cluster %q configured", cluster)
		}
		return c.Config(ctx, name)
	}
}
