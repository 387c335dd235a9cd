package promreg

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func newRequests() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cdc_test_requests_total", Help: "Requests."}, []string{"outcome"})
}

// A counter built again (a reload) is the one registered first, so its
// count carries on.
func TestRegisterAgainReturnsTheCollectorAlreadyThere(t *testing.T) {
	reg := prometheus.NewRegistry()
	first, err := Register(reg, newRequests())
	if err != nil {
		t.Fatal(err)
	}
	first.WithLabelValues("success").Inc()
	again, err := Register(reg, newRequests())
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Fatal("registering an equal collector again gave a new one, not the one already registered")
	}
	if n := testutil.ToFloat64(again.WithLabelValues("success")); n != 1 {
		t.Errorf("count after re-registering %v, want 1", n)
	}
}

func TestRegisterConflictIsAnError(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := Register(reg, newRequests()); err != nil {
		t.Fatal(err)
	}
	// Same name, other labels: not the same metric.
	other := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cdc_test_requests_total", Help: "Requests."}, []string{"code"})
	if _, err := Register(reg, other); err == nil || !strings.Contains(err.Error(), "registering metrics") {
		t.Fatalf("err %v, want a registration error", err)
	}
}

func TestRegisterOnNilRegistersNothing(t *testing.T) {
	c := newRequests()
	got, err := Register(nil, c)
	if err != nil || got != c {
		t.Fatalf("got %v, %v; want the collector back and no error", got, err)
	}
}

func TestRuntimeCollectorsRegisterTogether(t *testing.T) {
	reg := prometheus.NewRegistry()
	for _, c := range RuntimeCollectors() {
		if _, err := Register(reg, c); err != nil {
			t.Fatal(err)
		}
	}
}
