#!/bin/sh
# One-shot: stores the database credentials in the dev-mode Vault, writes
# cdc-sentinel's policy and a periodic token holding only that policy to
# the shared volume cdc-sentinel reads it from (auth.token_file).
set -eu
export VAULT_ADDR=${VAULT_ADDR:-http://vault:8200}
i=0
until vault status >/dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -gt 60 ] && { echo "Vault not up at $VAULT_ADDR" >&2; exit 1; }
  sleep 1
done
vault kv put secret/cdc-sentinel/source username=cdc_sentinel password="$SENTINEL_SQLSERVER_PASSWORD" >/dev/null
vault kv put secret/cdc-sentinel/target username=cdc_sentinel password=cdc_sentinel >/dev/null
vault policy write cdc-sentinel /init/cdc-sentinel-policy.hcl >/dev/null
vault token create -policy=cdc-sentinel -period=24h -orphan -field=token > /vault-token/token
chmod 0444 /vault-token/token
echo "vault: credentials stored, token for cdc-sentinel written"
