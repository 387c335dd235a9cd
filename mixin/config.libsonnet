// The knobs of the cdc-sentinel mixin. Override any of them when you
// import it, e.g.
//
//   (import 'cdc-sentinel-mixin/mixin.libsonnet') + {
//     _config+:: { cdcSentinelSelector: 'job="cdc-sentinel",namespace="cdc"' },
//   }
//
// The files committed under rules/, dashboards/ and deploy/kubernetes/ are
// this mixin rendered with these defaults (`make generate`).
{
  _config+:: {
    // Label matchers added to every selector of a cdc-sentinel metric, for
    // a Prometheus that scrapes several cdc-sentinel deployments apart
    // (e.g. 'namespace="cdc"'). Empty: every cdc_* series.
    cdcSentinelSelector: '',
    // The scrape job CDCSentinelDown watches with up{...}. The Prometheus
    // Operator names the job after the Service (cdc-sentinel in
    // deploy/kubernetes); deploy/prometheus/prometheus.yml uses the same.
    sentinelJobSelector: 'job="cdc-sentinel"',

    // Where each alert's runbook_url points: the base, then the alert name
    // in lower case.
    runbookURLBase: 'https://github.com/cdc-sentinel/cdc-sentinel/blob/main/docs/runbooks.md#',

    // How long each condition must hold before its alert fires, and the
    // thresholds (see docs/runbooks.md, "Changing thresholds").
    connectClusterDownFor: '2m',
    // 0s: fire at the first evaluation that sees FAILED. A FAILED
    // connector or task stays FAILED until restarted, so waiting cannot
    // tell a lasting failure from a passing one; the one transient is a
    // worker's stale view while a restart propagates through the status
    // topic, and the remediator re-reads the live state from Connect
    // before it acts (a task no longer FAILED is "not needed").
    connectorFailedFor: '0s',
    connectorPausedFor: '30m',
    // Above the workers' scheduled.rebalance.max.delay.ms (default 5m),
    // during which a departed worker's connectors and tasks stay
    // UNASSIGNED by design.
    connectorUnassignedFor: '10m',
    // STOPPED is a deliberate state: alert on it only if asked to.
    connectorStoppedAlert: false,
    connectorStoppedFor: '1h',
    dlqSpikeRecords: 50,
    dlqSpikeWindow: '5m',
    tableLagSeconds: 300,
    tableLagFor: '5m',
    // CDCSinkStalled: a change has waited longer than this
    // (cdc_table_lag_seconds is the age of the oldest change not applied)
    // and the target applied nothing at all for as long: a stuck sink,
    // quiet source or not. It is also the window the last-applied time
    // must not have moved in.
    sinkStalledSeconds: 300,
    sinkStalledFor: '2m',
    sinkConsumerLagSeconds: 300,
    sinkConsumerLagFor: '10m',
    // The records lag must have moved within this window: Connect commits
    // a partition's offset only past records that reached the task, so a
    // dead-lettered or filtered record at the end of an idle partition
    // stays "unconsumed" for ever without the sink being behind.
    sinkConsumerLagMovedWithin: '10m',
    // CDCDataLossImminent: a retention limit deletes what the next stage
    // has not taken within the larger of dataLossImminentSeconds and
    // dataLossImminentRetentionPercent of the retention, and within
    // dataLossImminentMaxRetentionPercent of it (so a retention under 2h
    // does not page for a stage merely flowing, which keeps nearly all of
    // it; above 2h the cap never binds).
    dataLossImminentSeconds: 3600,
    dataLossImminentRetentionPercent: 10,
    dataLossImminentMaxRetentionPercent: 50,
    dataLossImminentFor: '2m',
    // CDCDataLost stays this long after the loss stops showing (a sink
    // that skipped its gap).
    dataLostFor: '15m',
    captureLatencySeconds: 120,
    captureLatencyFor: '10m',
    // A capture job is stopped when no scan session has ended for this
    // many polling intervals plus the slack while the log holds changes
    // not yet captured (an idle database does not fire it).
    captureJobStoppedPollingIntervals: 3,
    captureJobStoppedSlackSeconds: 60,
    captureJobStoppedFor: '5m',
    slotLagBytes: 1073741824,
    slotLagFor: '10m',
    slotInactiveFor: '15m',
    databaseDownFor: '2m',
    // Above drift.min_interval (default 5m): a confirmed row pages only
    // when the checks that follow still find it differing; one found
    // equal by the next check (landed late, repaired) never pages.
    driftFor: '10m',
    // A column added at the source reaches the target (and the topic)
    // with the first change that carries it: an idle table stays
    // mismatched until then.
    schemaDriftFor: '15m',
    reconcileFailedWindow: '1h',
    repairNotCompletedWindow: '1h',
    remediationFailingWindow: '15m',
    sentinelDownFor: '2m',
    collectorFailingFor: '5m',
    configReloadFailedFor: '5m',

    // Evaluation interval of the Kafka Connect alert group (empty: the
    // Prometheus global evaluation_interval). Half the example scrape
    // interval (30s), so a scraped FAILED is seen within 15s: these are
    // the alerts the remediator restarts on, and the group is a handful of
    // cheap expressions.
    connectRuleInterval: '15s',
    recordingRuleInterval: '30s',

    // Grafana.
    dashboardTags: ['cdc-sentinel'],
    dashboardRefresh: '30s',
    dashboardTimeFrom: 'now-6h',
    dashboardTimezone: '',
    dashboardUIDPrefix: 'cdc-sentinel',
    // Where Grafana users reach cdc-sentinel's HTTP API, for the link to
    // the remediation audit log (a text box on every dashboard).
    sentinelURL: 'http://cdc-sentinel:19641',
  },
}
