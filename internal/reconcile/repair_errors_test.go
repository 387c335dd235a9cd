package reconcile

import (
	"context"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

// A report cut at the reported-row limit does not name every differing
// row: repairing from it would leave rows out, so it is refused before
// anything is sent or deleted.
func TestRepairOfATruncatedReportIsRefused(t *testing.T) {
	sig := &recordingSignaler{}
	rep := &Report{Table: "orders", Truncated: true, MissingCount: 2, MissingInTarget: []sqldialect.Key{{"id": 1}}}
	_, err := Repair(context.Background(), nil, rep, RepairOptions{Signaler: sig, DeleteExtra: true})
	want := "repair of orders: the report was truncated; raise the reported-row limit or repair in parts"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
	if len(sig.filters) != 0 {
		t.Errorf("%d signals sent from a truncated report", len(sig.filters))
	}
}

// Rows to re-send and no channel to send them through (a caller other
// than the command, which checks first): the error names the setting.
func TestRepairWithoutASignalChannelNamesTheSetting(t *testing.T) {
	rep := &Report{Table: "orders", MissingCount: 1, MissingInTarget: []sqldialect.Key{{"id": 1}}}
	_, err := Repair(context.Background(), nil, rep, RepairOptions{})
	want := "repair of orders: no signal channel configured (tables[].signal)"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}
