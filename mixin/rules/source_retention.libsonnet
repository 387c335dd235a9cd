// Recording rules that give a PostgreSQL source's slot headroom in
// seconds, so one alert covers both kinds of source:
// cdc_source_retention_headroom_seconds and cdc_source_retention_seconds
// are exported directly for a SQL Server source (a time limit) and
// recorded here, under the same names and the identifying labels
// connect_cluster and connector, for a PostgreSQL source (a size limit),
// from the bytes left and the rate the server writes WAL at. The rate is
// taken as at least one byte per second: an idle server reports its
// headroom in bytes as seconds (years for any real headroom) instead of
// dividing by zero, a lost slot reports 0 and an unlimited one +Inf.
// Semantics: docs/retention.md.
local u = import '../lib/utils.libsonnet';

{
  _config+:: {
    // How far back the WAL write rate is averaged.
    sourceWALRateWindow: '30m',
  },

  local cfg = $._config,
  local s(metric) = u.selector(metric, [cfg.cdcSentinelSelector]),
  local rate = 'connect_cluster_connector:cdc_source_wal_position_bytes:deriv',
  local perConnector(metric) = 'max by (connect_cluster, connector) (%s)' % s(metric),

  prometheusRules+:: {
    groups+: [
      u.group('cdc-sentinel.source-retention', [
        {
          record: rate,
          expr: 'max by (connect_cluster, connector) (deriv(%s[%s]))' % [s('cdc_source_wal_position_bytes'), cfg.sourceWALRateWindow],
        },
        {
          record: 'cdc_source_retention_headroom_seconds',
          expr: '%s / clamp_min(%s, 1)' % [perConnector('cdc_source_retention_headroom_bytes'), rate],
        },
        {
          record: 'cdc_source_retention_seconds',
          expr: '%s / clamp_min(%s, 1)' % [perConnector('cdc_source_retention_limit_bytes'), rate],
        },
      ], cfg.recordingRuleInterval),
    ],
  },
}
