package reconcile

import (
	"context"
	"fmt"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
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
	plan, err := rowhash.NewPlan(ctx,
		rowhash.Side{DB: pr.src, Dialect: rowhash.Postgres{}, Table: name},
		rowhash.Side{DB: pr.tgt, Dialect: rowhash.Postgres{}, Table: name},
		rowhash.PlanOptions{})
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
