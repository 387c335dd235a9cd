// Package collector turns the pipeline's state into Prometheus metrics at
// scrape time. Each source of metrics is a Collector; the Exporter runs
// them concurrently under the scrape's deadline, so one slow or dead
// upstream reports its own failure and never delays or blanks the others.
package collector

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"

	"github.com/cdc-sentinel/cdc-sentinel/internal/tracing"
)

// Metric names are written out in full (not built from parts) so that
// the metrics reference can be checked against the code by a search.

// Collector gathers one family of metrics. Collectors that need a Connect
// cluster's listing of connectors call Connectors(ctx, cluster), which
// lists each cluster once per scrape whoever asks.
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
		"cdc_scrape_collector_success",
		"Whether a collector succeeded in this scrape.",
		[]string{"collector"}, nil)
	scrapeDurationDesc = prometheus.NewDesc(
		"cdc_scrape_collector_duration_seconds",
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
	return &Exporter{ctx: withListingMemo(ctx), collectors: collectors, logger: logger}
}

// Describe sends nothing: the set of series depends on what is found, so
// the exporter is an unchecked collector.
func (e *Exporter) Describe(chan<- *prometheus.Desc) {}

// Collect runs every collector concurrently. A collector that overruns the
// scrape's deadline is abandoned: its late metrics are dropped rather than
// holding up the whole scrape.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	var wg sync.WaitGroup
	for _, c := range e.collectors {
		wg.Add(1)
		go func(c Collector) {
			defer wg.Done()
			e.run(c, ch)
		}(c)
	}
	wg.Wait()
}

// softDeadline leaves collectors a tenth of the budget to report their own
// failure (an up 0) before the exporter stops waiting for them.
func softDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, time.Until(dl)*9/10)
}

func (e *Exporter) run(c Collector, ch chan<- prometheus.Metric) {
	start := time.Now()
	own := make(chan prometheus.Metric, 64)
	done := make(chan error, 1)
	cctx, cancel := softDeadline(e.ctx)
	defer cancel()
	cctx, span := tracing.Start(cctx, "collect "+c.Name(), attribute.String("collector", c.Name()))
	go func() {
		var err error
		// A panicking collector fails its own scrape, not the process.
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("collector panicked: %v", r)
			}
			done <- err
			close(own)
		}()
		err = c.Collect(cctx, own)
	}()
	var err error
	for forwarding := true; forwarding; {
		select {
		case m, ok := <-own:
			if !ok {
				err = <-done
				forwarding = false
				break
			}
			ch <- m
		case <-e.ctx.Done():
			err = fmt.Errorf("abandoned at the scrape deadline: %w", e.ctx.Err())
			forwarding = false
			// Drain what the collector still sends until it notices.
			go func() {
				for range own {
				}
			}()
		}
	}
	dur := time.Since(start).Seconds()
	tracing.End(span, err)
	success := 1.0
	if err != nil {
		success = 0
		e.logger.Warn("collector failed", "collector", c.Name(), "duration_seconds", dur, "err", err)
	}
	ch <- prometheus.MustNewConstMetric(scrapeDurationDesc, prometheus.GaugeValue, dur, c.Name())
	ch <- prometheus.MustNewConstMetric(scrapeSuccessDesc, prometheus.GaugeValue, success, c.Name())
}
