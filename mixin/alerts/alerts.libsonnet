// cdc-sentinel's alerting rules.
//
// Labels. Every alert keeps the labels that say what is broken
// (connect_cluster, connector, task, table, database, slot, topic): the
// remediator acts on exactly those, and Alertmanager groups by them. The
// connector and table alerts aggregate with max by (...) so that two
// cdc-sentinel replicas scraping the same pipeline give one alert, not two;
// job and instance stay only on the alerts about cdc-sentinel itself.
//
// Severity: critical = data has stopped flowing or will be lost; warning =
// degraded, or a human decision is needed; info = context for other alerts.
local u = import '../lib/utils.libsonnet';

{
  local cfg = $._config,
  local s(metric, extra='') = u.selector(metric, [cfg.cdcSentinelSelector, extra]),
  local alert(name, expr, forDur, severity, summary, description) =
    { alert: name, expr: expr } + u.forClause(forDur) + {
      labels: { severity: severity },
      annotations: {
        summary: summary,
        description: description,
        runbook_url: u.runbook(cfg.runbookURLBase, name),
      },
    },
  // needsHuman are the remediation outcomes a human must look at: the
  // action failed, the failure is one a restart cannot fix, the attempts
  // are used up, the rule's arguments do not fit the alert, or a pause
  // the remediator holds is about to turn into data loss and its rule
  // says to escalate (before_data_loss: escalate).
  local needsHuman = 'outcome=~"failure|not_retryable|suppressed_max_attempts|invalid_args|escalated"',

  prometheusAlerts+:: {
    groups+: [
      u.group('cdc-sentinel.connect', [
        // cdc-sentinel cannot list connectors on the cluster's REST API.
        alert(
          'CDCConnectClusterDown',
          'max by (connect_cluster) (%s) == 0' % s('cdc_connect_up'),
          cfg.connectClusterDownFor, 'critical',
          'Kafka Connect cluster {{ $labels.connect_cluster }} is unreachable',
          'cdc-sentinel has not been able to list connectors on Kafka Connect cluster {{ $labels.connect_cluster }} for %s. Connector and task states are unknown and no remediation can act on this cluster.' % cfg.connectClusterDownFor,
        ),
        alert(
          'CDCConnectorFailed',
          'max by (connect_cluster, connector) (%s) == 1' % s('cdc_connect_connector_state', 'state="FAILED"'),
          cfg.connectorFailedFor, 'critical',
          'Connector {{ $labels.connector }} on {{ $labels.connect_cluster }} has FAILED',
          'The connector instance of {{ $labels.connector }} on Kafka Connect cluster {{ $labels.connect_cluster }} is in state FAILED; its tasks are not (re)configured until it runs again.',
        ),
        alert(
          'CDCConnectorTaskFailed',
          'max by (connect_cluster, connector, task) (%s) == 1' % s('cdc_connect_task_state', 'state="FAILED"'),
          cfg.connectorFailedFor, 'critical',
          'Task {{ $labels.task }} of connector {{ $labels.connector }} on {{ $labels.connect_cluster }} has FAILED',
          'Task {{ $labels.task }} of connector {{ $labels.connector }} on Kafka Connect cluster {{ $labels.connect_cluster }} is in state FAILED: the records of its partitions are not being processed.',
        ),
        // PAUSED only: STOPPED (Kafka 3.5+) is a deliberate, lasting state
        // (the connector is shut down and holds no tasks), so it is not
        // "forgotten"; CDCConnectorStopped is there to opt in to.
        alert(
          'CDCConnectorPausedTooLong',
          'max by (connect_cluster, connector) (%s) == 1' % s('cdc_connect_connector_state', 'state="PAUSED"'),
          cfg.connectorPausedFor, 'warning',
          'Connector {{ $labels.connector }} on {{ $labels.connect_cluster }} has been PAUSED for over %s' % cfg.connectorPausedFor,
          "Connector {{ $labels.connector }} on Kafka Connect cluster {{ $labels.connect_cluster }} has been PAUSED for more than %s. Changes pile up in Kafka (sink) or in the source's log (source) while it stays so." % cfg.connectorPausedFor,
        ),
        // UNASSIGNED is normal for moments during a rebalance, and for up
        // to scheduled.rebalance.max.delay.ms (default 5m) after a worker
        // leaves, while Connect waits for it to come back. Longer than
        // that, no worker runs the connector and nothing will on its own.
        alert(
          'CDCConnectorUnassigned',
          'max by (connect_cluster, connector) (%s) == 1' % s('cdc_connect_connector_state', 'state="UNASSIGNED"'),
          cfg.connectorUnassignedFor, 'critical',
          'Connector {{ $labels.connector }} on {{ $labels.connect_cluster }} has been UNASSIGNED for over %s' % cfg.connectorUnassignedFor,
          "No worker of Kafka Connect cluster {{ $labels.connect_cluster }} has run the connector instance of {{ $labels.connector }} for more than %s, longer than Connect's default wait for a departed worker (5m). Its tasks are not reconfigured while it stays so." % cfg.connectorUnassignedFor,
        ),
        alert(
          'CDCConnectorTaskUnassigned',
          'max by (connect_cluster, connector, task) (%s) == 1' % s('cdc_connect_task_state', 'state="UNASSIGNED"'),
          cfg.connectorUnassignedFor, 'critical',
          'Task {{ $labels.task }} of connector {{ $labels.connector }} on {{ $labels.connect_cluster }} has been UNASSIGNED for over %s' % cfg.connectorUnassignedFor,
          'No worker of Kafka Connect cluster {{ $labels.connect_cluster }} has run task {{ $labels.task }} of connector {{ $labels.connector }} for more than %s: the records of its partitions are not being processed.' % cfg.connectorUnassignedFor,
        ),
        // increase() per scrape target first, then max across replicas.
        alert(
          'CDCDeadLetterQueueSpike',
          'max by (connect_cluster, connector, topic) (increase(%s[%s])) > %d' % [s('cdc_dlq_records_total'), cfg.dlqSpikeWindow, cfg.dlqSpikeRecords],
          '0s', 'critical',
          'Connector {{ $labels.connector }} dead-lettered {{ $value | humanize }} records in %s' % cfg.dlqSpikeWindow,
          'Sink connector {{ $labels.connector }} on {{ $labels.connect_cluster }} wrote {{ $value | humanize }} records to its dead-letter topic {{ $labels.topic }} in the last %s (threshold %d). With errors.tolerance=all these rows are skipped at the target: it is silently diverging.' % [cfg.dlqSpikeWindow, cfg.dlqSpikeRecords],
        ),
      ], cfg.connectRuleInterval),

      u.group('cdc-sentinel.lag', [
        alert(
          'CDCSinkConsumerLagHigh',
          // A STOPPED sink was stopped on purpose (CDCConnectorStopped, if
          // wanted, says so): its lag is expected.
          'max by (connect_cluster, connector, topic) (%s) > %d and on (connect_cluster, connector, topic) max by (connect_cluster, connector, topic) (changes(%s[%s])) > 0 unless on (connect_cluster, connector) max by (connect_cluster, connector) (%s) == 1' % [s('cdc_sink_consumer_lag_seconds'), cfg.sinkConsumerLagSeconds, s('cdc_sink_consumer_lag_records'), cfg.sinkConsumerLagMovedWithin, s('cdc_connect_connector_state', 'state="STOPPED"')],
          cfg.sinkConsumerLagFor, 'warning',
          'Sink {{ $labels.connector }} has not consumed {{ $labels.topic }} for {{ $value | humanizeDuration }}',
          'The oldest record of topic {{ $labels.topic }} that sink connector {{ $labels.connector }} on {{ $labels.connect_cluster }} has not consumed was written {{ $value | humanizeDuration }} ago while new records keep arriving (threshold %s, for %s): the sink is paused, failing or not keeping up, and its target is at least that far behind.' % [u.duration(cfg.sinkConsumerLagSeconds), cfg.sinkConsumerLagFor],
        ),
        alert(
          'CDCTableLagHigh',
          'max by (table) (%s) > %d' % [s('cdc_table_lag_seconds'), cfg.tableLagSeconds],
          cfg.tableLagFor, 'warning',
          'Table {{ $labels.table }} is {{ $value | humanizeDuration }} behind its source',
          'The oldest change at the source of table {{ $labels.table }} that its target has not applied was committed {{ $value | humanizeDuration }} ago (threshold %ds, for %s).' % [cfg.tableLagSeconds, cfg.tableLagFor],
        ),
        // A change waits and nothing at all is applied: the sink is stuck,
        // not slow. The lag grows while a change waits, so this fires on
        // a quiet source too, where a single stuck change is all there is.
        alert(
          'CDCSinkStalled',
          'max by (table) (%s) > %d and on (table) max by (table) (changes(%s[%s])) == 0' % [s('cdc_table_lag_seconds'), cfg.sinkStalledSeconds, s('cdc_table_last_applied_timestamp_seconds'), u.duration(cfg.sinkStalledSeconds)],
          cfg.sinkStalledFor, 'critical',
          'Nothing has been applied to table {{ $labels.table }} for %s while a change waits' % u.duration(cfg.sinkStalledSeconds),
          'The oldest change at the source of table {{ $labels.table }} that its target has not applied was committed {{ $value | humanizeDuration }} ago, and the target has applied no change at all in the last %s (for %s): the sink is stuck, however quiet the source is.' % [u.duration(cfg.sinkStalledSeconds), cfg.sinkStalledFor],
        ),
        alert(
          'CDCCaptureLatencyHigh',
          'max by (database) (%s) > %d' % [s('cdc_sqlserver_capture_latency_seconds'), cfg.captureLatencySeconds],
          cfg.captureLatencyFor, 'warning',
          'SQL Server CDC capture on {{ $labels.database }} is {{ $value | humanizeDuration }} behind the log',
          'sys.dm_cdc_log_scan_sessions on database {{ $labels.database }} reports a capture latency of {{ $value | humanizeDuration }} (threshold %ds, for %s): the capture job is not keeping up with the transaction log, so Debezium cannot see recent changes.' % [cfg.captureLatencySeconds, cfg.captureLatencyFor],
        ),
        // No scan session has ended for a few polling intervals while the
        // log holds changes not yet captured. An idle database (nothing to
        // capture) does not fire it.
        alert(
          'CDCCaptureJobStopped',
          |||
            (time() - max by (database) (%(last)s))
              > %(n)d * max by (database) (%(poll)s) + %(slack)d
            and on (database) max by (database) (%(waiting)s) == 1
          ||| % {
            last: s('cdc_sqlserver_last_scan_timestamp_seconds'),
            poll: s('cdc_sqlserver_capture_polling_interval_seconds'),
            waiting: s('cdc_sqlserver_log_waiting_for_capture'),
            n: cfg.captureJobStoppedPollingIntervals,
            slack: cfg.captureJobStoppedSlackSeconds,
          },
          cfg.captureJobStoppedFor, 'critical',
          'SQL Server CDC capture on {{ $labels.database }} has stopped',
          'The capture job of database {{ $labels.database }} has not finished a log scan for {{ $value | humanizeDuration }} (more than %d polling intervals plus %s, for %s) while the transaction log holds changes it has not captured: no change reaches Debezium, and the log cannot be truncated.' % [cfg.captureJobStoppedPollingIntervals, u.duration(cfg.captureJobStoppedSlackSeconds), cfg.captureJobStoppedFor],
        ),
        alert(
          'CDCReplicationSlotLagHigh',
          'max by (database, slot) (%s) > %d' % [s('cdc_replication_slot_lag_bytes'), cfg.slotLagBytes],
          cfg.slotLagFor, 'warning',
          'Replication slot {{ $labels.slot }} on {{ $labels.database }} is {{ $value | humanize1024 }}B behind',
          "Replication slot {{ $labels.slot }} on PostgreSQL database {{ $labels.database }} has not confirmed {{ $value | humanize1024 }}B of WAL (threshold %s, for %s). The server keeps that WAL until the slot's consumer catches up; the disk may fill." % [u.bytes(cfg.slotLagBytes), cfg.slotLagFor],
        ),
        alert(
          'CDCReplicationSlotInactive',
          'max by (database, slot) (%s) == 0' % s('cdc_replication_slot_active'),
          cfg.slotInactiveFor, 'warning',
          'Replication slot {{ $labels.slot }} on {{ $labels.database }} has had no consumer for %s' % cfg.slotInactiveFor,
          'Nobody is reading replication slot {{ $labels.slot }} on PostgreSQL database {{ $labels.database }}: the source connector is down, paused or gone, and the server retains WAL for the slot meanwhile.',
        ),
        alert(
          'CDCDatabaseDown',
          'max by (database) (%s) == 0' % s('cdc_db_up'),
          cfg.databaseDownFor, 'critical',
          'cdc-sentinel cannot query database {{ $labels.database }}',
          "cdc-sentinel's queries against database {{ $labels.database }} have failed for %s. Lag, drift and capture-health metrics of the tables on it are missing, so the alerts built on them cannot fire." % cfg.databaseDownFor,
        ),
      ]),

      // Time left before a retention limit deletes changes the next stage
      // has not taken, and loss that happened (docs/retention.md). One
      // alert per name for both stages, told apart by the stage label:
      // sink (a Kafka topic's retention, per connector and topic) and
      // source (SQL Server's CDC cleanup or a PostgreSQL slot's limit,
      // per connector).
      u.group('cdc-sentinel.retention', [
        // Headroom below max(dataLossImminentSeconds, percent of retention),
        // and below the max percent of retention: a sink caught up keeps the whole
        // retention, so a topic kept less than 2 hours does not page for
        // a sink that is merely flowing.
        alert(
          'CDCDataLossImminent',
          |||
            label_replace(
              %(sinkHeadroom)s
                < on (connect_cluster, connector, topic) clamp_min(%(sinkRetention)s * %(pct)d / 100, %(min)d)
              and on (connect_cluster, connector, topic)
              %(sinkHeadroom)s
                < on (connect_cluster, connector, topic) %(sinkRetention)s * %(maxPct)d / 100,
              "stage", "sink", "", "")
            or
            label_replace(
              %(sourceHeadroom)s
                < on (connect_cluster, connector) clamp_min(%(sourceRetention)s * %(pct)d / 100, %(min)d)
              and on (connect_cluster, connector)
              %(sourceHeadroom)s
                < on (connect_cluster, connector) %(sourceRetention)s * %(maxPct)d / 100,
              "stage", "source", "", "")
          ||| % {
            sinkHeadroom: 'max by (connect_cluster, connector, topic) (%s)' % s('cdc_sink_retention_headroom_seconds'),
            sinkRetention: 'max by (connect_cluster, connector, topic) (%s)' % s('cdc_sink_retention_seconds'),
            sourceHeadroom: 'max by (connect_cluster, connector) (%s)' % s('cdc_source_retention_headroom_seconds'),
            sourceRetention: 'max by (connect_cluster, connector) (%s)' % s('cdc_source_retention_seconds'),
            pct: cfg.dataLossImminentRetentionPercent,
            maxPct: cfg.dataLossImminentMaxRetentionPercent,
            min: cfg.dataLossImminentSeconds,
          },
          cfg.dataLossImminentFor, 'critical',
          '{{ with $labels.topic }}Topic {{ . }} deletes what sink {{ $labels.connector }} has not consumed{{ else }}The source of connector {{ $labels.connector }} drops changes it has not read{{ end }} in {{ $value | humanizeDuration }}',
          'The {{ $labels.stage }} retention limit of connector {{ $labels.connector }} on {{ $labels.connect_cluster }}{{ with $labels.topic }} (topic {{ . }}){{ end }} will delete changes the next stage has not taken in {{ $value | humanizeDuration }} (threshold: the larger of %s and %s of the retention, for %s). Once they are deleted only a reconcile with repair brings the rows back: resume or fix the stage that is behind, or raise the retention now.' % [u.duration(cfg.dataLossImminentSeconds), '%d%%' % cfg.dataLossImminentRetentionPercent, cfg.dataLossImminentFor],
        ),
        // Lost is lost: no wait. The sink counter falls to 0 once the
        // sink skips the gap, so the alert stays for dataLostFor after.
        alert(
          'CDCDataLost',
          |||
            label_replace(
              max by (connect_cluster, connector, topic) (max_over_time(%(sinkLost)s[%(window)s])) > 0,
              "stage", "sink", "", "")
            or
            label_replace(
              max by (connect_cluster, connector) (max_over_time(%(sourceLost)s[%(window)s])) == 1,
              "stage", "source", "", "")
          ||| % {
            sinkLost: s('cdc_sink_records_lost_total'),
            sourceLost: s('cdc_source_changes_lost'),
            window: cfg.dataLostFor,
          },
          '0s', 'critical',
          '{{ if eq $labels.stage "sink" }}Retention deleted {{ $value | humanize }} records of {{ $labels.topic }} that sink {{ $labels.connector }} had not consumed{{ else }}The source of connector {{ $labels.connector }} no longer keeps changes it had not read{{ end }}',
          'Changes were deleted before the next stage took them ({{ $labels.stage }} side of connector {{ $labels.connector }} on {{ $labels.connect_cluster }}{{ with $labels.topic }}, topic {{ . }}{{ end }}): the target misses them and nothing in the pipeline will send them again. Run a reconcile with repair of the tables it feeds (the shipped rule reconcile-after-data-loss does), and find why the stage fell behind its retention.',
        ),
      ]),

      u.group('cdc-sentinel.drift', [
        // Confirmed rows stay counted while every check still finds them
        // differing and leave at the first check that finds them equal, so
        // the alert resolves with the first clean check after a repair.
        alert(
          'CDCRowDriftDetected',
          'max by (table) (%s) > 0' % s('cdc_drift_rows_differing'),
          cfg.driftFor, 'warning',
          'Target rows of table {{ $labels.table }} differ from the source',
          "Sampled row-hash checks of table {{ $labels.table }} found rows missing, extra, changed or duplicated in the target, confirmed on a recheck after the table's lag with both sides unchanged, and still differing at every check for %s: the target has diverged from the source." % cfg.driftFor,
        ),
        // not_in_topic is left out: on an idle table the topic's schema
        // shows a new column only with the next change, which is not
        // drift; a capture instance that lacks the column is (not_captured).
        alert(
          'CDCSchemaDrift',
          'max by (table, kind) (%s) > 0' % s('cdc_schema_mismatched_columns', 'kind!="not_in_topic"'),
          cfg.schemaDriftFor, 'warning',
          'Columns of table {{ $labels.table }} differ between its layers ({{ $labels.kind }})',
          '{{ $value }} column(s) of table {{ $labels.table }} have been {{ $labels.kind }} for %s: a source column the target or the capture instance lacks, a target column the source lacks, or a target type that loses values. Rows keep flowing for the other columns, or the sink fails on the first record carrying a new column. `cdc-sentinel doctor` names the columns and the fix.' % cfg.schemaDriftFor,
        ),
        alert(
          'CDCReconcileFailed',
          'max by (table) (increase(%s[%s])) > 0' % [s('cdc_reconcile_runs_total', 'outcome=~"error|failure"'), cfg.reconcileFailedWindow],
          '0s', 'warning',
          'A reconcile of table {{ $labels.table }} failed',
          'At least one full reconcile of table {{ $labels.table }} ended in failure in the last %s; differing rows were not (all) found or repaired.' % cfg.reconcileFailedWindow,
        ),
        // A repair's signals went out but the source connector's
        // notifications say its incremental snapshot did not finish: the
        // rows were not (all) re-sent. The counter exists at 0 for every
        // table from the start, so increase() sees the first one.
        alert(
          'CDCRepairNotCompleted',
          'max by (table, outcome) (increase(%s[%s])) > 0' % [s('cdc_reconcile_repairs_total', 'outcome=~"timed_out|aborted|failed"'), cfg.repairNotCompletedWindow],
          '0s', 'warning',
          'A repair of table {{ $labels.table }} did not complete ({{ $labels.outcome }})',
          "In the last %s a repair of table {{ $labels.table }} sent its signals, but the source connector's incremental snapshot ended {{ $labels.outcome }}: the differing rows were not (all) re-sent." % cfg.repairNotCompletedWindow,
        ),
      ]),

      u.group('cdc-sentinel.remediation', [
        // Per target (connect_cluster, connector, table), so the alert
        // names what is still broken. A target's series is born at its
        // first decision, which increase() cannot see; the second half
        // catches series new in the window.
        alert(
          'CDCRemediationFailing',
          |||
            sum by (connect_cluster, connector, table, rule, action, outcome) (
              increase(%(m)s[%(w)s])
            ) > 0
            or
            sum by (connect_cluster, connector, table, rule, action, outcome) (
              %(m)s
              unless
              %(m)s offset %(w)s
            ) > 0
          ||| % { m: s('cdc_remediation_actions_total', needsHuman), w: cfg.remediationFailingWindow },
          '0s', 'warning',
          'Remediation rule {{ $labels.rule }} ({{ $labels.action }}) ended {{ $labels.outcome }}{{ with $labels.connector }} on connector {{ . }}{{ end }}{{ with $labels.table }} on table {{ . }}{{ end }}',
          'In the last %s remediation rule {{ $labels.rule }} ended {{ $value | humanize }} time(s) with outcome {{ $labels.outcome }} on action {{ $labels.action }}{{ with $labels.connector }} for connector {{ . }}{{ end }}{{ with $labels.table }} for table {{ . }}{{ end }}. The problem it answers is not being fixed automatically; see the audit log at /api/v1/remediations.' % cfg.remediationFailingWindow,
        ),
        alert(
          'CDCRemediationCircuitOpen',
          'max by (job, instance) (%s) == 1' % s('cdc_remediation_circuit_open'),
          '0s', 'critical',
          'cdc-sentinel {{ $labels.instance }} has stopped all remediation (circuit open)',
          "cdc-sentinel at {{ $labels.instance }} reached max_actions_per_hour and takes no action until the hour's count falls. Something is failing over and over; alerts are recorded but nothing is repaired.",
        ),
      ]),

      u.group('cdc-sentinel.self', [
        alert(
          'CDCSentinelDown',
          'up{%s} == 0' % cfg.sentinelJobSelector,
          cfg.sentinelDownFor, 'critical',
          'cdc-sentinel {{ $labels.instance }} is down',
          'Prometheus has not been able to scrape cdc-sentinel at {{ $labels.instance }} for %s. Every CDC alert built on its metrics is blind, and no remediation runs from this instance.' % cfg.sentinelDownFor,
        ),
        alert(
          'CDCSentinelCollectorFailing',
          'max by (job, instance, collector) (%s) == 0' % s('cdc_scrape_collector_success'),
          cfg.collectorFailingFor, 'warning',
          'cdc-sentinel collector {{ $labels.collector }} on {{ $labels.instance }} is failing',
          'Collector {{ $labels.collector }} of cdc-sentinel at {{ $labels.instance }} has failed every scrape for %s; its metrics are missing or partial and the alerts built on them cannot fire. The cdc-sentinel log says why.' % cfg.collectorFailingFor,
        ),
        alert(
          'CDCSentinelConfigReloadFailed',
          'max by (job, instance) (%s) == 0' % s('cdc_sentinel_config_last_reload_successful'),
          cfg.configReloadFailedFor, 'warning',
          'cdc-sentinel {{ $labels.instance }} runs a stale configuration',
          'The last configuration reload of cdc-sentinel at {{ $labels.instance }} failed; it keeps running the previous configuration. Run `cdc-sentinel check-config` on the file to see every error.',
        ),
      ]),
    ] + (if cfg.connectorStoppedAlert then [$.optionalAlerts.stopped] else []),
  },

  // Alerts to opt in to through _config; rules/optional/ holds them
  // rendered, for those who load rule files.
  optionalAlerts:: {
    stopped: u.group('cdc-sentinel.connect.optional', [
      alert(
        'CDCConnectorStopped',
        'max by (connect_cluster, connector) (%s) == 1' % s('cdc_connect_connector_state', 'state="STOPPED"'),
        cfg.connectorStoppedFor, 'warning',
        'Connector {{ $labels.connector }} on {{ $labels.connect_cluster }} has been STOPPED for over %s' % cfg.connectorStoppedFor,
        "Connector {{ $labels.connector }} on Kafka Connect cluster {{ $labels.connect_cluster }} has been STOPPED for more than %s. It moves no data until resumed; changes pile up in Kafka (sink) or in the source's log (source) meanwhile." % cfg.connectorStoppedFor,
      ),
    ]),
  },
}
