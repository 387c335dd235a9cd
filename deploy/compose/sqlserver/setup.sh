#!/bin/bash
# One-shot: waits for SQL Server, then creates the demo database with CDC
# enabled and cdc-sentinel's least-privilege login (init.sql).
set -euo pipefail
SQLCMD=/opt/mssql-tools18/bin/sqlcmd
for i in $(seq 1 60); do
  if "$SQLCMD" -C -S sqlserver -U sa -P "$MSSQL_SA_PASSWORD" -Q "SELECT 1" >/dev/null 2>&1; then
    break
  fi
  echo "waiting for SQL Server ($i)"; sleep 2
done
"$SQLCMD" -C -b -S sqlserver -U sa -P "$MSSQL_SA_PASSWORD" \
  -v SENTINEL_PASSWORD="$SENTINEL_SQLSERVER_PASSWORD" -v DEBEZIUM_PASSWORD="$DEBEZIUM_SQLSERVER_PASSWORD" \
  -i /init/init.sql
echo "SQL Server: inventory database ready, CDC enabled"
