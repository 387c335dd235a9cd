package reconcile

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// TestPipelineRepairBringsDeletedRowsBack runs against the real local
// pipeline: rows deleted from the target's public.customers are found
// missing, re-sent by an execute-snapshot signal through
// inventory.debezium_signal, and come back through Kafka and the sink.
func TestPipelineRepairBringsDeletedRowsBack(t *testing.T) {
	p := testenv.Need(t)
	src, err := sql.Open("pgx", p.SourceDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	tgt, err := sql.Open("pgx", p.TargetDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	signalTable := p.Env["CDC_SIGNAL_TABLE"]
	if signalTable == "" {
		signalTable = "inventory.debezium_signal"
	}
	plan, err := sqldialect.NewPlan(ctx,
		sqldialect.Side{DB: src, Dialect: sqldialect.Postgres{}, Table: "inventory.customers"},
		sqldialect.Side{DB: tgt, Dialect: sqldialect.Postgres{}, Table: "public.customers"},
		sqldialect.PlanOptions{Ignore: []string{"__source_ts_ms"}})
	if err != nil {
		t.Fatal(err)
	}
	run := func() *Report {
		t.Helper()
		rep, err := New("customers", plan, Options{}).Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	// Other tests touch customers too: wait for a quiet, equal moment.
	settle := func(what string) *Report {
		t.Helper()
		var rep *Report
		for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Second) {
			if rep = run(); rep.Differing() == 0 {
				return rep
			}
		}
		t.Fatalf("%s: source and target still differ: %+v", what, rep)
		return nil
	}
	before := settle("before the test")

	var ids []int
	rows, err := src.QueryContext(ctx, "SELECT id FROM inventory.customers ORDER BY id LIMIT 3")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) < 3 {
		t.Fatalf("source has %d customers, want at least 3", len(ids))
	}
	if _, err := tgt.ExecContext(ctx, "DELETE FROM public.customers WHERE id = ANY($1)", ids); err != nil {
		t.Fatal(err)
	}
	rep := run()
	var missing []int
	for _, k := range rep.MissingInTarget {
		var n int
		fmt.Sscan(fmt.Sprint(k["id"]), &n)
		missing = append(missing, n)
	}
	if !slices.Equal(missing, ids) {
		t.Fatalf("missing %v, want the deleted %v", missing, ids)
	}
	if rep.RowsTarget != before.RowsTarget-3 {
		t.Errorf("target rows %d, want %d", rep.RowsTarget, before.RowsTarget-3)
	}
	res, err := Repair(ctx, plan, rep, RepairOptions{
		Signaler:       TableSignaler{DB: src, Dialect: sqldialect.Postgres{}, Table: signalTable},
		DataCollection: "inventory.customers",
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsResent != 3 || len(res.Signals) != 1 {
		t.Errorf("repair %+v: want 3 rows in one signal", res)
	}
	after := settle("after the repair")
	if after.RowsTarget != before.RowsTarget {
		t.Errorf("target rows %d after repair, want %d", after.RowsTarget, before.RowsTarget)
	}
}
