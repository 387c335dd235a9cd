package vault

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

var leaseExpiryDesc = prometheus.NewDesc("cdc_vault_lease_expiry_timestamp_seconds",
	"When the lease of a database's dynamic Vault credentials ends, as last granted or renewed; new credentials are fetched before then. Absent for KV secrets, which have no lease.",
	[]string{"database"}, nil)

// LeaseCollector exports the lease expiry of each Source at scrape time.
// It satisfies collector.Collector.
type LeaseCollector struct {
	sources []*Source
}

// NewLeaseCollector reports on sources.
func NewLeaseCollector(sources ...*Source) *LeaseCollector {
	return &LeaseCollector{sources: sources}
}

// Name implements collector.Collector.
func (c *LeaseCollector) Name() string { return "vault" }

// Collect implements collector.Collector; it only reads memory.
func (c *LeaseCollector) Collect(_ context.Context, ch chan<- prometheus.Metric) error {
	for _, s := range c.sources {
		if t, ok := s.LeaseExpiry(); ok {
			ch <- prometheus.MustNewConstMetric(leaseExpiryDesc, prometheus.GaugeValue, float64(t.UnixNano())/1e9, s.Name())
		}
	}
	return nil
}
