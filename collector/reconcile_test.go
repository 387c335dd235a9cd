package collector

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cdc-sentinel/cdc-sentinel/internal/reconcilestats"
)

type fakeReconcileRuns []reconcilestats.Table

func (f fakeReconcileRuns) ReconcileTables() []reconcilestats.Table { return f }

// A table that has never succeeded shows only its run counts and whether
// it is running; one that has shows what its last success found.
func TestReconcileRunsAreReportedFromTheReader(t *testing.T) {
	c := scrapeOnce{NewReconcileCollector(fakeReconcileRuns{
		{Table: "customers", Failed: 1, Running: true},
		{Table: "orders", Succeeded: 2, Cancelled: 1, LastSuccess: time.Unix(1700000000, 500e6), Missing: 3, Extra: 1, Changed: 2, Duration: 1500 * time.Millisecond,
			RepairRows: 7, RepairsCompleted: 1, RepairsTimedOut: 1},
	})}
	want := `
# HELP cdc_reconcile_duration_seconds How long the last reconcile of the table took.
# TYPE cdc_reconcile_duration_seconds gauge
cdc_reconcile_duration_seconds{table="orders"} 1.5
# HELP cdc_reconcile_last_success_timestamp_seconds When the last successful reconcile of the table finished.
# TYPE cdc_reconcile_last_success_timestamp_seconds gauge
cdc_reconcile_last_success_timestamp_seconds{table="orders"} 1.7000000005e+09
# HELP cdc_reconcile_repair_rows_total Rows repairs re-sent through incremental snapshots, as the source connector's notifications count them (total_rows_scanned of each table scan).
# TYPE cdc_reconcile_repair_rows_total counter
cdc_reconcile_repair_rows_total{table="customers"} 0
cdc_reconcile_repair_rows_total{table="orders"} 7
# HELP cdc_reconcile_repairs_total Repairs followed to their end through the source connector's notifications, by outcome (completed, aborted, failed, timed_out).
# TYPE cdc_reconcile_repairs_total counter
cdc_reconcile_repairs_total{outcome="aborted",table="customers"} 0
cdc_reconcile_repairs_total{outcome="aborted",table="orders"} 0
cdc_reconcile_repairs_total{outcome="completed",table="customers"} 0
cdc_reconcile_repairs_total{outcome="completed",table="orders"} 1
cdc_reconcile_repairs_total{outcome="failed",table="customers"} 0
cdc_reconcile_repairs_total{outcome="failed",table="orders"} 0
cdc_reconcile_repairs_total{outcome="timed_out",table="customers"} 0
cdc_reconcile_repairs_total{outcome="timed_out",table="orders"} 1
# HELP cdc_reconcile_rows_differing Rows that differed between source and target in the last successful reconcile, by kind (missing, extra, changed, duplicate: keys the target holds more rows of than the source).
# TYPE cdc_reconcile_rows_differing gauge
cdc_reconcile_rows_differing{kind="changed",table="orders"} 2
cdc_reconcile_rows_differing{kind="duplicate",table="orders"} 0
cdc_reconcile_rows_differing{kind="extra",table="orders"} 1
cdc_reconcile_rows_differing{kind="missing",table="orders"} 3
# HELP cdc_reconcile_running Whether a reconcile of the table is running.
# TYPE cdc_reconcile_running gauge
cdc_reconcile_running{table="customers"} 1
cdc_reconcile_running{table="orders"} 0
# HELP cdc_reconcile_runs_total Reconcile runs since cdc-sentinel started, by outcome (success, error, cancelled).
# TYPE cdc_reconcile_runs_total counter
cdc_reconcile_runs_total{outcome="cancelled",table="customers"} 0
cdc_reconcile_runs_total{outcome="cancelled",table="orders"} 1
cdc_reconcile_runs_total{outcome="error",table="customers"} 1
cdc_reconcile_runs_total{outcome="error",table="orders"} 0
cdc_reconcile_runs_total{outcome="success",table="customers"} 0
cdc_reconcile_runs_total{outcome="success",table="orders"} 2
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}
