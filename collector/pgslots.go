package collector

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/lag"
)

var (
	slotLagDesc = prometheus.NewDesc("cdc_replication_slot_lag_bytes",
		"WAL written but not yet confirmed by the slot's consumer: pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn).",
		[]string{"database", "slot"}, nil)
	slotActiveDesc = prometheus.NewDesc("cdc_replication_slot_active",
		"Whether a consumer is connected to the replication slot.",
		[]string{"database", "slot"}, nil)
	slotRetainedDesc = prometheus.NewDesc("cdc_replication_slot_retained_wal_bytes",
		"WAL the server keeps on disk for the slot: pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn).",
		[]string{"database", "slot"}, nil)
	slotSafeDesc = prometheus.NewDesc("cdc_replication_slot_safe_wal_size_bytes",
		"WAL that can still be written before the slot is in danger of losing required WAL (PostgreSQL 13+, with max_slot_wal_keep_size set).",
		[]string{"database", "slot"}, nil)
	slotWALStatusDesc = prometheus.NewDesc("cdc_replication_slot_wal_status",
		"Availability of the WAL the slot needs (PostgreSQL 13+): 1 for the current status, 0 for the others.",
		[]string{"database", "slot", "status"}, nil)
)

// walStatuses are pg_replication_slots.wal_status's values.
var walStatuses = []string{"reserved", "extended", "unreserved", "lost"}

// SlotsCollector reports every logical replication slot of PostgreSQL
// databases, found automatically.
type SlotsCollector struct {
	dbs []*database.DB
}

// NewSlotsCollector watches the PostgreSQL databases among dbs.
func NewSlotsCollector(dbs ...*database.DB) *SlotsCollector {
	return &SlotsCollector{dbs: withDriver(dbs, config.DriverPostgres)}
}

// Name implements Collector.
func (c *SlotsCollector) Name() string { return "pgslots" }

// Collect implements Collector.
func (c *SlotsCollector) Collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	return fanOut(ctx, c.dbs, ch, collectSlots)
}

func collectSlots(ctx context.Context, db *database.DB, ch chan<- prometheus.Metric) error {
	slots, err := db.ReplicationSlots(ctx)
	if err != nil {
		return err
	}
	name := db.Name()
	for _, s := range slots {
		g := func(d *prometheus.Desc, v float64, extra ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{name, s.Name}, extra...)...)
		}
		g(slotActiveDesc, boolValue(s.Active))
		if b, ok := lag.SlotLagBytes(s); ok {
			g(slotLagDesc, b)
		}
		if s.RetainedBytes != nil {
			g(slotRetainedDesc, *s.RetainedBytes)
		}
		if s.SafeWALSize != nil {
			g(slotSafeDesc, *s.SafeWALSize)
		}
		if s.WALStatus != "" {
			for _, st := range walStatuses {
				g(slotWALStatusDesc, boolValue(st == s.WALStatus), st)
			}
		}
	}
	return nil
}
