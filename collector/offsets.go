package collector

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
)

var offsetLagDesc = prometheus.NewDesc("cdc_connector_offset_lag_seconds",
	"Commit time of the source's newest change minus that of the change the connector last committed an offset for (GET /connectors/{n}/offsets); 0 when the connector has committed the newest change, however long the source has been idle. Includes up to offset.flush.interval.ms of commit delay.",
	[]string{"connect_cluster", "connector"}, nil)

// OffsetsReader is what the offsets collector needs from a Connect
// cluster.
type OffsetsReader interface {
	ConnectLister
	Offsets(ctx context.Context, name string) ([]connect.Offset, error)
}

// OffsetsCollector reports how far each Debezium source connector's
// committed offset trails its source database.
type OffsetsCollector struct {
	clusters []OffsetsReader
	dbs      []*database.DB
	tables   []config.Table
}

// NewOffsetsCollector matches the source connectors of clusters with dbs.
// tables supply PostgreSQL's newest change time when the server does not
// track commit timestamps.
func NewOffsetsCollector(dbs []*database.DB, tables []config.Table, clusters ...OffsetsReader) *OffsetsCollector {
	return &OffsetsCollector{clusters: clusters, dbs: dbs, tables: tables}
}

// Name implements Collector.
func (c *OffsetsCollector) Name() string { return "offsets" }

// Collect implements Collector.
func (c *OffsetsCollector) Collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	return eachSource(ctx, c.clusters, c.dbs, func(ctx context.Context, cl OffsetsReader, kc *connectorkind.Connector, dbs []*database.DB) error {
		lag, ok, err := c.connectorLag(ctx, cl, kc.Name, kc.Driver(), dbs)
		if err != nil {
			return err
		}
		if ok {
			ch <- prometheus.MustNewConstMetric(offsetLagDesc, prometheus.GaugeValue, lag.Seconds(), cl.Name(), kc.Name)
		}
		return nil
	})
}

func (c *OffsetsCollector) connectorLag(ctx context.Context, cl OffsetsReader, name, driver string, dbs []*database.DB) (time.Duration, bool, error) {
	offsets, err := connectorOffsets(ctx, cl, name)
	if err != nil {
		return 0, false, fmt.Errorf("reading offsets: %w", err)
	}
	if len(offsets) == 0 {
		return 0, false, nil // nothing committed yet
	}
	if driver == config.DriverPostgres {
		return c.postgresLag(ctx, offsets[0], dbs[0])
	}
	positions, err := sqlServerPositions(offsets, dbs)
	if err != nil {
		return 0, false, err
	}
	var worst time.Duration
	found := false
	for _, p := range positions {
		lag, ok, err := p.db.OffsetLag(ctx, p.lsn.String())
		if err != nil {
			return 0, false, err
		}
		if ok {
			worst, found = max(worst, lag), true
		}
	}
	return worst, found, nil
}

// pickDatabase finds the database a SQL Server offset partition belongs
// to; a connector capturing several databases has one partition each.
func pickDatabase(off connect.Offset, dbs []*database.DB) *database.DB {
	name, _ := off.Partition["database"].(string)
	for _, db := range dbs {
		if connectorkind.SameName(config.DriverSQLServer, db.Endpoint().Database, name) {
			return db
		}
	}
	if len(dbs) == 1 {
		return dbs[0]
	}
	return nil
}

// postgresLag compares the offset's ts_usec (commit time of the last
// event the connector committed) with the newest commit at the source:
// pg_last_committed_xact() when track_commit_timestamp is on, else the
// newest source_timestamp_column among the database's tables.
func (c *OffsetsCollector) postgresLag(ctx context.Context, off connect.Offset, db *database.DB) (time.Duration, bool, error) {
	usec, ok := off.Offset["ts_usec"].(float64)
	if !ok {
		return 0, false, nil
	}
	committed := time.UnixMicro(int64(usec))
	newest, ok, err := db.LastCommit(ctx)
	if err != nil {
		return 0, false, err
	}
	if !ok {
		for _, t := range c.tables {
			if t.Source.Database != db.Name() || t.SourceTimestampColumn == "" {
				continue
			}
			ts, found, err := db.MaxTime(ctx, t.Source.Table, t.SourceTimestampColumn)
			if err != nil {
				return 0, false, err
			}
			if found && ts.After(newest) {
				newest, ok = ts, true
			}
		}
	}
	if !ok {
		return 0, false, nil
	}
	return max(0, newest.Sub(committed)), true, nil
}
