package collector

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	vaultLeaseExpiryDesc = prometheus.NewDesc("cdc_vault_lease_expiry_timestamp_seconds",
		"When the lease of a database's dynamic Vault credentials ends, as last granted or renewed; new credentials are fetched before then. Absent for KV secrets, which have no lease.",
		[]string{"database"}, nil)
	vaultRequestsDesc = prometheus.NewDesc("cdc_vault_requests_total",
		"HTTP requests cdc-sentinel made to Vault (logins, secret reads, lease renewals), by outcome: success, or error for a transport failure or a non-2xx answer.",
		[]string{"outcome"}, nil)
)

// VaultLeaseReader gives the lease of one database's Vault credentials;
// ok is false for credentials without a lease. vault.Source implements it.
type VaultLeaseReader interface {
	Name() string
	LeaseExpiry() (expiry time.Time, ok bool)
}

// VaultRequestReader gives how many requests were made to Vault since
// cdc-sentinel started, by outcome. vault.Requests implements it.
type VaultRequestReader interface {
	VaultRequests() (succeeded, failed uint64)
}

// VaultCollector reports the Vault requests made and the lease of each
// database's credentials.
type VaultCollector struct {
	requests VaultRequestReader
	leases   []VaultLeaseReader
}

// NewVaultCollector reports requests and the leases of sources.
func NewVaultCollector(requests VaultRequestReader, leases ...VaultLeaseReader) *VaultCollector {
	return &VaultCollector{requests: requests, leases: leases}
}

// Name implements Collector.
func (c *VaultCollector) Name() string { return "vault" }

// Collect implements Collector; it only reads memory.
func (c *VaultCollector) Collect(_ context.Context, ch chan<- prometheus.Metric) error {
	succeeded, failed := c.requests.VaultRequests()
	ch <- prometheus.MustNewConstMetric(vaultRequestsDesc, prometheus.CounterValue, float64(succeeded), "success")
	ch <- prometheus.MustNewConstMetric(vaultRequestsDesc, prometheus.CounterValue, float64(failed), "error")
	for _, l := range c.leases {
		if t, ok := l.LeaseExpiry(); ok {
			ch <- prometheus.MustNewConstMetric(vaultLeaseExpiryDesc, prometheus.GaugeValue, float64(t.UnixNano())/1e9, l.Name())
		}
	}
	return nil
}
