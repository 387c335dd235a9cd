package reconcile

import (
	"context"
	"fmt"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

// BenchmarkColumnPass is what the per-column pass (changed_columns) costs
// a reconcile: the same 200,000-row table, identical and with 100 changed
// rows, reconciled with and without the pass. On identical tables the
// pass never runs, so the two must cost the same. -count repeats each
// case in turn; to interleave with and without, repeat the command
// (docs/drift.md, Performance, has the loop and the figures):
//
//	flock -o /tmp/cdc-pipeline.lock env CDC_INTEGRATION=1 \
//	  go test -run '^$' -bench ColumnPass/identical -benchtime 3x ./internal/reconcile/
func BenchmarkColumnPass(b *testing.B) {
	const rows = 200000
	// UNLOGGED: no WAL for the pipeline's walsender to decode.
	pr := createPair(b, "UNLOGGED TABLE", "(id bigint PRIMARY KEY, name text, amount numeric(12,2), ts timestamp(6), flag boolean, note text)")
	name := pr.name
	pr.both(b, fmt.Sprintf(`INSERT INTO %s SELECT g, 'customer ' || g, (g %% 100000)::numeric / 100,
		timestamp '2020-01-01' + g * interval '1.000001 second', g %% 3 = 0,
		CASE WHEN g %% 5 = 0 THEN NULL ELSE md5(g::text) END FROM generate_series(1, %d) g`, name, rows))
	pr.both(b, "VACUUM ANALYZE "+name)
	ctx := context.Background()
	plan, err := sqldialect.NewPlan(ctx,
		sqldialect.Side{DB: pr.src, Dialect: sqldialect.Postgres{}, Table: name},
		sqldialect.Side{DB: pr.tgt, Dialect: sqldialect.Postgres{}, Table: name},
		sqldialect.PlanOptions{})
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, columnPass bool, wantChanged int) {
		for b.Loop() {
			r := New("t", plan, Options{})
			r.noColumnPass = !columnPass
			rep, err := r.Run(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if rep.ChangedCount != wantChanged {
				b.Fatalf("%d changed rows, want %d", rep.ChangedCount, wantChanged)
			}
			if columnPass && len(rep.ChangedColumns) != wantChanged {
				b.Fatalf("%d changed_columns, want %d", len(rep.ChangedColumns), wantChanged)
			}
		}
	}
	b.Run("identical/without", func(b *testing.B) { run(b, false, 0) })
	b.Run("identical/with", func(b *testing.B) { run(b, true, 0) })
	if _, err := pr.tgt.Exec("UPDATE " + name + " SET amount = amount + 1 WHERE id % 2000 = 7"); err != nil {
		b.Fatal(err)
	}
	b.Run("changed100/without", func(b *testing.B) { run(b, false, 100) })
	b.Run("changed100/with", func(b *testing.B) { run(b, true, 100) })
}

// BenchmarkKeyType is the same 100 changes in 300,000 rows reconciled
// with a uuid key (key-hash buckets) and with a bigint key (key ranges):
// the uuid key must cost no more than 1.5 times the bigint key. Run the
// two alternately and compare medians (docs/drift.md, Performance):
//
//	CDC_INTEGRATION=1 go test -run '^$' -bench 'KeyType' -benchtime 3x -count 5 ./internal/reconcile/
func BenchmarkKeyType(b *testing.B) {
	const rows = 300000
	for _, key := range []struct{ name, typ, expr string }{
		{"bigint", "bigint", "g"},
		{"uuid", "uuid", "md5(g::text)::uuid"},
	} {
		pr := createPair(b, "UNLOGGED TABLE", "(id "+key.typ+" PRIMARY KEY, name text, amount numeric(12,2), ts timestamp(6))")
		pr.both(b, fmt.Sprintf(`INSERT INTO %s SELECT %s, 'customer ' || g, (g %% 100000)::numeric / 100,
			timestamp '2020-01-01' + g * interval '1 second' FROM generate_series(1, %d) g`, pr.name, key.expr, rows))
		if _, err := pr.tgt.Exec("UPDATE " + pr.name + " SET amount = amount + 1 WHERE id IN (SELECT " + key.expr + " FROM generate_series(1, " + fmt.Sprint(rows) + ", 3000) g)"); err != nil {
			b.Fatal(err)
		}
		pr.both(b, "VACUUM ANALYZE "+pr.name)
		ctx := context.Background()
		plan, err := sqldialect.NewPlan(ctx,
			sqldialect.Side{DB: pr.src, Dialect: sqldialect.Postgres{}, Table: pr.name},
			sqldialect.Side{DB: pr.tgt, Dialect: sqldialect.Postgres{}, Table: pr.name},
			sqldialect.PlanOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(key.name, func(b *testing.B) {
			for b.Loop() {
				rep, err := New("t", plan, Options{}).Run(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if rep.ChangedCount != 100 {
					b.Fatalf("%d changed rows, want 100", rep.ChangedCount)
				}
				b.ReportMetric(float64(rep.Queries), "queries/op")
			}
		})
	}
}
