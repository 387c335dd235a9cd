package collector

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

var circuitOpenDesc = prometheus.NewDesc("cdc_remediation_circuit_open",
	"1 while the global circuit breaker stops all actions (max_actions_per_hour reached in the last hour).",
	nil, nil)

// CircuitReader tells whether the remediator's circuit breaker is open,
// from its store: the remediation engine implements it.
type CircuitReader interface {
	CircuitOpen(ctx context.Context) (bool, error)
}

// RemediationCollector reads the remediator's circuit breaker at scrape
// time, so the gauge is what the store says now, for every replica
// sharing it, and closes by itself as actions leave the hour window.
type RemediationCollector struct {
	circuit CircuitReader
}

// NewRemediationCollector reports r's circuit breaker.
func NewRemediationCollector(r CircuitReader) *RemediationCollector {
	return &RemediationCollector{circuit: r}
}

// Name implements Collector.
func (c *RemediationCollector) Name() string { return "remediation" }

// Collect implements Collector. When the store cannot be read the gauge
// is left out rather than guessed.
func (c *RemediationCollector) Collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	open, err := c.circuit.CircuitOpen(ctx)
	if err != nil {
		return fmt.Errorf("reading the remediation circuit breaker: %w", err)
	}
	v := 0.0
	if open {
		v = 1
	}
	ch <- prometheus.MustNewConstMetric(circuitOpenDesc, prometheus.GaugeValue, v)
	return nil
}
