package collector

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/retention"
)

var (
	sourceHeadroomDesc = prometheus.NewDesc("cdc_source_retention_headroom_seconds",
		"SQL Server source: time left before the CDC cleanup job may delete a change the connector has not read: the cleanup retention (msdb.dbo.cdc_jobs.retention) minus the age, on the cleanup job's clock (the newest commit time), of the first transaction committed after the connector's committed commit_lsn; the full retention when the connector has read everything, however long the source is idle; 0 or less: the next cleanup run deletes unread changes; +Inf without a cleanup job. For a PostgreSQL source the recording rule of the same name derives it from cdc_source_retention_headroom_bytes and cdc_source_wal_position_bytes.",
		[]string{"connect_cluster", "connector"}, nil)
	sourceRetentionDesc = prometheus.NewDesc("cdc_source_retention_seconds",
		"SQL Server source: the CDC cleanup retention (msdb.dbo.cdc_jobs.retention) its database keeps changes for; +Inf without a cleanup job. For a PostgreSQL source the recording rule of the same name derives it from cdc_source_retention_limit_bytes.",
		[]string{"connect_cluster", "connector"}, nil)
	sourceLostDesc = prometheus.NewDesc("cdc_source_changes_lost",
		"1 when the source no longer keeps changes the connector has not read, so it cannot resume without missing them: SQL Server, a captured table's capture instances all start (sys.fn_cdc_get_min_lsn) above the connector's committed commit_lsn; PostgreSQL, the connector's replication slot is lost (wal_status = lost). Else 0.",
		[]string{"connect_cluster", "connector"}, nil)
	sourceHeadroomBytesDesc = prometheus.NewDesc("cdc_source_retention_headroom_bytes",
		"PostgreSQL source: WAL that can still be written before the connector's replication slot may lose what it needs (pg_replication_slots.safe_wal_size); 0 once unreserved or lost, +Inf with max_slot_wal_keep_size = -1.",
		[]string{"connect_cluster", "connector"}, nil)
	sourceLimitBytesDesc = prometheus.NewDesc("cdc_source_retention_limit_bytes",
		"PostgreSQL source: max_slot_wal_keep_size of the connector's database in bytes; +Inf when unlimited (-1).",
		[]string{"connect_cluster", "connector"}, nil)
	sourceWALPositionDesc = prometheus.NewDesc("cdc_source_wal_position_bytes",
		"PostgreSQL source: the server's WAL position (pg_current_wal_lsn(), on a standby the last WAL received) in bytes since the start of the WAL; its rate is how fast the slot's headroom is used.",
		[]string{"connect_cluster", "connector"}, nil)
)

// SourceRetentionCollector reports, for each Debezium source connector,
// how long its source still keeps the changes it has not read and
// whether some are gone (decided by internal/retention).
type SourceRetentionCollector struct {
	clusters []OffsetsReader
	dbs      []*database.DB
}

// NewSourceRetentionCollector matches the source connectors of clusters
// with dbs.
func NewSourceRetentionCollector(dbs []*database.DB, clusters ...OffsetsReader) *SourceRetentionCollector {
	return &SourceRetentionCollector{clusters: clusters, dbs: dbs}
}

// Name implements Collector.
func (c *SourceRetentionCollector) Name() string { return "source_retention" }

// Collect implements Collector.
func (c *SourceRetentionCollector) Collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	return eachSource(ctx, c.clusters, c.dbs, func(ctx context.Context, cl OffsetsReader, kc *connectorkind.Connector, dbs []*database.DB) error {
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, cl.Name(), kc.Name)
		}
		if kc.Driver() == config.DriverPostgres {
			s, err := dbs[0].SlotRetention(ctx, kc.SlotName())
			if err != nil {
				return err
			}
			gauge(sourceWALPositionDesc, s.Position)
			limit := retention.Unlimited
			if s.Limit != nil {
				limit = *s.Limit
			}
			gauge(sourceLimitBytesDesc, limit)
			if !s.Found {
				// Debezium makes the slot when the connector starts;
				// until then there is nothing the server keeps for it.
				return nil
			}
			v := s.Judge()
			gauge(sourceHeadroomBytesDesc, v.HeadroomBytes)
			gauge(sourceLostDesc, boolValue(v.Lost))
			return nil
		}
		v, ok, err := sqlServerVerdict(ctx, cl, kc, dbs)
		if err != nil || !ok {
			return err
		}
		gauge(sourceHeadroomDesc, v.HeadroomSeconds)
		gauge(sourceRetentionDesc, v.RetentionSeconds)
		gauge(sourceLostDesc, boolValue(v.Lost))
		return nil
	})
}

// sqlServerJudgement is a SQL Server source's verdict with the retention
// it was judged against.
type sqlServerJudgement struct {
	retention.SourceVerdict
	RetentionSeconds float64
}

// sqlServerVerdict judges each database a SQL Server source has
// committed a streaming position for (one offset partition each) and
// keeps the worst; ok is false before the first committed position.
func sqlServerVerdict(ctx context.Context, cl OffsetsReader, kc *connectorkind.Connector, dbs []*database.DB) (sqlServerJudgement, bool, error) {
	offsets, err := connectorOffsets(ctx, cl, kc.Name)
	if err != nil {
		return sqlServerJudgement{}, false, fmt.Errorf("reading offsets: %w", err)
	}
	positions, err := sqlServerPositions(offsets, dbs)
	if err != nil {
		return sqlServerJudgement{}, false, err
	}
	var worst sqlServerJudgement
	found := false
	for _, p := range positions {
		db := p.db
		src, err := db.SQLServerRetention(ctx, p.lsn)
		if err != nil {
			return sqlServerJudgement{}, false, err
		}
		instances, err := db.CaptureInstances(ctx)
		if err != nil {
			return sqlServerJudgement{}, false, err
		}
		name := kc.DatabaseNameFor(db)
		for _, ci := range instances {
			if kc.Captures(name, ci.Schema, ci.Table) {
				src.Instances = append(src.Instances, ci.CaptureInstance)
			}
		}
		j := sqlServerJudgement{SourceVerdict: src.Judge(), RetentionSeconds: retention.Unlimited}
		if src.HasCleanup {
			j.RetentionSeconds = src.Retention.Seconds()
		}
		if !found {
			worst, found = j, true
			continue
		}
		worst.SourceVerdict = worst.Worse(j.SourceVerdict)
		worst.RetentionSeconds = min(worst.RetentionSeconds, j.RetentionSeconds)
	}
	return worst, found, nil
}

// sqlServerPosition is a SQL Server source's committed position in one
// of its databases.
type sqlServerPosition struct {
	db  *database.DB
	lsn retention.LSN
}

// sqlServerPositions pairs each offset partition of a SQL Server source
// (one per database it captures) with its database and committed LSN,
// leaving out partitions with no streaming position yet (snapshotting).
func sqlServerPositions(offsets []connect.Offset, dbs []*database.DB) ([]sqlServerPosition, error) {
	var out []sqlServerPosition
	for _, off := range offsets {
		db := pickDatabase(off, dbs)
		if db == nil {
			continue
		}
		lsn, ok, err := retention.CommittedLSN(off.Offset)
		if err != nil {
			return nil, fmt.Errorf("database %s: %w", db.Name(), err)
		}
		if ok {
			out = append(out, sqlServerPosition{db: db, lsn: lsn})
		}
	}
	return out, nil
}

// eachSource calls judge for every Debezium source connector of the
// clusters that reads from some of dbs, concurrently: clusters are
// listed side by side, so one that hangs does not hold up the others,
// and a connector whose database is dead fails only its own series.
func eachSource(ctx context.Context, clusters []OffsetsReader, dbs []*database.DB, judge func(context.Context, OffsetsReader, *connectorkind.Connector, []*database.DB) error) error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	for _, cl := range clusters {
		wg.Go(func() {
			conns, err := Connectors(ctx, cl)
			if err != nil {
				fail(fmt.Errorf("connect cluster %s: %w", cl.Name(), err))
				return
			}
			for i := range conns {
				kc := connectorkind.New(conns[i].Name(), conns[i].Type(), conns[i].Info.Config)
				if kc.Driver() == "" {
					continue
				}
				own := kc.DatabasesOf(dbs)
				if len(own) == 0 {
					continue
				}
				wg.Go(func() {
					if err := judge(ctx, cl, kc, own); err != nil {
						fail(fmt.Errorf("connector %s/%s: %w", cl.Name(), kc.Name, err))
					}
				})
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
