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
	"github.com/cdc-sentinel/cdc-sentinel/internal/lag"
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
// committed offset trails its source database, as internal/lag's offset
// lag measures it.
type OffsetsCollector struct {
	clusters []OffsetsReader
	reader   *lag.Reader
	dbs      []*database.DB
	tables   []config.Table
}

// NewOffsetsCollector matches the source connectors of clusters with dbs
// and reads their offset lag with reader, which must have been given
// dbs. tables supply PostgreSQL's newest change time when the server
// does not track commit timestamps.
func NewOffsetsCollector(reader *lag.Reader, dbs []*database.DB, tables []config.Table, clusters ...OffsetsReader) *OffsetsCollector {
	return &OffsetsCollector{clusters: clusters, reader: reader, dbs: dbs, tables: tables}
}

// Name implements Collector.
func (c *OffsetsCollector) Name() string { return "offsets" }

// Collect implements Collector.
func (c *OffsetsCollector) Collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	return eachSource(ctx, c.clusters, c.dbs, func(ctx context.Context, cl OffsetsReader, kc *connectorkind.Connector, dbs []*database.DB) error {
		behind, ok, err := c.connectorLag(ctx, cl, kc.Name, kc.Driver(), dbs)
		if err != nil {
			return err
		}
		if ok {
			ch <- prometheus.MustNewConstMetric(offsetLagDesc, prometheus.GaugeValue, behind.Seconds(), cl.Name(), kc.Name)
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
		return c.reader.PostgresOffsetLag(ctx, dbs[0], offsets[0], c.tables)
	}
	positions, err := sqlServerPositions(offsets, dbs)
	if err != nil {
		return 0, false, err
	}
	committed := make([]lag.LSNPosition, len(positions))
	for i, p := range positions {
		committed[i] = lag.LSNPosition{DB: p.db, LSN: p.lsn}
	}
	return c.reader.SQLServerOffsetLag(ctx, committed)
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
