#!/bin/sh
# Healing time with the shipped defaults: from the moment a sink task fails
# to its restart by cdc-sentinel, through the real Prometheus, Alertmanager,
# cdc-sentinel and the local pipeline, with rules/ and the example configs
# of deploy/prometheus and deploy/alertmanager unchanged but for addresses.
# Prints each run's parts (scrape, eval, for, notify, action) and the
# medians; see e2e/healing_bench_test.go for what each part measures.
#
# Needs the pipeline (make pipeline) and the tools (make tools).
# Usage: bench/healing/run.sh [runs] [baseline runs]   (defaults 5 and 3)
#
# The baseline is the same measurement, same pipeline, with the rules
# rendered from the mixin with the defaults before this change (a 30s for:
# on the FAILED alerts, the global 30s evaluation interval).
set -eu
cd "$(dirname "$0")/../.."
run() {
  CDC_INTEGRATION=1 CDC_BENCH_HEALING=1 CDC_BENCH_HEALING_RUNS="$1" CDC_BENCH_HEALING_CONFIG="$2" \
    go test -count=1 -run '^TestHealingTime$' -timeout 60m -v ./e2e/
}
echo "== baseline: connectorFailedFor 30s, global evaluation interval"
run "${2:-3}" '{"connectorFailedFor": "30s", "connectRuleInterval": ""}'
echo "== shipped defaults"
run "${1:-5}" ''
