package app

import (
	"fmt"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/collector"
	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/drift"
	"github.com/cdc-sentinel/cdc-sentinel/internal/reconcile"
)

// BuildDrift builds the drift collector and the reconcile runner (issue
// 4) over the Runtime's shared pools. The runner is also a collector (the
// cdc_reconcile_* metrics), serves /api/v1/reconcile, and is what the
// remediator's reconcile action starts (via reconcile.BoolStarter).
func BuildDrift(cfg *config.Config, sources *Sources, logger *slog.Logger) (*collector.DriftCollector, *reconcile.Runner, error) {
	var kc *kgo.Client
	if sources.Kafka != nil {
		kc = sources.Kafka.Kgo()
	}
	var tables []reconcile.Table
	var sampled []drift.Table
	for _, tc := range cfg.Tables {
		t, err := reconcile.TableFromConfig(tc, sources.DBs, kc)
		if err != nil {
			return nil, nil, fmt.Errorf("table %s: %w", tc.Name, err)
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
	runner := reconcile.NewRunner(tables, reconcile.Options{}, logger)
	return collector.NewDriftCollector(drift.NewSampler(sampled), cfg.Drift.Budget), runner, nil
}
