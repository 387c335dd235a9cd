package reconcile

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

// plan plans the pair with a filter and a soft-delete column on each side.
func (p *pair) plan(t *testing.T, srcFilter, tgtFilter, deleted string, o sqldialect.PlanOptions) *sqldialect.Plan {
	t.Helper()
	plan, err := sqldialect.NewPlan(context.Background(),
		sqldialect.Side{DB: p.src, Dialect: sqldialect.Postgres{}, Table: p.name, Filter: srcFilter},
		sqldialect.Side{DB: p.tgt, Dialect: sqldialect.Postgres{}, Table: p.name, Filter: tgtFilter, DeletedColumn: deleted},
		o)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func runPlan(t *testing.T, plan *sqldialect.Plan) *Report {
	t.Helper()
	rep, err := New("t", plan, Options{LeafRows: 10}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// A filter scopes the comparison on both sides; rows soft-deleted by the
// sink (__deleted true, in text or boolean) count as absent from the
// target, so Confluent-sink users with rewritten deletes do not see every
// deleted row as extra.
func TestFilterAndSoftDeletesScopeTheComparison(t *testing.T) {
	p := newPair(t, "(id int PRIMARY KEY, region text, v int, __deleted text)")
	p.both(t, "INSERT INTO "+p.name+" SELECT g, CASE WHEN g % 2 = 0 THEN 'EU' ELSE 'US' END, g, 'false' FROM generate_series(1, 200) g")
	exec(t, p.tgt, "UPDATE "+p.name+" SET v = -1 WHERE region = 'US'")                              // outside the filter
	exec(t, p.src, "DELETE FROM "+p.name+" WHERE id IN (10, 12)")                                   // deleted at the source...
	exec(t, p.tgt, "UPDATE "+p.name+" SET __deleted = 'true' WHERE id IN (10, 12)")                 // ...soft-deleted by the sink
	exec(t, p.tgt, "UPDATE "+p.name+" SET __deleted = 'true' WHERE id = 14")                        // soft-deleted, yet in the source
	exec(t, p.tgt, "INSERT INTO "+p.name+" VALUES (1000, 'EU', 1, NULL), (1002, 'EU', 1, 'false')") // really extra

	ignore := sqldialect.PlanOptions{Ignore: []string{"__deleted"}}
	rep := runPlan(t, p.plan(t, "region = 'EU'", "region = 'EU'", "__deleted", ignore))
	if got := keyStrings(rep.MissingInTarget, "id"); !slices.Equal(got, []string{"14"}) {
		t.Errorf("missing %v, want [14]", got)
	}
	if got := keyStrings(rep.ExtraInTarget, "id"); !slices.Equal(got, []string{"1000", "1002"}) {
		t.Errorf("extra %v, want [1000 1002]", got)
	}
	if rep.ChangedCount != 0 || rep.RowsSource != 98 {
		t.Errorf("changed %d, source rows %d; want 0 and 98", rep.ChangedCount, rep.RowsSource)
	}
	// Without them, the US rows differ and the soft-deleted ones are extra.
	rep = runPlan(t, p.plan(t, "", "", "", ignore))
	if rep.ChangedCount != 100 || rep.ExtraCount != 4 {
		t.Errorf("unscoped: %d changed, %d extra; want 100 and 4", rep.ChangedCount, rep.ExtraCount)
	}
	// A boolean soft-delete column reads the same.
	exec(t, p.tgt, "ALTER TABLE "+p.name+" ALTER COLUMN __deleted TYPE boolean USING __deleted::boolean")
	rep = runPlan(t, p.plan(t, "region = 'EU'", "region = 'EU'", "__deleted", ignore))
	if rep.MissingCount != 1 || rep.ExtraCount != 2 || rep.ChangedCount != 0 {
		t.Errorf("boolean __deleted: %d missing, %d extra, %d changed; want 1, 2, 0", rep.MissingCount, rep.ExtraCount, rep.ChangedCount)
	}
}

// --delete-extra deletes only what is still extra when it acts, lists it
// first, and stops at the cap.
func TestDeleteExtraIsCappedListedAndRechecked(t *testing.T) {
	p := newPair(t, "(id int PRIMARY KEY, v int)")
	p.both(t, "INSERT INTO "+p.name+" SELECT g, g FROM generate_series(1, 50) g")
	exec(t, p.tgt, "INSERT INTO "+p.name+" VALUES (101, 1), (102, 1), (103, 1)")
	plan := p.plan(t, "", "", "", sqldialect.PlanOptions{})
	rep := runPlan(t, plan)
	if rep.ExtraCount != 3 {
		t.Fatalf("%d extra, want 3", rep.ExtraCount)
	}
	ctx := context.Background()
	count := func() int {
		var n int
		if err := p.tgt.QueryRow("SELECT count(*) FROM " + p.name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	_, err := Repair(ctx, plan, rep, RepairOptions{DeleteExtra: true, MaxDeletes: 2})
	if err == nil || !strings.Contains(err.Error(), "3 target rows would go (3 target-only, 0 surplus copies), more than the 2") {
		t.Fatalf("error %v, want the cap named", err)
	}
	if n := count(); n != 53 {
		t.Fatalf("%d target rows after a refused repair, want 53", n)
	}

	// Row 102 reaches the source after the comparison: it is not deleted.
	exec(t, p.src, "INSERT INTO "+p.name+" VALUES (102, 1)")
	var listed []string
	res, err := Repair(ctx, plan, rep, RepairOptions{DeleteExtra: true, BeforeDelete: func(keys []sqldialect.Key) {
		listed = keyStrings(keys, "id")
		if n := count(); n != 53 {
			t.Errorf("listed after deleting: %d rows left", n)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(listed, []string{"101", "103"}) || res.RowsDeleted != 2 || res.ExtraSkipped != 1 {
		t.Errorf("listed %v, deleted %d, skipped %d; want [101 103], 2, 1", listed, res.RowsDeleted, res.ExtraSkipped)
	}
	if left := targetIDs(t, p.tgt, p.name); !slices.Equal(left[50:], []int{102}) {
		t.Errorf("target rows above 100: %v, want [102]", left[50:])
	}
}

// A key whose values do not survive the trip exactly (char padding,
// datetime2's seventh digit) could delete a good row: refused.
func TestDeleteExtraRefusesKeysThatDoNotRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		ddl, col, why string
	}{
		{"(code char(4) PRIMARY KEY, v int)", "code", "trailing spaces"},
	} {
		p := newPair(t, tc.ddl)
		exec(t, p.tgt, "INSERT INTO "+p.name+" VALUES ('x', 1)")
		plan := p.plan(t, "", "", "", sqldialect.PlanOptions{})
		rep := runPlan(t, plan)
		_, err := Repair(context.Background(), plan, rep, RepairOptions{DeleteExtra: true})
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("key column %q cannot round-trip", tc.col)) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%s: error %v", tc.ddl, err)
		}
		var n int
		p.tgt.QueryRow("SELECT count(*) FROM " + p.name).Scan(&n)
		if n != 1 {
			t.Errorf("%s: the row was deleted", tc.ddl)
		}
	}
	// datetime2(7) keys, from the plan alone.
	plan := &sqldialect.Plan{
		SourceCols: []sqldialect.Column{{Name: "valid_from", Type: "datetime2", Scale: 7, Kind: rowhash.KindTimestamp}},
		TargetCols: []sqldialect.Column{{Name: "valid_from", Type: "timestamp without time zone", Scale: 6, Kind: rowhash.KindTimestamp}},
		Key:        []int{0},
	}
	if err := plan.ExactKeys(); err == nil || !strings.Contains(err.Error(), "7 fractional digits") {
		t.Errorf("datetime2(7) key: %v", err)
	}
	plan.SourceCols[0].Scale = 3
	if err := plan.ExactKeys(); err != nil {
		t.Errorf("datetime2(3) key refused: %v", err)
	}
}
