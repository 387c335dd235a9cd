// The cdc-sentinel monitoring mixin: alerts, recording rules and Grafana
// dashboards, configured by _config (config.libsonnet). Import it as
// kube-prometheus and the other mixins are imported:
//
//   local cdc = (import 'cdc-sentinel-mixin/mixin.libsonnet') + { _config+:: { ... } };
//   cdc.prometheusAlerts, cdc.prometheusRules, cdc.grafanaDashboards
(import 'config.libsonnet') +
(import 'alerts/alerts.libsonnet') +
(import 'rules/rules.libsonnet') +
(import 'rules/source_retention.libsonnet') +
(import 'dashboards/dashboards.libsonnet')
