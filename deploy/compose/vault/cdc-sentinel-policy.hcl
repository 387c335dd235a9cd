# What cdc-sentinel may do in Vault (docs/security.md): read its KV v2
# secrets, ask for dynamic database credentials, and keep its own token and
# leases alive. Nothing else.
path "secret/data/cdc-sentinel/*" {
  capabilities = ["read"]
}
path "secret/metadata/cdc-sentinel/*" {
  capabilities = ["read"]
}
path "database/creds/cdc-sentinel-*" {
  capabilities = ["read"]
}
path "sys/leases/renew" {
  capabilities = ["update"]
}
path "auth/token/renew-self" {
  capabilities = ["update"]
}
path "auth/token/lookup-self" {
  capabilities = ["read"]
}
