package collector

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cdc-sentinel/cdc-sentinel/internal/schemadrift"
)

type fakeSchemaChecks map[string]schemadrift.Result

func (f fakeSchemaChecks) Check(context.Context) map[string]schemadrift.Result { return f }

// Every kind is present for a checked table, 0 when clean; a table
// whose only check failed has no series; the metric names no column.
func TestSchemaMismatchesAreCountedPerKind(t *testing.T) {
	c := scrapeOnce{NewSchemaCollector(fakeSchemaChecks{
		"customers": {CheckedAt: time.Unix(1700000000, 0), Mismatches: []schemadrift.Mismatch{
			{Kind: schemadrift.MissingInTarget, Column: "note"}, {Kind: schemadrift.NotInTopic, Column: "note"}, {Kind: schemadrift.MissingInTarget, Column: "email"}}},
		"orders": {CheckedAt: time.Unix(1700000060, 0)},
		"gone":   {Err: errors.New("source: connection refused")},
	})}
	want := `
# HELP cdc_schema_check_timestamp_seconds When the table's schema was last compared across its layers: cdc_schema_mismatched_columns is that check's result (cached between checks), so this shows its age.
# TYPE cdc_schema_check_timestamp_seconds gauge
cdc_schema_check_timestamp_seconds{table="customers"} 1.7e+09
cdc_schema_check_timestamp_seconds{table="orders"} 1.70000006e+09
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "cdc_schema_check_timestamp_seconds"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(c, "cdc_schema_mismatched_columns"); n != 2*len(schemadrift.Kinds) {
		t.Errorf("%d cdc_schema_mismatched_columns series, want every kind of both checked tables (%d)", n, 2*len(schemadrift.Kinds))
	}
	wantCounts := `
# HELP cdc_schema_mismatched_columns x
# TYPE cdc_schema_mismatched_columns gauge
cdc_schema_mismatched_columns{kind="missing_in_source",table="customers"} 0
cdc_schema_mismatched_columns{kind="missing_in_source",table="orders"} 0
cdc_schema_mismatched_columns{kind="missing_in_target",table="customers"} 2
cdc_schema_mismatched_columns{kind="missing_in_target",table="orders"} 0
cdc_schema_mismatched_columns{kind="not_captured",table="customers"} 0
cdc_schema_mismatched_columns{kind="not_captured",table="orders"} 0
cdc_schema_mismatched_columns{kind="not_in_topic",table="customers"} 1
cdc_schema_mismatched_columns{kind="not_in_topic",table="orders"} 0
cdc_schema_mismatched_columns{kind="type",table="customers"} 0
cdc_schema_mismatched_columns{kind="type",table="orders"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(strings.Replace(wantCounts, "# HELP cdc_schema_mismatched_columns x", "# HELP cdc_schema_mismatched_columns "+helpOf(schemaMismatchedDesc), 1)), "cdc_schema_mismatched_columns"); err != nil {
		t.Error(err)
	}
}

// helpOf is a metric's help text, read from its description.
func helpOf(d *prometheus.Desc) string {
	m := regexp.MustCompile(`help: "((?:[^"\\]|\\.)*)"`).FindStringSubmatch(d.String())
	if m == nil {
		return ""
	}
	return m[1]
}
