// Package collector turns the pipeline's state into Prometheus metrics at
// scrape time. Each source of metrics is a Collector; the Exporter runs
// them concurrently under the scrape's deadline, so one slow or dead
// upstream reports its own failure and never delays or blanks the others.
package collector

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Namespace prefixes every metric cdc-sentinel exports.
const Namespace = "cdc"

// Collector gathers one family of metrics.
type Collector interface {
	// Name labels the collector's cdc_scrape_collector_* series.
	Name() string
	// Collect sends metrics to ch; it must return by ctx's deadline. An
	// error marks the collector failed for this scrape, but metrics already
	// sent (its own *_up 0, say) are kept.
	Collect(ctx context.Context, ch chan<- prometheus.Metric) error
}

var (
	scrapeSuccessDesc = prometheus.NewDesc(
		prometheus.BuildFQName(Namespace, "scrape", "collector_success"),
		"Whether a collector succeeded in this scrape.",
		[]string{"collector"}, nil)
	scrapeDurationDesc = prometheus.NewDesc(
		prometheus.BuildFQName(Namespace, "scrape", "collector_duration_seconds"),
		"How long a collector took in this scrape.",
		[]string{"collector"}, nil)
)

// Exporter runs a set of collectors for one scrape. It is built per
// request (the mysqld_exporter pattern) so that the scrape's context
// reaches every query.
type Exporter struct {
	ctx        context.Context
	collectors []Collector
	logger     *slog.Logger
}

// NewExporter returns an Exporter for one scrape bounded by ctx.
func NewExporter(ctx context.Context, logger *slog.Logger, collectors ...Collector) *Exporter {
	return &Exporter{ctx: ctx, collectors: collectors, logger: logger}
}

// Describe sends nothing: the set of series depends on what is found, so
// the exporter is an unchecked collector.
func (e *Exporter) Describe(chan<- *prometheus.Desc) {}

// Collect runs every collector concurrently.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	var wg sync.WaitGroup
	for _, c := range e.collectors {
		wg.Add(1)
		go func(c Collector) {
			defer wg.Done()
			start := time.Now()
			err := c.Collect(e.ctx, ch)
			dur := time.Since(start).Seconds()
			success := 1.0
			if err != nil {
				success = 0
				e.logger.Warn("collector failed", "collector", c.Name(), "duration_seconds", dur, "err", err)
			}
			ch <- prometheus.MustNewConstMetric(scrapeDurationDesc, prometheus.GaugeValue, dur, c.Name())
			ch <- prometheus.MustNewConstMetric(scrapeSuccessDesc, prometheus.GaugeValue, success, c.Name())
		}(c)
	}
	wg.Wait()
}
