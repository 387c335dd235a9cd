package reconcile

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

// A keyless target (pk.mode=none or kafka, or an upsert that appended)
// holding a row twice is a difference of its own kind, not 0 differing.
// Repair keeps one copy of each: the one equal to the source's row when
// there is one, else one that is re-sent.
func TestDuplicatesInAKeylessTargetAreFoundAndRepaired(t *testing.T) {
	p := newPair(t, "(id int, v text)")
	exec(t, p.src, "ALTER TABLE "+p.name+" ADD PRIMARY KEY (id)")
	p.both(t, "INSERT INTO "+p.name+" SELECT g, 'v' || g FROM generate_series(1, 20) g")
	exec(t, p.tgt, "INSERT INTO "+p.name+" VALUES (5, 'v5'), (6, 'old'), (7, 'old'), (7, 'older'), (100, 'x'), (100, 'x')")
	exec(t, p.tgt, "UPDATE "+p.name+" SET v = 'older' WHERE id = 7 AND v = 'v7'") // no copy of 7 equals the source's
	plan := p.plan(t, "", "", "", sqldialect.PlanOptions{Key: []string{"id"}})
	for _, opts := range []Options{{LeafRows: 10}, {}} {
		rep, err := New("t", plan, opts).Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := keyStrings(rep.DuplicateInTarget, "id"); !slices.Equal(got, []string{"5", "6", "7"}) || rep.DuplicateCount != 3 || rep.DuplicateRows != 4 {
			t.Errorf("leaf %d: duplicates %v (%d keys, %d surplus rows); want [5 6 7], 3, 4", opts.LeafRows, got, rep.DuplicateCount, rep.DuplicateRows)
		}
		if got := keyStrings(rep.ExtraInTarget, "id"); !slices.Equal(got, []string{"100"}) || rep.ChangedCount != 0 || rep.Differing() != 4 {
			t.Errorf("leaf %d: extra %v, %d changed, %d differing; want [100], 0, 4", opts.LeafRows, got, rep.ChangedCount, rep.Differing())
		}
		b, _ := json.Marshal(rep)
		if !strings.Contains(string(b), `"duplicate_in_target":[{"id":5},{"id":6},{"id":7}]`) || !strings.Contains(string(b), `"duplicate_count":3`) {
			t.Errorf("JSON report: %s", b)
		}
	}
	rep := runPlan(t, plan)
	var text strings.Builder
	rep.WriteText(&text)
	if !strings.Contains(text.String(), "duplicate in target: 3") || !strings.Contains(text.String(), "duplicate  5") {
		t.Errorf("text report:\n%s", text.String())
	}

	// Without --delete-extra duplicates are reported only.
	sig := &recordingSignaler{}
	res, err := Repair(context.Background(), plan, rep, RepairOptions{Signaler: sig, DataCollection: "public.t"})
	if err != nil || res.CopiesDeleted != 0 || len(sig.filters) != 0 {
		t.Fatalf("repair without delete: %+v, %v", res, err)
	}
	res, err = Repair(context.Background(), plan, rep, RepairOptions{Signaler: sig, DataCollection: "public.t", DeleteExtra: true, MaxDeletes: 5, DryRun: true})
	if err != nil || res.WouldDeleteCopies != 4 || len(res.WouldDelete) != 1 {
		t.Fatalf("dry run: %+v, %v; want 4 copies and 1 row", res, err)
	}
	if _, err := Repair(context.Background(), plan, rep, RepairOptions{Signaler: sig, DeleteExtra: true, MaxDeletes: 4}); err == nil ||
		!strings.Contains(err.Error(), "5 target rows would go (1 target-only, 4 surplus copies), more than the 4") {
		t.Fatalf("over the cap: %v", err)
	}
	res, err = Repair(context.Background(), plan, rep, RepairOptions{Signaler: sig, DataCollection: "public.t", DeleteExtra: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.CopiesDeleted != 4 || res.RowsDeleted != 6 || !slices.Equal(keyStrings(res.DuplicatesResent, "id"), []string{"7"}) {
		t.Errorf("deleted %d copies, %d rows, re-sent %v; want 4, 6, [7]", res.CopiesDeleted, res.RowsDeleted, keyStrings(res.DuplicatesResent, "id"))
	}
	var n, six int
	p.tgt.QueryRow("SELECT count(*), count(*) FILTER (WHERE id = 6 AND v = 'v6') FROM "+p.name).Scan(&n, &six)
	if n != 20 || six != 1 {
		t.Errorf("%d target rows, %d copies of 6 equal to the source; want 20 and 1", n, six)
	}
	if rep := runPlan(t, plan); rep.DuplicateCount != 0 || rep.ExtraCount != 0 || rep.ChangedCount != 1 {
		t.Errorf("after repair: %d duplicates, %d extra, %d changed; want 0, 0 and 1 (7, re-sent, not yet applied)", rep.DuplicateCount, rep.ExtraCount, rep.ChangedCount)
	}
}
