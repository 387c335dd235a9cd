// Package promreg is the one way cdc-sentinel registers Prometheus
// collectors. Most metrics are built at scrape time by collector/ and
// need no registration; what is registered is the per-scrape exporter,
// the server's own metrics and the few counters kept across reloads.
package promreg

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Register registers c on reg and returns the collector reg holds: c, or
// the equal collector registered before it, so that counters built again
// by a reload keep counting instead of failing or starting over. With a
// nil reg nothing is registered and c is returned.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if reg == nil {
		return c, nil
	}
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, fmt.Errorf("registering metrics: %w", err)
}

// RuntimeCollectors are the Go and process collectors the server exports
// (unless --web.disable-exporter-metrics), built afresh for each caller:
// the server registers them, and the monitoring checks list their names.
func RuntimeCollectors() []prometheus.Collector {
	return []prometheus.Collector{collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})}
}
