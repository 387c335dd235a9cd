package collector

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

type fakeVaultRequests struct{ succeeded, failed uint64 }

func (f fakeVaultRequests) VaultRequests() (uint64, uint64) { return f.succeeded, f.failed }

type fakeLease struct {
	name   string
	expiry time.Time
}

func (f fakeLease) Name() string { return f.name }
func (f fakeLease) LeaseExpiry() (time.Time, bool) {
	return f.expiry, !f.expiry.IsZero()
}

// A database whose credentials have no lease (a KV secret) has no
// expiry series; the request counts are the process's.
func TestVaultRequestsAndLeasesAreReportedFromTheReaders(t *testing.T) {
	c := scrapeOnce{NewVaultCollector(fakeVaultRequests{succeeded: 7, failed: 2},
		fakeLease{name: "orders", expiry: time.Unix(1700000600, 0)}, fakeLease{name: "kv"})}
	want := `
# HELP cdc_vault_lease_expiry_timestamp_seconds When the lease of a database's dynamic Vault credentials ends, as last granted or renewed; new credentials are fetched before then. Absent for KV secrets, which have no lease.
# TYPE cdc_vault_lease_expiry_timestamp_seconds gauge
cdc_vault_lease_expiry_timestamp_seconds{database="orders"} 1.7000006e+09
# HELP cdc_vault_requests_total HTTP requests cdc-sentinel made to Vault (logins, secret reads, lease renewals), by outcome: success, or error for a transport failure or a non-2xx answer.
# TYPE cdc_vault_requests_total counter
cdc_vault_requests_total{outcome="error"} 2
cdc_vault_requests_total{outcome="success"} 7
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}
