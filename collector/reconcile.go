package collector

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-sentinel/cdc-sentinel/internal/reconcilestats"
)

var (
	reconcileRunsDesc = prometheus.NewDesc("cdc_reconcile_runs_total",
		"Reconcile runs since cdc-sentinel started, by outcome (success, error, cancelled).", []string{"table", "outcome"}, nil)
	reconcileDifferingDesc = prometheus.NewDesc("cdc_reconcile_rows_differing",
		"Rows that differed between source and target in the last successful reconcile, by kind (missing, extra, changed, duplicate: keys the target holds more rows of than the source).", []string{"table", "kind"}, nil)
	reconcileLastSuccessDesc = prometheus.NewDesc("cdc_reconcile_last_success_timestamp_seconds",
		"When the last successful reconcile of the table finished.", []string{"table"}, nil)
	reconcileDurationDesc = prometheus.NewDesc("cdc_reconcile_duration_seconds",
		"How long the last reconcile of the table took.", []string{"table"}, nil)
	reconcileRunningDesc = prometheus.NewDesc("cdc_reconcile_running",
		"Whether a reconcile of the table is running.", []string{"table"}, nil)
	reconcileRepairRowsDesc = prometheus.NewDesc("cdc_reconcile_repair_rows_total",
		"Rows repairs re-sent through incremental snapshots, as the source connector's notifications count them (total_rows_scanned of each table scan).", []string{"table"}, nil)
	reconcileRepairsDesc = prometheus.NewDesc("cdc_reconcile_repairs_total",
		"Repairs followed to their end through the source connector's notifications, by outcome (completed, aborted, failed, timed_out).", []string{"table", "outcome"}, nil)
)

// ReconcileReader gives the reconcile runs of every configured table,
// ordered by table; the reconcile runner implements it from memory.
type ReconcileReader interface {
	ReconcileTables() []reconcilestats.Table
}

// ReconcileCollector reports the reconcile runs kept by a ReconcileReader.
type ReconcileCollector struct {
	jobs ReconcileReader
}

// NewReconcileCollector reports r's runs.
func NewReconcileCollector(r ReconcileReader) *ReconcileCollector {
	return &ReconcileCollector{jobs: r}
}

// Name implements Collector.
func (c *ReconcileCollector) Name() string { return "reconcile" }

// Collect implements Collector; it only reads memory. The rows differing,
// last success and duration appear once a run of the table has succeeded.
func (c *ReconcileCollector) Collect(_ context.Context, ch chan<- prometheus.Metric) error {
	for _, t := range c.jobs.ReconcileTables() {
		for _, r := range []struct {
			outcome string
			n       uint64
		}{{"success", t.Succeeded}, {"error", t.Failed}, {"cancelled", t.Cancelled}} {
			ch <- prometheus.MustNewConstMetric(reconcileRunsDesc, prometheus.CounterValue, float64(r.n), t.Table, r.outcome)
		}
		ch <- prometheus.MustNewConstMetric(reconcileRunningDesc, prometheus.GaugeValue, boolValue(t.Running), t.Table)
		ch <- prometheus.MustNewConstMetric(reconcileRepairRowsDesc, prometheus.CounterValue, float64(t.RepairRows), t.Table)
		for _, r := range []struct {
			outcome string
			n       uint64
		}{{"completed", t.RepairsCompleted}, {"aborted", t.RepairsAborted}, {"failed", t.RepairsFailed}, {"timed_out", t.RepairsTimedOut}} {
			ch <- prometheus.MustNewConstMetric(reconcileRepairsDesc, prometheus.CounterValue, float64(r.n), t.Table, r.outcome)
		}
		if t.LastSuccess.IsZero() {
			continue
		}
		for _, d := range []struct {
			kind string
			n    int64
		}{{"missing", t.Missing}, {"extra", t.Extra}, {"changed", t.Changed}, {"duplicate", t.Duplicate}} {
			ch <- prometheus.MustNewConstMetric(reconcileDifferingDesc, prometheus.GaugeValue, float64(d.n), t.Table, d.kind)
		}
		ch <- prometheus.MustNewConstMetric(reconcileLastSuccessDesc, prometheus.GaugeValue, float64(t.LastSuccess.UnixNano())/1e9, t.Table)
		ch <- prometheus.MustNewConstMetric(reconcileDurationDesc, prometheus.GaugeValue, t.Duration.Seconds(), t.Table)
	}
	return nil
}
