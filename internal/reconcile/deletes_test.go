package reconcile

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

// recordingSignaler keeps the snapshot filters a repair sends.
type recordingSignaler struct {
	mu      sync.Mutex
	filters []string
}

func (s *recordingSignaler) Signal(_ context.Context, _, _ string, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.filters = append(s.filters, string(data))
	return nil
}

func (s *recordingSignaler) Describe() string { return "test" }

func targetIDs(t *testing.T, db *sql.DB, table string) []int {
	t.Helper()
	rows, err := db.Query("SELECT id FROM " + table + " ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

// A row whose filter column changed at the source (region EU → US, not
// yet applied) is outside the source's scope and so listed as extra, but
// its key exists at the source: repair re-sends it and never deletes it.
func TestDeleteExtraKeepsARowThatLeftTheFilterAtTheSource(t *testing.T) {
	p := newPair(t, "(id int PRIMARY KEY, region text, v int)")
	p.both(t, "INSERT INTO "+p.name+" SELECT g, 'eu', g FROM generate_series(1, 20) g")
	exec(t, p.src, "UPDATE "+p.name+" SET region = 'us' WHERE id = 7")
	exec(t, p.tgt, "INSERT INTO "+p.name+" VALUES (100, 'eu', 1)") // really extra
	plan := p.plan(t, "region = 'eu'", "region = 'eu'", "", sqldialect.PlanOptions{})
	rep := runPlan(t, plan)
	if got := keyStrings(rep.ExtraInTarget, "id"); !slices.Equal(got, []string{"7", "100"}) {
		t.Fatalf("extra %v, want [7 100]", got)
	}
	sig := &recordingSignaler{}
	res, err := Repair(context.Background(), plan, rep, RepairOptions{Signaler: sig, DataCollection: "public.t", DeleteExtra: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := keyStrings(res.DeletedKeys, "id"); !slices.Equal(got, []string{"100"}) {
		t.Errorf("deleted %v, want [100]", got)
	}
	if got := keyStrings(res.ExtraAtSource, "id"); !slices.Equal(got, []string{"7"}) || res.RowsResent != 1 {
		t.Errorf("re-sent %v (%d rows), want [7]", got, res.RowsResent)
	}
	if len(sig.filters) != 1 || !strings.Contains(sig.filters[0], `\"id\" IN (7)`) {
		t.Errorf("signals %v, want one naming id 7", sig.filters)
	}
	if got := targetIDs(t, p.tgt, p.name); !slices.Contains(got, 7) || slices.Contains(got, 100) {
		t.Errorf("target ids %v: 7 must stay, 100 must go", got)
	}
}

// A source.filter without a target filter makes every target row outside
// it look extra: only those whose key the source lacks may go, and with
// the default ratio guard nothing does.
func TestDeleteExtraWithAOneSidedFilter(t *testing.T) {
	p := newPair(t, "(id int PRIMARY KEY, region text)")
	p.both(t, "INSERT INTO "+p.name+" SELECT g, CASE WHEN g <= 10 THEN 'eu' ELSE 'us' END FROM generate_series(1, 50) g")
	exec(t, p.tgt, "INSERT INTO "+p.name+" VALUES (101, 'us'), (102, 'eu')")
	plan := p.plan(t, "region = 'eu'", "", "", sqldialect.PlanOptions{})
	rep := runPlan(t, plan)
	if rep.ExtraCount != 42 {
		t.Fatalf("%d extra, want 42 (40 outside the source filter, 2 really extra)", rep.ExtraCount)
	}
	ctx := context.Background()
	_, err := Repair(ctx, plan, rep, RepairOptions{DeleteExtra: true, MinSourceRatio: config.DefaultMinSourceRatio})
	if err == nil || !strings.Contains(err.Error(), "the source compared 10 rows, fewer than 0.5 of the target's 52") {
		t.Errorf("default ratio: error %v, want the ratio named", err)
	}
	if n := len(targetIDs(t, p.tgt, p.name)); n != 52 {
		t.Fatalf("%d target rows after a refused repair, want 52", n)
	}
	res, err := Repair(ctx, plan, rep, RepairOptions{Signaler: &recordingSignaler{}, DeleteExtra: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := keyStrings(res.DeletedKeys, "id"); !slices.Equal(got, []string{"101", "102"}) || len(res.ExtraAtSource) != 40 {
		t.Errorf("deleted %v, %d kept as at the source; want [101 102] and 40", got, len(res.ExtraAtSource))
	}
	if n := len(targetIDs(t, p.tgt, p.name)); n != 50 {
		t.Errorf("%d target rows left, want the source's 50", n)
	}
}

// A truncated source (or a DSN naming an empty database) would make
// every target row extra: refused, nothing deleted, nothing sent.
func TestDeleteExtraRefusesAnEmptySource(t *testing.T) {
	p := newPair(t, "(id int PRIMARY KEY, v int)")
	p.both(t, "INSERT INTO "+p.name+" SELECT g, g FROM generate_series(1, 52) g")
	exec(t, p.src, "TRUNCATE "+p.name)
	plan := p.plan(t, "", "", "", sqldialect.PlanOptions{})
	rep := runPlan(t, plan)
	sig := &recordingSignaler{}
	_, err := Repair(context.Background(), plan, rep, RepairOptions{Signaler: sig, DeleteExtra: true, MaxDeletes: 1000000})
	if err == nil || !strings.Contains(err.Error(), "the source compared no rows while the target has 52") {
		t.Errorf("error %v, want the empty source named", err)
	}
	if n := len(targetIDs(t, p.tgt, p.name)); n != 52 || len(sig.filters) != 0 {
		t.Errorf("%d target rows, %d signals after a refused repair; want 52 and 0", n, len(sig.filters))
	}

	// Emptied between the comparison and the deletion: the source is
	// read again first.
	p.both(t, "TRUNCATE "+p.name)
	p.both(t, "INSERT INTO "+p.name+" SELECT g, g FROM generate_series(1, 10) g")
	exec(t, p.tgt, "INSERT INTO "+p.name+" VALUES (11, 1)")
	rep = runPlan(t, plan)
	exec(t, p.src, "TRUNCATE "+p.name)
	_, err = Repair(context.Background(), plan, rep, RepairOptions{DeleteExtra: true})
	if err == nil || !strings.Contains(err.Error(), "holds no rows now") {
		t.Errorf("error %v, want the emptied source named", err)
	}
	if n := len(targetIDs(t, p.tgt, p.name)); n != 11 {
		t.Errorf("%d target rows, want 11", n)
	}
}

// A source that cannot be read when the deletion is decided refuses it.
func TestDeleteExtraRefusesAnUnreachableSource(t *testing.T) {
	p := newPair(t, "(id int PRIMARY KEY, v int)")
	p.both(t, "INSERT INTO "+p.name+" SELECT g, g FROM generate_series(1, 10) g")
	exec(t, p.tgt, "INSERT INTO "+p.name+" VALUES (11, 1)")
	plan := p.plan(t, "", "", "", sqldialect.PlanOptions{})
	rep := runPlan(t, plan)
	dead, err := sql.Open("pgx", "postgres://nobody@127.0.0.1:1/none?connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	plan.Source.DB = dead
	_, err = Repair(context.Background(), plan, rep, RepairOptions{DeleteExtra: true})
	if err == nil || !strings.Contains(err.Error(), "the source could not be read again") {
		t.Errorf("error %v, want the unreadable source named", err)
	}
	if n := len(targetIDs(t, p.tgt, p.name)); n != 11 {
		t.Errorf("%d target rows, want 11", n)
	}
}

// The cap is the table's: a caller may lower it, never raise it.
func TestDeleteCapCanBeLoweredNotRaised(t *testing.T) {
	tbl := Table{Name: "orders", Limits: config.Repair{MaxDeletes: 10}}
	for _, tc := range []struct {
		requested, want int
		err             string
	}{
		{0, 10, ""}, {3, 3, ""}, {10, 10, ""},
		{11, 0, "max_deletes 11 is above table orders's cap of 10"},
		{1000000, 0, "a caller may lower the cap, not raise it"},
		{-1, 0, "at least 1"},
	} {
		got, err := tbl.DeleteCap(tc.requested)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("DeleteCap(%d) = %d, %v; want an error with %q", tc.requested, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("DeleteCap(%d) = %d, %v; want %d", tc.requested, got, err, tc.want)
		}
	}
	if got, _ := (Table{}).DeleteCap(0); got != config.DefaultMaxDeletes {
		t.Errorf("unconfigured cap %d, want %d", got, config.DefaultMaxDeletes)
	}
	r := newRunner(t, []Table{tbl}, Options{})
	if _, err := r.DeleteCap("orders", 50); err == nil {
		t.Error("the runner let a caller raise the cap")
	}
}

// Over the cap nothing goes; a dry run lists what would; a pipeline that
// keeps deleted rows by design refuses.
func TestDeleteExtraCapDryRunAndRetainedHistory(t *testing.T) {
	p := newPair(t, "(id int PRIMARY KEY, v int)")
	p.both(t, "INSERT INTO "+p.name+" SELECT g, g FROM generate_series(1, 20) g")
	exec(t, p.tgt, "INSERT INTO "+p.name+" SELECT g, g FROM generate_series(21, 25) g")
	exec(t, p.tgt, "DELETE FROM "+p.name+" WHERE id = 1")
	plan := p.plan(t, "", "", "", sqldialect.PlanOptions{})
	rep := runPlan(t, plan)
	ctx := context.Background()
	_, err := Repair(ctx, plan, rep, RepairOptions{Signaler: &recordingSignaler{}, DeleteExtra: true, MaxDeletes: 4})
	if err == nil || !strings.Contains(err.Error(), "5 target rows would go (5 target-only, 0 surplus copies), more than the 4") {
		t.Errorf("over the cap: %v", err)
	}
	_, err = Repair(ctx, plan, rep, RepairOptions{Signaler: &recordingSignaler{}, DeleteExtra: true, Retained: "skipped.operations=d on connector src"})
	if err == nil || !strings.Contains(err.Error(), "retained history") {
		t.Errorf("retained history: %v", err)
	}
	sig := &recordingSignaler{}
	res, err := Repair(ctx, plan, rep, RepairOptions{Signaler: sig, DeleteExtra: true, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := keyStrings(res.WouldDelete, "id"); !slices.Equal(got, []string{"21", "22", "23", "24", "25"}) || !res.DryRun || res.RowsResent != 1 {
		t.Errorf("dry run: would delete %v, re-send %d; want [21..25] and 1", got, res.RowsResent)
	}
	if len(sig.filters) != 0 || res.RowsDeleted != 0 {
		t.Errorf("dry run sent %d signals, deleted %d rows", len(sig.filters), res.RowsDeleted)
	}
	if n := len(targetIDs(t, p.tgt, p.name)); n != 24 {
		t.Errorf("%d target rows after refusals and a dry run, want 24", n)
	}
}

// The Debezium sink folds column names to lower case by default
// (OrderID → orderid): target-only rows are still found, read again and
// deleted through the target's own names.
func TestDeleteExtraWithACaseFoldedKeyColumn(t *testing.T) {
	p := newPair(t, "(x int)")
	p.both(t, "DROP TABLE "+p.name)
	exec(t, p.src, `CREATE TABLE `+p.name+` ("OrderID" int PRIMARY KEY, "Amount" int)`)
	exec(t, p.tgt, `CREATE TABLE `+p.name+` (orderid int PRIMARY KEY, amount int)`)
	p.both(t, "INSERT INTO "+p.name+" SELECT g, g FROM generate_series(1, 10) g")
	exec(t, p.tgt, "INSERT INTO "+p.name+" VALUES (11, 1), (12, 1)")
	plan := p.plan(t, "", "", "", sqldialect.PlanOptions{})
	rep := runPlan(t, plan)
	if got := keyStrings(rep.ExtraInTarget, "OrderID"); !slices.Equal(got, []string{"11", "12"}) {
		t.Fatalf("extra %v, want [11 12]", got)
	}
	res, err := Repair(context.Background(), plan, rep, RepairOptions{DeleteExtra: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsDeleted != 2 {
		t.Errorf("%d rows deleted, want 2", res.RowsDeleted)
	}
	var n int
	p.tgt.QueryRow("SELECT count(*) FROM " + p.name).Scan(&n)
	if n != 10 {
		t.Errorf("%d target rows, want 10", n)
	}
}

// The same on SQL Server, from the generated condition alone: the
// target's column is named, the value taken from the key's source name.
func TestKeyConditionUsesTheTargetsFoldedName(t *testing.T) {
	tk := []sqldialect.Column{{Name: "orderid", Kind: rowhash.KindInt}}
	keys := []sqldialect.Key{{"OrderID": 11}, {"OrderID": 12}}
	got, err := filter(sqldialect.SQLServer{}, tk, []string{"OrderID"}, keys)
	if err != nil || got != "[orderid] IN (11,12)" {
		t.Errorf("int key: %q, %v", got, err)
	}
	tk = []sqldialect.Column{{Name: "code", Kind: rowhash.KindText, Type: "nvarchar"}, {Name: "orderid", Kind: rowhash.KindInt}}
	got, err = filter(sqldialect.SQLServer{}, tk, []string{"Code", "OrderID"}, []sqldialect.Key{{"Code": "a", "OrderID": 1}})
	if err != nil || !strings.Contains(got, "[code] = ") || !strings.Contains(got, "[orderid] = ") {
		t.Errorf("compound key: %q, %v", got, err)
	}
}

// Table.Run, as the CLI and the server run a repair: the table's cap
// cannot be raised by the caller, and a pipeline that keeps deleted rows
// by design refuses the deletion, with the report still returned.
func TestTableRunGuardsDeletion(t *testing.T) {
	p := newPair(t, "(id int PRIMARY KEY, v int)")
	p.both(t, "INSERT INTO "+p.name+" SELECT g, g FROM generate_series(1, 20) g")
	exec(t, p.tgt, "INSERT INTO "+p.name+" VALUES (21, 1), (22, 1)")
	retained := ""
	tbl := Table{
		Name: "t",
		Sides: func() (sqldialect.Side, sqldialect.Side, error) {
			return sqldialect.Side{DB: p.src, Dialect: sqldialect.Postgres{}, Table: p.name},
				sqldialect.Side{DB: p.tgt, Dialect: sqldialect.Postgres{}, Table: p.name}, nil
		},
		Signaler: &recordingSignaler{}, DataCollection: "public.t",
		Limits:   config.Repair{MaxDeletes: 5},
		Retained: func(context.Context) (string, error) { return retained, nil },
	}
	ctx := context.Background()
	if _, err := tbl.Run(ctx, StartOptions{Repair: true, DeleteExtra: true, MaxDeletes: 6}, Options{}); err == nil || !strings.Contains(err.Error(), "above table t's cap of 5") {
		t.Errorf("raised cap: %v", err)
	}
	retained = "source connector src has d in skipped.operations"
	rep, err := tbl.Run(ctx, StartOptions{Repair: true, DeleteExtra: true}, Options{})
	if err == nil || !strings.Contains(err.Error(), "retained history") || rep == nil || rep.ExtraCount != 2 {
		t.Errorf("retained history: report %v, error %v", rep != nil, err)
	}
	if n := len(targetIDs(t, p.tgt, p.name)); n != 22 {
		t.Fatalf("%d target rows after refusals, want 22", n)
	}
	retained = ""
	rep, err = tbl.Run(ctx, StartOptions{Repair: true, DeleteExtra: true, MaxDeletes: 2}, Options{})
	if err != nil || rep.Repair.RowsDeleted != 2 {
		t.Errorf("lowered cap: %v, %+v", err, rep.Repair)
	}
}
