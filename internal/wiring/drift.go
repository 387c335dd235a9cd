package wiring

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/collector"
	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/drift"
	"github.com/cdc-sentinel/cdc-sentinel/internal/reconcile"
	"github.com/cdc-sentinel/cdc-sentinel/internal/schemadrift"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/tracing"
)

// BuildDrift builds the drift collector and the reconcile runner over
// the Runtime's shared pools. The runner is read by the reconcile
// collector (the cdc_reconcile_* metrics), serves /api/v1/reconcile, and is what the
// remediator's reconcile action starts (via reconcile.BoolStarter).
// Its runs are kept in deps.Reconciles (not nil), across reloads.
func BuildDrift(cfg *config.Config, sources *Sources, clusters map[string]*connect.Client, deps Deps, tp *tracing.Provider) (*collector.DriftCollector, *reconcile.Runner, error) {
	logger := deps.Logger
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
			Wait: sources.Lag.RecheckWaitFunc(tc),
		})
	}
	runner := deps.Reconciles.Runner(tables, reconcile.Options{Tracing: tp}, reconcile.LimitsFromConfig(cfg.Reconcile), logger)
	return collector.NewDriftCollector(drift.NewSampler(sampled, logger), cfg.Drift.Budget), runner, nil
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
	src := reconcile.SourceConfig(connectorkind.SourceConfig(cfg, sources.DBs, clusters))
	path, zone := reconcile.TimePath(tc, src), SinkTimeZone(cfg, tc, sources.DBs, clusters, src)
	t.PlanOptions.Path = func(ctx context.Context) (sqldialect.Path, error) {
		p, err := path(ctx)
		if err != nil {
			return p, err
		}
		p.SinkTimeZone, p.SinkZoneFrom, err = zone(ctx)
		return p, err
	}
	if srcDB, tgtDB := sources.DBs[tc.Source.Database], sources.DBs[tc.Target.Database]; srcDB != nil && tgtDB != nil {
		t.PlanOptions.SchemaDrift = func(ctx context.Context) ([]sqldialect.Excluded, error) {
			return schemadrift.LeftOut(ctx, srcDB, tgtDB, tc.Source.Table, tc.Target.Table, schemaScope(tc))
		}
	}
	t.Notifications = reconcile.NotificationsOf(tc, sources.Kafka, src)
	t.Retained = Retained(cfg, tc, sources.DBs, clusters, src)
	return t, nil
}
