package reconcile

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
)

func TestReportWriteText(t *testing.T) {
	r := &Report{Table: "orders", RowsSource: 3, RowsTarget: 2, Mode: "range", Queries: 4, Key: []string{"id", "region"},
		MissingInTarget: []rowhash.Key{{"id": json.Number("7"), "region": "eu"}}, MissingCount: 1,
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
