#!/bin/sh
# One-shot: waits for the Connect REST API, then creates or updates every
# connector of /connectors: <name>.json holds its configuration, and
# PUT /connectors/<name>/config is idempotent.
set -eu
URL=${CONNECT_URL:-http://connect:8083}
i=0
until curl -fsS "$URL/connector-plugins" >/dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -gt 90 ] && { echo "Connect not up at $URL" >&2; exit 1; }
  echo "waiting for Connect ($i)"; sleep 2
done
for f in /connectors/*.json; do
  name=$(basename "$f" .json)
  echo "registering $name"
  curl -fsS -X PUT -H 'Content-Type: application/json' --data-binary "@$f" "$URL/connectors/$name/config" >/dev/null
done
echo "connectors registered"
