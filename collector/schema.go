package collector

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-sentinel/cdc-sentinel/internal/schemadrift"
)

var (
	schemaMismatchedDesc = prometheus.NewDesc("cdc_schema_mismatched_columns",
		"Columns of a table that differ between its layers, by kind: missing_in_target (a source column the target lacks), missing_in_source (a target column that is neither a source column nor sink metadata such as __source_ts_ms, the watermark or the deleted column), type (a target type that cannot hold every source value: narrower number or string, fewer fractional seconds, text into a number), not_captured (a source column SQL Server's capture instance does not track), not_in_topic (a captured column the topic's value schema lacks). Present for every checked table, 0 when the layers agree. Read from the catalogs, the Schema Registry or the newest record's inline schema at most every schema_check.interval; scrapes in between serve the cached result. The log and doctor name the columns.",
		[]string{"table", "kind"}, nil)
	schemaCheckTimeDesc = prometheus.NewDesc("cdc_schema_check_timestamp_seconds",
		"When the table's schema was last compared across its layers: cdc_schema_mismatched_columns is that check's result (cached between checks), so this shows its age.",
		[]string{"table"}, nil)
)

// SchemaChecker is what the schema collector needs: every table's last
// schema check, checking those that are due within ctx.
type SchemaChecker interface {
	Check(ctx context.Context) map[string]schemadrift.Result
}

// SchemaCollector reports how each table's columns differ between the
// source, the capture instance, the topic and the target.
type SchemaCollector struct {
	checker SchemaChecker
}

// NewSchemaCollector reports checker's results.
func NewSchemaCollector(checker SchemaChecker) *SchemaCollector {
	return &SchemaCollector{checker: checker}
}

// Name implements Collector.
func (c *SchemaCollector) Name() string { return "schema" }

// Collect implements Collector. A table whose check failed keeps its
// last result; the collector then fails for this scrape.
func (c *SchemaCollector) Collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	results := c.checker.Check(ctx)
	names := make([]string, 0, len(results))
	for n := range results {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	for _, n := range names {
		r := results[n]
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("table %s: %w", n, r.Err))
		}
		if r.CheckedAt.IsZero() {
			continue
		}
		counts := r.Counts()
		for _, k := range schemadrift.Kinds {
			ch <- prometheus.MustNewConstMetric(schemaMismatchedDesc, prometheus.GaugeValue, float64(counts[k]), n, k)
		}
		ch <- prometheus.MustNewConstMetric(schemaCheckTimeDesc, prometheus.GaugeValue, float64(r.CheckedAt.UnixNano())/1e9, n)
	}
	return errors.Join(errs...)
}
