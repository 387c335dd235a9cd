package collector

import (
	"context"
	"errors"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
)

// fanOut runs collect for every item concurrently, so one slow upstream
// does not hold up the others, and joins their errors.
func fanOut[T any](ctx context.Context, items []T, ch chan<- prometheus.Metric, collect func(context.Context, T, chan<- prometheus.Metric) error) error {
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = collect(ctx, it, ch)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// withDriver keeps the databases of one driver.
func withDriver(dbs []*database.DB, driver string) []*database.DB {
	var own []*database.DB
	for _, db := range dbs {
		if db.Driver() == driver {
			own = append(own, db)
		}
	}
	return own
}
