package wiring

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/drift"
	"github.com/cdc-sentinel/cdc-sentinel/internal/reconcile"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// A target whose schema differs (a column the sink never added, a
// numeric(12,2) stored in an integer, text in a varchar(5)) is still
// compared on its common columns by reconcile and drift: the real
// difference in a common column is found, the schema differences are
// reported as left out with their reason, never as changed rows.
func TestReconcileAndDriftCompareTheCommonColumnsWhileTheSchemaDiffers(t *testing.T) {
	p := testenv.Need(t)
	src, tgt := p.SourceDB(t), p.TargetDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := fmt.Sprintf("schema_drift_%d", time.Now().UnixNano())
	t.Cleanup(func() {
		_, _ = src.Exec("DROP TABLE IF EXISTS public." + name)
		_, _ = tgt.Exec("DROP TABLE IF EXISTS public." + name)
	})
	for _, s := range []struct {
		on  string
		sql string
	}{
		{"source", "CREATE TABLE public." + name + " (id int PRIMARY KEY, amount numeric(12,2), note text, label text, added text)"},
		{"source", "INSERT INTO public." + name + " SELECT g, g + 0.25, 'longer than five ' || g, 'l' || g, 'a' || g FROM generate_series(1, 500) g"},
		{"target", "CREATE TABLE public." + name + " (id int PRIMARY KEY, amount integer, note varchar(5), label text, __source_ts_ms bigint)"},
		{"target", "INSERT INTO public." + name + " SELECT g, g, 'long', 'l' || g, 0 FROM generate_series(1, 500) g"},
		{"target", "UPDATE public." + name + " SET label = 'changed' WHERE id = 42"},
	} {
		db := src
		if s.on == "target" {
			db = tgt
		}
		if _, err := db.ExecContext(ctx, s.sql); err != nil {
			t.Fatalf("%s: %v", s.sql, err)
		}
	}
	cfg, err := config.Parse("schema-reconcile.yml", []byte(fmt.Sprintf(`
databases:
  - {name: source, driver: postgres, dsn: %q}
  - {name: target, driver: postgres, dsn: %q}
tables:
  - {name: t, source: {database: source, table: public.%s}, target: {database: target, table: public.%s}}
`, p.SourceDSN, p.TargetDSN, name, name)))
	if err != nil {
		t.Fatal(err)
	}
	sources, err := OpenSources(ctx, cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sources.Close)
	table, err := ReconcileTable(cfg, cfg.Tables[0], sources, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, g, err := table.Sides()
	if err != nil {
		t.Fatal(err)
	}
	plan, err := sqldialect.NewPlan(ctx, s, g, table.PlanOptions)
	if err != nil {
		t.Fatalf("the plan failed on a table whose schema differs: %v", err)
	}
	rep, err := reconcile.New("t", plan, reconcile.Options{}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ChangedCount != 1 || rep.MissingCount+rep.ExtraCount != 0 || len(rep.Changed) != 1 || fmt.Sprint(rep.Changed[0]["id"]) != "42" {
		t.Errorf("reconcile found %d changed (%v), %d missing, %d extra; want only row 42 changed", rep.ChangedCount, rep.Changed, rep.MissingCount, rep.ExtraCount)
	}
	var left []string
	for _, e := range rep.SchemaMismatch {
		left = append(left, e.Column)
		if !strings.HasPrefix(e.Reason, "schema drift: ") {
			t.Errorf("column %s left out with reason %q, want it to say schema drift", e.Column, e.Reason)
		}
	}
	if slices.Sort(left); !slices.Equal(left, []string{"added", "amount", "note"}) {
		t.Errorf("schema_mismatch %+v, want added, amount and note", rep.SchemaMismatch)
	}

	sampler := drift.NewSampler([]drift.Table{{Name: "t", Sides: table.Sides, PlanOptions: table.PlanOptions,
		Drift: config.Drift{SampleSize: 600, MinInterval: time.Minute, RecheckMargin: time.Second},
		Wait:  func(context.Context) (time.Duration, error) { return time.Hour, nil }}}, nil)
	st := sampler.Check(ctx)["t"]
	if st.Err != nil || st.Checked == 0 {
		t.Errorf("drift sampled %v rows, err %v; want the common columns sampled", st.Checked, st.Err)
	}
}
