#!/usr/bin/env bash
# End-to-end check of a running local pipeline (scripts/pipeline/pipeline.sh verify):
#  1. insert, update and delete rows in source inventory.customers / inventory.orders and wait until
#     target public.customers / public.orders match, with __source_ts_ms filled;
#  2. produce a malformed (non-JSON) record to demo.inventory.customers with Kafka's
#     org.apache.kafka.tools.ConsoleProducer and wait until it is in the DLQ topic demo-sink-dlq.
#     The sink subscribes with topics.regex=demo\.inventory\.(customers|orders), so any client can
#     send bad records to those topics; the JsonConverter fails on them and, with
#     errors.tolerance=all, Connect routes them to the DLQ (context headers __connect.errors.*).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUN=${CDC_PIPELINE_DIR:-/tmp/cdc-sentinel-pipeline}
[ -f "$RUN/env" ] || { echo "verify: $RUN/env missing: run pipeline.sh up first" >&2; exit 1; }
# shellcheck disable=SC1091
. "$RUN/env"

say() { printf '[verify] %s\n' "$*" >&2; }
fail() { printf '[verify] FAILED: %s\n' "$*" >&2; exit 1; }
src() { psql -X -q -v ON_ERROR_STOP=1 -tA "$CDC_SOURCE_DSN" -c "$1"; }
tgt() { psql -X -q -v ON_ERROR_STOP=1 -tA "$CDC_TARGET_DSN" -c "$1" 2>/dev/null; }
wait_eq() { # wait_eq SECONDS DESCRIPTION SQL EXPECTED
  local end=$((SECONDS + $1)) got=""
  while [ $SECONDS -lt $end ]; do
    got=$(tgt "$3" || true)
    [ "$got" = "$4" ] && { say "ok: $2"; return 0; }
    sleep 0.25
  done
  fail "$2: target answered '$got', expected '$4' (see $CDC_PIPELINE_LOGS/connect.log)"
}

tag="verify-$(date +%s)-$$"
# remove this run's rows from the source even when a check fails (the sink then deletes them too)
cleanup() {
  src "delete from inventory.orders where order_no = 'ORD-$tag'; delete from inventory.customers where name = '$tag'" >/dev/null 2>&1 || true
}
trap cleanup EXIT
t0=$(date +%s%N)

# initial snapshot reached the target
wait_eq 60 "initial snapshot: target has all source customers" \
  "select count(*) from customers where id <= 30" "$(src "select count(*) from inventory.customers where id <= 30")"

id=$(src "insert into inventory.customers (name, email, balance) values ('$tag', '$tag@example.com', 12.34) returning id")
src "insert into inventory.orders (customer_id, order_no, amount, note, created_at) values ($id, 'ORD-$tag', 99.99, 'verify', '2024-05-06 07:08:09.123456')"
wait_eq 30 "insert replicated (customers id=$id)" "select name || '|' || balance from customers where id = $id" "$tag|12.34"
wait_eq 30 "insert replicated (orders compound key)" \
  "select amount || '|' || created_at from orders where customer_id = $id and order_no = 'ORD-$tag'" "99.99|2024-05-06 07:08:09.123456"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
say "insert visible in target after ~${ms} ms"

src "update inventory.customers set balance = 56.78 where id = $id"
wait_eq 30 "update replicated" "select balance from customers where id = $id" "56.78"
wait_eq 10 "__source_ts_ms filled and recent" \
  "select (__source_ts_ms is not null and __source_ts_ms > (extract(epoch from now()) * 1000 - 600000)) from customers where id = $id" "t"

src "delete from inventory.orders where customer_id = $id and order_no = 'ORD-$tag'"
src "delete from inventory.customers where id = $id"
wait_eq 30 "delete replicated (orders)" "select count(*) from orders where customer_id = $id and order_no = 'ORD-$tag'" "0"
wait_eq 30 "delete replicated (customers)" "select count(*) from customers where id = $id" "0"

# DLQ: count records in the DLQ before and after producing one malformed record.
dlq_count() {
  java -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile="$HERE/config/log4j2.properties" \
    -Dlog4j2.level=ERROR -cp "$CDC_KAFKA_CLASSPATH" org.apache.kafka.tools.GetOffsetShell \
    --bootstrap-server "$CDC_KAFKA_BROKERS" --topic "$CDC_DLQ_TOPIC" 2>/dev/null \
    | awk -F: '{s += $3} END {print s + 0}'
}
before=$(dlq_count)
printf 'this is not json {%s\n' "$tag" | java -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
  -Dlog4j2.configurationFile="$HERE/config/log4j2.properties" -Dlog4j2.level=ERROR \
  -cp "$CDC_KAFKA_CLASSPATH" org.apache.kafka.tools.ConsoleProducer \
  --bootstrap-server "$CDC_KAFKA_BROKERS" --topic demo.inventory.customers \
  || fail "ConsoleProducer could not send the malformed record"
end=$((SECONDS + 30))
while :; do
  after=$(dlq_count)
  [ "$after" -gt "$before" ] && break
  [ $SECONDS -lt $end ] || fail "malformed record did not reach $CDC_DLQ_TOPIC (count $before -> $after)"
  sleep 1
done
say "ok: malformed record routed to $CDC_DLQ_TOPIC ($before -> $after records)"
st=$(curl -sf "$CDC_CONNECT_URL/connectors/$CDC_SINK_CONNECTOR/status") || fail "sink status unavailable"
case $st in *FAILED*) fail "sink failed after the bad record: $st" ;; esac
say "ok: sink still RUNNING"
say "all checks passed"
