package collector

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
)

var (
	sqlserverCDCEnabledDesc = prometheus.NewDesc("cdc_sqlserver_cdc_enabled",
		"Whether change data capture is enabled for the database (sys.databases.is_cdc_enabled).",
		[]string{"database"}, nil)
	sqlserverLatencyDesc = prometheus.NewDesc("cdc_sqlserver_capture_latency_seconds",
		"Latency of the capture job's newest finished log scan session: seconds between its end and the commit time of the last change it captured (sys.dm_cdc_log_scan_sessions, session_id > 0). Absent before the first session since a restart or failover.",
		[]string{"database"}, nil)
	sqlserverLastScanDesc = prometheus.NewDesc("cdc_sqlserver_last_scan_timestamp_seconds",
		"When the capture job's last log scan session ended (sys.dm_cdc_log_scan_sessions, session_id 0). Stops moving when the capture job stops; reset by a restart or failover.",
		[]string{"database"}, nil)
	sqlserverLogWaitDesc = prometheus.NewDesc("cdc_sqlserver_log_waiting_for_capture",
		"1 when the transaction log cannot be truncated until change data capture (or replication) has scanned it, i.e. changes are waiting to be captured (sys.databases.log_reuse_wait_desc = REPLICATION).",
		[]string{"database"}, nil)
	sqlserverJobDesc = prometheus.NewDesc("cdc_sqlserver_cdc_job_present",
		"Whether the CDC capture or cleanup job exists for the database (msdb.dbo.cdc_jobs).",
		[]string{"database", "job"}, nil)
	sqlserverPollingDesc = prometheus.NewDesc("cdc_sqlserver_capture_polling_interval_seconds",
		"The capture job's polling interval (msdb.dbo.cdc_jobs.pollinginterval).",
		[]string{"database"}, nil)
	sqlserverRetentionDesc = prometheus.NewDesc("cdc_sqlserver_cleanup_retention_seconds",
		"How long change rows are kept before the cleanup job removes them (msdb.dbo.cdc_jobs.retention).",
		[]string{"database"}, nil)
	sqlserverErrorsDesc = prometheus.NewDesc("cdc_sqlserver_capture_errors",
		"Errors recorded by recent CDC log scan sessions (rows of sys.dm_cdc_errors).",
		[]string{"database"}, nil)
	sqlserverMaxLSNDesc = prometheus.NewDesc("cdc_sqlserver_max_lsn_timestamp_seconds",
		"Commit time of the newest LSN captured (sys.fn_cdc_map_lsn_to_time(sys.fn_cdc_get_max_lsn())).",
		[]string{"database"}, nil)
)

// SQLServerCollector reports the capture side of SQL Server source
// databases. Each query is independent: a missing permission blanks only
// the metric it feeds, and names the permission in the error.
type SQLServerCollector struct {
	dbs []*database.DB
}

// NewSQLServerCollector watches the SQL Server databases among dbs.
func NewSQLServerCollector(dbs ...*database.DB) *SQLServerCollector {
	return &SQLServerCollector{dbs: withDriver(dbs, config.DriverSQLServer)}
}

// Name implements Collector.
func (c *SQLServerCollector) Name() string { return "sqlserver" }

// Collect implements Collector.
func (c *SQLServerCollector) Collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	return fanOut(ctx, c.dbs, ch, collectSQLServer)
}

func collectSQLServer(ctx context.Context, db *database.DB, ch chan<- prometheus.Metric) error {
	name := db.Name()
	h := db.SQLServerHealth(ctx)
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{name}, labels...)...)
	}
	if h.CDCEnabled != nil {
		gauge(sqlserverCDCEnabledDesc, boolValue(*h.CDCEnabled))
	}
	if h.LogWaitsForCapture != nil {
		gauge(sqlserverLogWaitDesc, boolValue(*h.LogWaitsForCapture))
	}
	if h.Latency != nil {
		gauge(sqlserverLatencyDesc, *h.Latency)
	}
	if h.LastScan != nil {
		gauge(sqlserverLastScanDesc, seconds(*h.LastScan))
	}
	if h.JobsReadable {
		for _, job := range []string{"capture", "cleanup"} {
			_, ok := h.Jobs[job]
			gauge(sqlserverJobDesc, boolValue(ok), job)
		}
		if j, ok := h.Jobs["capture"]; ok {
			gauge(sqlserverPollingDesc, float64(j.PollingInterval))
		}
		if j, ok := h.Jobs["cleanup"]; ok {
			gauge(sqlserverRetentionDesc, float64(j.RetentionMinutes*60))
		}
	}
	if h.ErrorCount != nil {
		gauge(sqlserverErrorsDesc, float64(*h.ErrorCount))
	}
	if h.MaxLSNTime != nil {
		gauge(sqlserverMaxLSNDesc, seconds(*h.MaxLSNTime))
	}
	return h.Err
}
