package config

import (
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/dsn"
)

// Database is one SQL Server or PostgreSQL database at either end of the
// pipeline. Exactly one of DSN, DSNFile and Vault supplies the credentials.
type Database struct {
	Name            string        `yaml:"name"`
	Driver          string        `yaml:"driver"`
	DSN             Secret        `yaml:"dsn,omitempty"`
	DSNFile         string        `yaml:"dsn_file,omitempty"`
	Vault           *Vault        `yaml:"vault,omitempty"`
	MaxOpenConns    int           `yaml:"max_open_conns,omitempty"`
	MaxIdleConns    int           `yaml:"max_idle_conns,omitempty"`
	ConnMaxLifetime time.Duration `yaml:"conn_max_lifetime,omitempty"`
	QueryTimeout    time.Duration `yaml:"query_timeout,omitempty"`
	// Connectors names the Debezium source connectors capturing from this
	// database, for cdc_connector_offset_lag_seconds. When empty they are
	// found by matching each connector's database name and port against
	// the DSN.
	Connectors []string `yaml:"connectors,omitempty"`
}

// Drivers supported for databases.
const (
	DriverSQLServer = dsn.SQLServer
	DriverPostgres  = dsn.Postgres
)

func (d *Database) applyDefaults() {
	if d.MaxOpenConns == 0 {
		d.MaxOpenConns = 4
	}
	if d.MaxIdleConns == 0 {
		d.MaxIdleConns = d.MaxOpenConns
	}
	if d.ConnMaxLifetime == 0 {
		d.ConnMaxLifetime = 30 * time.Minute
	}
	if d.QueryTimeout == 0 {
		d.QueryTimeout = 5 * time.Second
	}
	if d.Vault != nil {
		d.Vault.applyDefaults()
	}
}

func (d *Database) validate(v *validator, p string) {
	if d.Name == "" {
		v.fail(p+".name", "required")
	}
	switch d.Driver {
	case DriverSQLServer, DriverPostgres:
	case "":
		v.fail(p+".driver", "required: sqlserver or postgres")
	default:
		v.fail(p+".driver", "%q is not one of sqlserver, postgres", d.Driver)
	}
	n := 0
	for _, set := range []bool{d.DSN != "", d.DSNFile != "", d.Vault != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		v.fail(p, "exactly one of dsn, dsn_file and vault is required")
	}
	if d.DSN != "" && (d.Driver == DriverPostgres || d.Driver == DriverSQLServer) {
		// The parser serve opens the pool with; its message is not
		// passed on, as it quotes the DSN.
		if _, err := dsn.Parse(d.Driver, d.DSN.Reveal()); err != nil {
			v.fail(p+".dsn", "not a valid %s DSN (the value is not shown: it holds credentials)", d.Driver)
		}
	}
	if d.MaxOpenConns < 0 {
		v.fail(p+".max_open_conns", "must not be negative")
	}
	if d.MaxIdleConns > d.MaxOpenConns {
		v.fail(p+".max_idle_conns", "must not exceed max_open_conns (%d)", d.MaxOpenConns)
	}
	if d.QueryTimeout < 0 {
		v.fail(p+".query_timeout", "must be positive")
	}
	if d.Vault != nil {
		d.Vault.validate(v, p+".vault", d.Driver)
	}
}
