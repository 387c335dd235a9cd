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

# Jaeger (built by scripts/install-tools.sh) receives the demo's traces.
TOOLS_BIN=${CDC_SENTINEL_CACHE:-$HOME/.cache/cdc-sentinel}/bin
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
TRACING=""
if [ -x "$TOOLS_BIN/jaeger" ] && port_free 4318 && port_free 16686 && port_free 4317 && port_free 16685; then
  printf '\ntracing:\n  endpoint: http://127.0.0.1:4318\n' >> "$CONFIG"
  TRACING=1
fi
"$BIN" check-config --config.file="$CONFIG"

# Lag reads max(__source_ts_ms) of each target table on every scrape; the
# sink creates the tables, so the indexes that make it a lookup come after.
for t in customers orders; do
  psql -q "$CDC_TARGET_DSN" -c "CREATE INDEX IF NOT EXISTS ${t}_source_ts_ms ON public.$t (__source_ts_ms)" 2>/dev/null \
    || echo "demo: target table public.$t not there yet; lag will scan it until an index on __source_ts_ms exists" >&2
done

# Prometheus and Alertmanager (built by scripts/install-tools.sh) run the
# example configs from deploy/ as they are, so the demo closes the loop:
# alerts from rules/ reach cdc-sentinel's /alerts and the remediator acts.
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM
LOOP=""
if [ -n "$TRACING" ]; then
  "$TOOLS_BIN/jaeger" --config deploy/demo/jaeger.yml > "$DEMO/jaeger.log" 2>&1 &
  pids+=($!)
  LOOP="
    Jaeger         http://127.0.0.1:16686/   (traces of scrapes, remediations, reconciles; log $DEMO/jaeger.log)"
fi
if [ "$ADDR" = "127.0.0.1:19641" ] && [ -x "$TOOLS_BIN/prometheus" ] && [ -x "$TOOLS_BIN/alertmanager" ]; then
  if port_free 9090 && port_free 9093; then
    mkdir -p "$DEMO/prometheus" "$DEMO/alertmanager"
    "$TOOLS_BIN/alertmanager" --config.file=deploy/alertmanager/alertmanager.yml \
      --storage.path="$DEMO/alertmanager" --web.listen-address=127.0.0.1:9093 --cluster.listen-address= \
      > "$DEMO/alertmanager.log" 2>&1 &
    pids+=($!)
    "$TOOLS_BIN/prometheus" --config.file=deploy/prometheus/prometheus.yml \
      --storage.tsdb.path="$DEMO/prometheus" --web.listen-address=127.0.0.1:9090 \
      > "$DEMO/prometheus.log" 2>&1 &
    pids+=($!)
    LOOP="$LOOP
    Prometheus     http://127.0.0.1:9090/alerts   (rules/, log $DEMO/prometheus.log)
    Alertmanager   http://127.0.0.1:9093/api/v2/alerts   (routes to /alerts, log $DEMO/alertmanager.log)"
  else
    echo "demo: 9090 or 9093 is taken: not starting Prometheus and Alertmanager" >&2
  fi
fi

cat <<MSG

  cdc-sentinel is watching the local pipeline.

    metrics        http://$ADDR/metrics
    landing page   http://$ADDR/
    audit log      http://$ADDR/api/v1/remediations
    Kafka Connect  $CDC_CONNECT_URL/connectors?expand=status
    source DB      psql '$CDC_SOURCE_DSN'
    target DB      psql '$CDC_TARGET_DSN'
    config         $CONFIG
    doctor         "$BIN" doctor --config.file="$CONFIG" --web.listen-address="$ADDR"
    logs           $CDC_PIPELINE_LOGS/ (pipeline), this terminal (cdc-sentinel)$LOOP

  Try: psql '$CDC_SOURCE_DSN' -c "update inventory.customers set name = name || '!' where id = 1"
       curl -s -X PUT $CDC_CONNECT_URL/connectors/demo-sink/pause   # then watch cdc_table_lag_seconds

  Ctrl-C stops cdc-sentinel (and the demo's Prometheus and Alertmanager);
  'make demo-down' stops the pipeline.

MSG
"$BIN" --config.file="$CONFIG" --storage.path="$DEMO/data" --web.listen-address="$ADDR"
