package reconcile

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// pair is a scratch table created in both the source and the target
// database, dropped when the test ends.
type pair struct {
	src, tgt *sql.DB
	name     string
}

func newPair(t *testing.T, ddl string) *pair { return createPair(t, "TABLE", ddl) }

// createPair creates the same table (kind: TABLE, UNLOGGED TABLE) on the
// pipeline's source and target, dropped when the test ends.
func createPair(t testing.TB, kind, ddl string) *pair {
	t.Helper()
	p := testenv.Need(t)
	// Closed after the drop below: cleanups run last-first.
	src, tgt := p.SourceDB(t), p.TargetDB(t)
	name := fmt.Sprintf("public.reconcile_test_%d", time.Now().UnixNano())
	for _, db := range []*sql.DB{src, tgt} {
		if _, err := db.Exec("CREATE " + kind + " " + name + " " + ddl); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, db := range []*sql.DB{src, tgt} {
			db.Exec("DROP TABLE IF EXISTS " + name)
		}
	})
	return &pair{src: src, tgt: tgt, name: name}
}

func (p *pair) both(t testing.TB, q string, args ...any) {
	t.Helper()
	for _, db := range []*sql.DB{p.src, p.tgt} {
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func exec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func (p *pair) run(t *testing.T, opts Options) *Report {
	t.Helper()
	ctx := context.Background()
	plan, err := sqldialect.NewPlan(ctx,
		sqldialect.Side{DB: p.src, Dialect: sqldialect.Postgres{}, Table: p.name},
		sqldialect.Side{DB: p.tgt, Dialect: sqldialect.Postgres{}, Table: p.name},
		sqldialect.PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := New("t", plan, opts).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func keyStrings(keys []sqldialect.Key, cols ...string) []string {
	var out []string
	for _, k := range keys {
		s := ""
		for i, c := range cols {
			if i > 0 {
				s += "/"
			}
			s += fmt.Sprint(k[c])
		}
		out = append(out, s)
	}
	return out
}

// TestReconcileFindsEveryKindOfDifference injects missing, extra and
// changed rows among tricky values, and checks that values equal by the
// encoding's rules (1.5 vs 1.50) are not reported.
func TestReconcileFindsEveryKindOfDifference(t *testing.T) {
	p := newPair(t, `(id int PRIMARY KEY, amount numeric, note text, ts timestamp(6), name text)`)
	p.both(t, `INSERT INTO `+p.name+` SELECT g, (g % 100)::numeric / 4, CASE WHEN g % 7 = 0 THEN NULL ELSE 'n' || g END,
		timestamp '2024-01-01 00:00:00.123456' + g * interval '1 second', 'Zoë ' || g FROM generate_series(1, 5000) g`)
	// Equal by value: numeric scale only.
	exec(t, p.tgt, `UPDATE `+p.name+` SET amount = 1.50 WHERE id = 106`) // source has 1.5
	// missing in target
	exec(t, p.tgt, `DELETE FROM `+p.name+` WHERE id IN (1, 2500, 4999)`)
	// extra in target
	exec(t, p.tgt, `INSERT INTO `+p.name+` VALUES (6000, 1, 'x', now(), 'x'), (-3, NULL, NULL, NULL, NULL)`)
	// changed: rounded decimal, NULL vs '', a microsecond, non-ASCII
	exec(t, p.tgt, `UPDATE `+p.name+` SET amount = 0.3 WHERE id = 101`) // 0.25 → 0.3
	exec(t, p.tgt, `UPDATE `+p.name+` SET note = '' WHERE id = 700`)    // NULL → ''
	exec(t, p.tgt, `UPDATE `+p.name+` SET ts = ts + interval '1 microsecond' WHERE id = 1234`)
	exec(t, p.tgt, `UPDATE `+p.name+` SET name = 'Zoe 3000' WHERE id = 3000`)

	// ScanParallel 4 splits each side's first-level scan into storage
	// ranges: every row must still be counted exactly once.
	for _, opts := range []Options{{}, {LeafRows: 16, Parallel: 3}, {ScanParallel: 4}} {
		rep := p.run(t, opts)
		if got, want := keyStrings(rep.MissingInTarget, "id"), []string{"1", "2500", "4999"}; !slices.Equal(got, want) {
			t.Errorf("leaf %d: missing %v, want %v", opts.LeafRows, got, want)
		}
		if got, want := keyStrings(rep.ExtraInTarget, "id"), []string{"-3", "6000"}; !slices.Equal(got, want) {
			t.Errorf("leaf %d: extra %v, want %v", opts.LeafRows, got, want)
		}
		if got, want := keyStrings(rep.Changed, "id"), []string{"101", "700", "1234", "3000"}; !slices.Equal(got, want) {
			t.Errorf("leaf %d: changed %v, want %v", opts.LeafRows, got, want)
		}
		var cols []string
		for _, d := range rep.ChangedColumns {
			cols = append(cols, fmt.Sprintf("%v:%v", d.Key["id"], d.Columns))
		}
		if want := []string{"101:[amount]", "700:[note]", "1234:[ts]", "3000:[name]"}; !slices.Equal(cols, want) {
			t.Errorf("leaf %d: changed columns %v, want %v", opts.LeafRows, cols, want)
		}
		if rep.RowsSource != 5000 || rep.RowsTarget != 4999 {
			t.Errorf("rows %d/%d, want 5000/4999", rep.RowsSource, rep.RowsTarget)
		}
		if rep.Mode != "range" {
			t.Errorf("mode %s, want range for an integer key", rep.Mode)
		}
	}
}

// A compound key led by text is bucketed by key hash, never by the
// collation's order.
func TestReconcileCompoundTextKey(t *testing.T) {
	p := newPair(t, `(region text COLLATE "C", seq int, v text, PRIMARY KEY (region, seq))`)
	p.both(t, `INSERT INTO `+p.name+` SELECT (ARRAY['Åland','a','B','é','z z','a|b'])[1 + g % 6], g, 'v' || g FROM generate_series(1, 3000) g`)
	exec(t, p.tgt, `DELETE FROM `+p.name+` WHERE seq = 7`)
	exec(t, p.tgt, `UPDATE `+p.name+` SET v = 'changed' WHERE seq = 8`)
	exec(t, p.tgt, `INSERT INTO `+p.name+` VALUES ('a|b', -1, 'extra')`)
	for _, opts := range []Options{{}, {LeafRows: 8}, {ScanParallel: 3}} {
		rep := p.run(t, opts)
		if rep.Mode != "hash" {
			t.Errorf("mode %s, want hash", rep.Mode)
		}
		if rep.RowsSource != 3000 || rep.RowsTarget != 3000 {
			t.Errorf("scan parallel %d: rows %d/%d, want 3000/3000", opts.ScanParallel, rep.RowsSource, rep.RowsTarget)
		}
		if got := keyStrings(rep.MissingInTarget, "region", "seq"); !slices.Equal(got, []string{"a/7"}) {
			t.Errorf("missing %v", got)
		}
		if got := keyStrings(rep.Changed, "region", "seq"); !slices.Equal(got, []string{"B/8"}) {
			t.Errorf("changed %v", got)
		}
		if got := keyStrings(rep.ExtraInTarget, "region", "seq"); !slices.Equal(got, []string{"a|b/-1"}) {
			t.Errorf("extra %v", got)
		}
	}
}

func TestReconcileIdenticalAndEmpty(t *testing.T) {
	p := newPair(t, `(id bigint PRIMARY KEY, v text)`)
	rep := p.run(t, Options{})
	if rep.Differing() != 0 || rep.RowsSource != 0 {
		t.Fatalf("empty tables: %+v", rep)
	}
	p.both(t, `INSERT INTO `+p.name+` SELECT g * 1000, 'v' FROM generate_series(1, 2000) g`)
	var phases []string
	rep = p.run(t, Options{LeafRows: 10, Progress: func(pr Progress) {
		if len(phases) == 0 || phases[len(phases)-1] != pr.Phase {
			phases = append(phases, pr.Phase)
		}
	}})
	if rep.Differing() != 0 || rep.RowsSource != 2000 || rep.RowsTarget != 2000 {
		t.Fatalf("identical tables: %+v", rep)
	}
	if !slices.Equal(phases, []string{"scan"}) {
		t.Errorf("phases %v: identical tables need the first-level scan only", phases)
	}
	b, _ := json.Marshal(rep)
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range []string{"table", "rows_source", "rows_target", "missing_in_target", "extra_in_target", "changed", "changed_columns", "duration_seconds"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON report lacks %q: %s", k, b)
		}
	}
}

func TestReconcileCancelled(t *testing.T) {
	p := newPair(t, `(id int PRIMARY KEY)`)
	plan, err := sqldialect.NewPlan(context.Background(),
		sqldialect.Side{DB: p.src, Dialect: sqldialect.Postgres{}, Table: p.name},
		sqldialect.Side{DB: p.tgt, Dialect: sqldialect.Postgres{}, Table: p.name}, sqldialect.PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New("t", plan, Options{}).Run(ctx); err == nil {
		t.Fatal("a cancelled reconcile succeeded")
	}
}
