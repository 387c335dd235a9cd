// Package mixintest helps the tests of what the mixin renders (rules/
// and dashboards/) check it against the code: which metric names
// cdc-sentinel exports, and which names a PromQL expression uses, so that
// a renamed metric breaks the build instead of an alert. Tests only: the
// binary never imports it.
package mixintest

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-sentinel/cdc-sentinel/internal/metricsdoc"
	"github.com/cdc-sentinel/cdc-sentinel/internal/promreg"
)

// Exported is the set of metric names cdc-sentinel exposes, as a
// Prometheus query sees them (histograms with _bucket, _sum and _count).
type Exported map[string]bool

// ExportedMetrics collects the metric names cdc-sentinel exports: the
// cdc_* metrics declared in the Go sources under root (read by
// metricsdoc.Scan, the same reader that writes docs/metrics.md), histograms
// and summaries also with _bucket/_sum/_count, cdc_sentinel_build_info
// from the version collector, and the Go and process collectors' names
// from the collectors themselves.
//
// Reading sources rather than scraping a running binary finds the metrics
// that only appear when their feature is configured or has something to
// report.
func ExportedMetrics(root string) (Exported, error) {
	ms, err := metricsdoc.Scan(root)
	if err != nil {
		return nil, fmt.Errorf("collecting metric names under %s: %w", root, err)
	}
	out := Exported{"cdc_sentinel_build_info": true}
	for _, m := range ms {
		out[m.Name] = true
		switch m.Type {
		case "histogram":
			out[m.Name+"_bucket"], out[m.Name+"_sum"], out[m.Name+"_count"] = true, true, true
		case "summary":
			out[m.Name+"_sum"], out[m.Name+"_count"] = true, true
		}
	}
	names, err := runtimeCollectorNames()
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		out[n] = true
	}
	return out, nil
}

// runtimeCollectorNames are the metrics of the Go and process collectors
// that the server registers, gathered from the collectors themselves.
func runtimeCollectorNames() ([]string, error) {
	reg := prometheus.NewRegistry()
	for _, c := range promreg.RuntimeCollectors() {
		if _, err := promreg.Register(reg, c); err != nil {
			return nil, err
		}
	}
	// Gather fails for the process collector where /proc is missing; the
	// families gathered are still returned.
	mfs, _ := reg.Gather()
	var out []string
	for _, mf := range mfs {
		name := mf.GetName()
		out = append(out, name)
		switch mf.GetType().String() {
		case "HISTOGRAM", "GAUGE_HISTOGRAM":
			out = append(out, name+"_bucket", name+"_sum", name+"_count")
		case "SUMMARY":
			out = append(out, name+"_sum", name+"_count")
		}
	}
	return out, nil
}
