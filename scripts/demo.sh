#!/usr/bin/env bash
# Runs cdc-sentinel against the local pipeline (started by `make demo`)
# until interrupted. Usage: scripts/demo.sh BINARY LISTEN_ADDRESS
set -euo pipefail
BIN=${1:?binary}
ADDR=${2:-127.0.0.1:19641}
RUN=${CDC_PIPELINE_DIR:-/tmp/cdc-sentinel-pipeline}
[ -f "$RUN/env" ] || { echo "demo: $RUN/env missing: the pipeline is not up (scripts/pipeline/pipeline.sh up)" >&2; exit 1; }
# shellcheck disable=SC1091
. "$RUN/env"
DEMO="$RUN/demo"
mkdir -p "$DEMO"
CONFIG="$DEMO/cdc-sentinel.yml"
sed -e "s#@CONNECT_URL@#$CDC_CONNECT_URL#g" \
    -e "s#@SOURCE_DSN@#$CDC_SOURCE_DSN#g" \
    -e "s#@TARGET_DSN@#$CDC_TARGET_DSN#g" \
    -e "s#@KAFKA_BROKERS@#$CDC_KAFKA_BROKERS#g" \
    deploy/demo/cdc-sentinel.yml > "$CONFIG"
"$BIN" check-config --config.file="$CONFIG"

# Lag reads max(__source_ts_ms) of each target table on every scrape; the
# sink creates the tables, so the indexes that make it a lookup come after.
for t in customers orders; do
  psql -q "$CDC_TARGET_DSN" -c "CREATE INDEX IF NOT EXISTS ${t}_source_ts_ms ON public.$t (__source_ts_ms)" 2>/dev/null \
    || echo "demo: target table public.$t not there yet; lag will scan it until an index on __source_ts_ms exists" >&2
done

cat <<MSG

  cdc-sentinel is watching the local pipeline.

    metrics        http://$ADDR/metrics
    landing page   http://$ADDR/
    audit log      http://$ADDR/api/v1/remediations
    Kafka Connect  $CDC_CONNECT_URL/connectors?expand=status
    source DB      psql '$CDC_SOURCE_DSN'
    target DB      psql '$CDC_TARGET_DSN'
    config         $CONFIG
    logs           $CDC_PIPELINE_LOGS/ (pipeline), this terminal (cdc-sentinel)

  Try: psql '$CDC_SOURCE_DSN' -c "update inventory.customers set name = name || '!' where id = 1"
       curl -s -X PUT $CDC_CONNECT_URL/connectors/demo-sink/pause   # then watch cdc_table_lag_seconds

  Ctrl-C stops cdc-sentinel; 'make demo-down' stops the pipeline.

MSG
exec "$BIN" --config.file="$CONFIG" --storage.path="$DEMO/data" --web.listen-address="$ADDR"
