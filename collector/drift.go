package collector

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-sentinel/cdc-sentinel/internal/drift"
)

var (
	driftCheckedDesc = prometheus.NewDesc("cdc_drift_rows_checked_total",
		"Rows compared between source and target by sampled drift checks. Checks run at most every drift.min_interval; scrapes in between serve the cached results.",
		[]string{"table"}, nil)
	driftMismatchedDesc = prometheus.NewDesc("cdc_drift_rows_mismatched_total",
		"Sampled rows confirmed to differ (on a recheck after the table's lag plus a margin, both sides unchanged since the row was first seen differing), by kind: missing, extra, changed or duplicate (a key the target holds more rows of than the source). Results are cached between checks.",
		[]string{"table", "kind"}, nil)
	driftDifferingDesc = prometheus.NewDesc("cdc_drift_rows_differing",
		"Confirmed rows that still differed when last compared, by kind. Every check compares them again: a row leaves at the first check that finds it equal (repaired, or landed late) or changing again. At most 2 x sample_size per table; cached between checks; empty after a restart or a configuration reload until checks confirm again.",
		[]string{"table", "kind"}, nil)
	driftInFlightDesc = prometheus.NewDesc("cdc_drift_rows_in_flight_total",
		"Rechecks that found a differing row changed at the source or the target since it was seen differing: replication still at work on it, so not drift; it is looked at again after another wait.",
		[]string{"table"}, nil)
	driftLastCheckDesc = prometheus.NewDesc("cdc_drift_last_check_timestamp_seconds",
		"When the table was last sampled; results are cached between checks, so this shows their age.",
		[]string{"table"}, nil)
	driftRatioDesc = prometheus.NewDesc("cdc_drift_estimated_mismatch_ratio",
		"Confirmed mismatches over rows checked in the table's last 10 sampled checks: an estimate of the share of differing rows. Cached between checks.",
		[]string{"table"}, nil)
)

// DriftCollector runs the drift sampler within the scrape and exports its
// (cached) results.
type DriftCollector struct {
	sampler *drift.Sampler
	budget  time.Duration
}

// NewDriftCollector bounds each scrape's drift work by budget.
func NewDriftCollector(s *drift.Sampler, budget time.Duration) *DriftCollector {
	return &DriftCollector{sampler: s, budget: budget}
}

// Name implements Collector.
func (c *DriftCollector) Name() string { return "drift" }

// Collect implements Collector. A table whose check fails still reports
// its cached results; the collector then fails for this scrape.
func (c *DriftCollector) Collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	if c.budget > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.budget)
		defer cancel()
	}
	stats := c.sampler.Check(ctx)
	names := make([]string, 0, len(stats))
	for n := range stats {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	for _, n := range names {
		s := stats[n]
		if s.Err != nil {
			errs = append(errs, s.Err)
		}
		ch <- prometheus.MustNewConstMetric(driftCheckedDesc, prometheus.CounterValue, s.Checked, n)
		for _, k := range drift.Kinds {
			ch <- prometheus.MustNewConstMetric(driftMismatchedDesc, prometheus.CounterValue, s.Mismatched[k], n, k)
			ch <- prometheus.MustNewConstMetric(driftDifferingDesc, prometheus.GaugeValue, s.Differing[k], n, k)
		}
		ch <- prometheus.MustNewConstMetric(driftInFlightDesc, prometheus.CounterValue, s.InFlight, n)
		if s.LastCheck.IsZero() {
			continue
		}
		ch <- prometheus.MustNewConstMetric(driftLastCheckDesc, prometheus.GaugeValue, float64(s.LastCheck.UnixNano())/1e9, n)
		ch <- prometheus.MustNewConstMetric(driftRatioDesc, prometheus.GaugeValue, s.Ratio, n)
	}
	return errors.Join(errs...)
}
