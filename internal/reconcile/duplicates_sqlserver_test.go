package reconcile

import (
	"context"
	"database/sql/driver"
	"slices"
	"strings"
	"testing"

	"github.com/DATA-DOG/go-sqlmock"

	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash/rowhashtest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// sqlServerDuplicates is a SQL Server pair over go-sqlmock whose target
// holds, of key 7, three identical copies equal to the source's row; of
// 8, two equal to the source's and one other; of 9, two copies neither
// of which the source holds; and of 10, two copies of a key the source
// no longer has. Every statement run is recorded in order.
func sqlServerDuplicates(t *testing.T) (*sqldialect.Plan, *Report, *[]string, sqlmock.Sqlmock) {
	t.Helper()
	var ran []string
	record := sqlmock.QueryMatcherFunc(func(_, actual string) error {
		ran = append(ran, actual)
		return nil
	})
	src, smock, err := sqlmock.New(sqlmock.QueryMatcherOption(record))
	if err != nil {
		t.Fatal(err)
	}
	tgt, tmock, err := sqlmock.New(sqlmock.QueryMatcherOption(record))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close(); tgt.Close() })
	cols := []sqldialect.Column{{Name: "id", Type: "int", Kind: rowhash.KindInt, Scale: -1, Width: -1}, {Name: "v", Type: "nvarchar", Kind: rowhash.KindText, Scale: -1, Width: -1}}
	plan := &sqldialect.Plan{
		Source:     sqldialect.Side{DB: src, Dialect: sqldialect.SQLServer{}, Table: "dbo.t"},
		Target:     sqldialect.Side{DB: tgt, Dialect: sqldialect.SQLServer{}, Table: "dbo.t"},
		SourceCols: cols, TargetCols: cols, Key: []int{0},
	}
	h := func(s string) rowhash.Hash { return rowhashtest.HashBytes([]byte(s)) }
	smock.ExpectQuery("exists").WillReturnRows(sqlmock.NewRows([]string{"n"}).AddRow(1))
	copies := sqlmock.NewRows([]string{"rid", "kenc", "k0", "a", "b"})
	for _, c := range []struct {
		id   string
		hash rowhash.Hash
	}{{"7", h("7a")}, {"7", h("7a")}, {"7", h("7a")}, {"8", h("8a")}, {"8", h("8b")}, {"8", h("8a")}, {"9", h("9x")}, {"9", h("9y")}, {"10", h("10")}, {"10", h("10")}} {
		copies.AddRow("", c.id, c.id, c.hash.A, c.hash.B)
	}
	tmock.ExpectQuery("read copies").WillReturnRows(copies)
	at := sqlmock.NewRows([]string{"kenc", "a", "b"})
	for _, r := range []struct{ id, row string }{{"7", "7a"}, {"8", "8a"}, {"9", "9z"}} {
		at.AddRow(r.id, h(r.row).A, h(r.row).B)
	}
	smock.ExpectQuery("look up at the source").WillReturnRows(at)
	rep := &Report{Table: "t", RowsSource: 10, RowsTarget: 14, DuplicateInTarget: []sqldialect.Key{{"id": 7}, {"id": 8}, {"id": 9}, {"id": 10}}}
	t.Cleanup(func() {
		for _, m := range []sqlmock.Sqlmock{smock, tmock} {
			if err := m.ExpectationsWereMet(); err != nil {
				t.Error(err)
			}
		}
	})
	return plan, rep, &ran, tmock
}

// On a SQL Server target, which has no physical row id, surplus copies go
// by content: DELETE TOP (n) of the key's copies holding one row hash,
// keeping the copy equal to the source's row (or, when none is, one
// copy, re-sent); a key the source no longer has keeps its copies.
func TestSurplusCopiesOnASQLServerTargetGoByContent(t *testing.T) {
	plan, rep, ran, tmock := sqlServerDuplicates(t)
	for _, n := range []int64{2, 1, 1, 1} {
		tmock.ExpectExec("DELETE TOP").WillReturnResult(sqlmock.NewResult(0, n))
	}
	sig := &recordingSignaler{}
	res, err := Repair(context.Background(), plan, rep, RepairOptions{Signaler: sig, DataCollection: "db.dbo.t", DeleteExtra: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.CopiesDeleted != 5 || res.RowsDeleted != 5 {
		t.Errorf("%d copies, %d rows deleted; want 5 and 5", res.CopiesDeleted, res.RowsDeleted)
	}
	if got := keyStrings(res.Deduplicated, "id"); !slices.Equal(got, []string{"7", "8", "9"}) {
		t.Errorf("deduplicated %v; want [7 8 9] (10 is not at the source)", got)
	}
	if got := keyStrings(res.DuplicatesResent, "id"); !slices.Equal(got, []string{"9"}) || len(sig.filters) != 1 {
		t.Errorf("re-sent %v in %d signals; want [9] in 1", got, len(sig.filters))
	}
	var deletes []string
	for _, q := range *ran {
		if strings.HasPrefix(q, "DELETE") {
			deletes = append(deletes, q)
		}
	}
	testenv.Golden(t, "tsql/repair-duplicates.sql", strings.Join(deletes, "\n"))
}

// The same copies count against the delete cap, and a dry run names how
// many would go without running a DELETE.
func TestSurplusCopiesOnASQLServerTargetCountAgainstTheCap(t *testing.T) {
	plan, rep, _, _ := sqlServerDuplicates(t)
	if _, err := Repair(context.Background(), plan, rep, RepairOptions{Signaler: &recordingSignaler{}, DeleteExtra: true, MaxDeletes: 4}); err == nil ||
		!strings.Contains(err.Error(), "5 target rows would go (0 target-only, 5 surplus copies), more than the 4") {
		t.Errorf("over the cap: %v", err)
	}
	plan, rep, _, _ = sqlServerDuplicates(t)
	res, err := Repair(context.Background(), plan, rep, RepairOptions{Signaler: &recordingSignaler{}, DataCollection: "db.dbo.t", DeleteExtra: true, DryRun: true})
	if err != nil || res.WouldDeleteCopies != 5 || res.CopiesDeleted != 0 {
		t.Errorf("dry run: %+v, %v; want 5 copies that would go, none gone", res, err)
	}
}

// A DELETE the target refuses fails the repair naming what was being
// deleted, and what went before it is counted.
func TestSurplusCopiesOnASQLServerTargetFailingDelete(t *testing.T) {
	plan, rep, _, tmock := sqlServerDuplicates(t)
	tmock.ExpectExec("DELETE TOP").WillReturnResult(sqlmock.NewResult(0, 2))
	tmock.ExpectExec("DELETE TOP").WillReturnError(driver.ErrBadConn)
	res, err := Repair(context.Background(), plan, rep, RepairOptions{Signaler: &recordingSignaler{}, DataCollection: "db.dbo.t", DeleteExtra: true})
	if err == nil || !strings.Contains(err.Error(), "deleting surplus copies of duplicated keys") || res.CopiesDeleted != 2 {
		t.Errorf("failing delete: %+v, %v; want the error and 2 copies counted", res, err)
	}
}
