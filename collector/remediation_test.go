package collector

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

type fakeCircuit struct {
	open bool
	err  error
}

func (f *fakeCircuit) CircuitOpen(context.Context) (bool, error) { return f.open, f.err }

// scrapeOnce runs one collector as a scrape would, keeping only its own
// series.
type scrapeOnce struct{ c Collector }

func (s scrapeOnce) Describe(chan<- *prometheus.Desc) {}
func (s scrapeOnce) Collect(ch chan<- prometheus.Metric) {
	_ = s.c.Collect(context.Background(), ch)
}

func TestRemediationCircuitIsReadAtScrapeTime(t *testing.T) {
	f := &fakeCircuit{open: true}
	c := scrapeOnce{NewRemediationCollector(f)}
	want := `
# HELP cdc_remediation_circuit_open 1 while the global circuit breaker stops all actions (max_actions_per_hour reached in the last hour).
# TYPE cdc_remediation_circuit_open gauge
cdc_remediation_circuit_open %s
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(strings.Replace(want, "%s", "1", 1))); err != nil {
		t.Fatal(err)
	}
	f.open = false // the hour window cleared: the next scrape says so
	if err := testutil.CollectAndCompare(c, strings.NewReader(strings.Replace(want, "%s", "0", 1))); err != nil {
		t.Fatal(err)
	}
}

func TestRemediationCircuitUnreadableIsLeftOut(t *testing.T) {
	c := NewRemediationCollector(&fakeCircuit{err: errors.New("store closed")})
	ch := make(chan prometheus.Metric, 1)
	err := c.Collect(context.Background(), ch)
	if err == nil || !strings.Contains(err.Error(), "circuit breaker") || len(ch) != 0 {
		t.Fatalf("err %v, %d series", err, len(ch))
	}
}
