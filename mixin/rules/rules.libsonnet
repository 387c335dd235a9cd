// cdc-sentinel's recording rules: the aggregations the dashboards'
// overview panels use, precomputed so that a wall screen refreshing every
// few seconds does not rescan every connector's series. Names follow
// level:metric:operations. Like the alerts, they take the max across
// cdc-sentinel replicas (job and instance are dropped) before summing.
local u = import '../lib/utils.libsonnet';

{
  local cfg = $._config,
  local s(metric, extra='') = u.selector(metric, [cfg.cdcSentinelSelector, extra]),

  prometheusRules+:: {
    groups+: [
      u.group('cdc-sentinel.recording', [
        // Connectors and tasks per cluster and state (state sets are 0/1).
        {
          record: 'connect_cluster_state:cdc_connect_connectors:count',
          expr: 'sum by (connect_cluster, state) (max by (connect_cluster, connector, state) (%s))' % s('cdc_connect_connector_state'),
        },
        {
          record: 'connect_cluster_state:cdc_connect_tasks:count',
          expr: 'sum by (connect_cluster, state) (max by (connect_cluster, connector, task, state) (%s))' % s('cdc_connect_task_state'),
        },
        // Worst lag per table, and the worst over all tables.
        { record: 'table:cdc_table_lag_seconds:max', expr: 'max by (table) (%s)' % s('cdc_table_lag_seconds') },
        { record: ':cdc_table_lag_seconds:max', expr: 'max(%s)' % s('cdc_table_lag_seconds') },
        // Dead-lettered records per second per sink and DLQ topic.
        {
          record: 'connect_cluster_connector_topic:cdc_dlq_records:rate5m',
          expr: 'max by (connect_cluster, connector, topic) (rate(%s[5m]))' % s('cdc_dlq_records_total'),
        },
        // Confirmed drifted rows per table and kind, per hour.
        {
          record: 'table_kind:cdc_drift_rows_mismatched:increase1h',
          expr: 'max by (table, kind) (increase(%s[1h]))' % s('cdc_drift_rows_mismatched_total'),
        },
        // Remediation decisions per second, by rule, action and outcome,
        // the first decision of a new label set included (u.increase).
        {
          record: 'rule_action_outcome:cdc_remediation_actions:rate5m',
          expr: 'sum by (rule, action, outcome) (%s) / 300' % u.increase(s('cdc_remediation_actions_total'), '5m'),
        },
      ], cfg.recordingRuleInterval),
    ],
  },
}
