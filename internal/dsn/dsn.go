// Package dsn parses database connection strings with each driver's own
// parser. It is the one place that decides whether a DSN is valid, so
// check-config, a reload and the pools serve opens all agree.
package dsn

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/microsoft/go-mssqldb/msdsn"
)

// Drivers a DSN can be written for.
const (
	SQLServer = "sqlserver"
	Postgres  = "postgres"
)

// Endpoint is the host, port and database name a DSN points at. It holds
// no credentials.
type Endpoint struct {
	Host     string
	Port     string
	Database string
}

// ErrInvalid is what Parse returns for a DSN its driver rejects. The
// driver's own error is dropped: it can quote the DSN, password included.
var ErrInvalid = errors.New("not a valid DSN")

// Parse reads the endpoint with the driver's own DSN parser, so URL and
// key=value forms are both understood.
func Parse(driver, s string) (Endpoint, error) {
	switch driver {
	case Postgres:
		c, err := pgconn.ParseConfig(s)
		if err != nil {
			return Endpoint{}, fmt.Errorf("%w for driver %s", ErrInvalid, driver)
		}
		return Endpoint{Host: c.Host, Port: strconv.Itoa(int(c.Port)), Database: c.Database}, nil
	case SQLServer:
		c, err := msdsn.Parse(s)
		if err != nil {
			return Endpoint{}, fmt.Errorf("%w for driver %s", ErrInvalid, driver)
		}
		port := "1433"
		if c.Port != 0 {
			port = strconv.FormatUint(c.Port, 10)
		}
		return Endpoint{Host: c.Host, Port: port, Database: c.Database}, nil
	}
	return Endpoint{}, fmt.Errorf("unknown driver %q", driver)
}

// CheckPostgresPool parses s as the pgx pool that the PostgreSQL
// remediation store opens does, pool_* settings included.
func CheckPostgresPool(s string) error {
	if _, err := pgxpool.ParseConfig(s); err != nil {
		return fmt.Errorf("%w for a PostgreSQL pool", ErrInvalid)
	}
	return nil
}
