#!/bin/sh
# Load test of the remediator's webhook on loopback (see main.go): first a
# baseline handler that only decodes the payload, then the real receiver,
# engine and bbolt store, same load, same run.
# Usage: bench/alerts/run.sh [-rate 1000] [-alerts 10] [-duration 30s] [-duplicates 0.5]
set -eu
cd "$(dirname "$0")/../.."
go build -o /tmp/cdc-bench-alerts ./bench/alerts
echo "== baseline: decode only"
/tmp/cdc-bench-alerts -baseline "$@"
echo "== remediator: record, act, verify, audit"
exec /tmp/cdc-bench-alerts "$@"
