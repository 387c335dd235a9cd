package reconcile

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

func TestReportWriteText(t *testing.T) {
	r := &Report{Table: "orders", RowsSource: 3, RowsTarget: 2, Mode: "range", Queries: 4, Key: []string{"id", "region"},
		MissingInTarget: []sqldialect.Key{{"id": json.Number("7"), "region": "eu"}}, MissingCount: 1,
		Repair: &RepairResult{RowsResent: 1, Signals: []string{"s1"}, Channel: "table dbo.debezium_signal"}}
	var b bytes.Buffer
	r.WriteText(&b)
	for _, want := range []string{
		"table orders: 3 source rows, 2 target rows",
		"missing in target: 1, extra in target: 0, changed: 0",
		"KIND     ID  REGION",
		"missing  7   eu",
		"repair: 1 rows re-sent in 1 signal(s) through table dbo.debezium_signal; 0 target-only rows deleted",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in\n%s", want, b.String())
		}
	}
}

// A repair the command waited for says how it ended.
func TestReportWriteTextShowsTheRepairsEnd(t *testing.T) {
	end := t0.Add(42 * time.Second)
	r := &Report{Table: "orders", Key: []string{"id"}, MissingCount: 1, MissingInTarget: []sqldialect.Key{{"id": json.Number("7")}},
		Repair: &RepairResult{RowsResent: 1, Signals: []string{"s1"}, Channel: "table dbo.debezium_signal",
			Progress: &RepairProgress{Status: RepairTimedOut, Snapshots: 2, SnapshotsCompleted: 1, RowsScanned: 1,
				StartedAt: t0, FinishedAt: &end, Error: "the repair did not complete within 30m0s"}}}
	var b bytes.Buffer
	r.WriteText(&b)
	want := "repair timed_out: 1 of 2 snapshots completed, 1 rows re-scanned in 42s (the repair did not complete within 30m0s)"
	if !strings.Contains(b.String(), want) {
		t.Errorf("missing %q in\n%s", want, b.String())
	}
}
