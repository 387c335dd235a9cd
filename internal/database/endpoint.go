package database

import "github.com/cdc-sentinel/cdc-sentinel/internal/dsn"

// Endpoint is the host, port and database name a DSN points at. It holds
// no credentials.
type Endpoint = dsn.Endpoint
