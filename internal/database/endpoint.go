package database

import (
	"strconv"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/microsoft/go-mssqldb/msdsn"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
)

// Endpoint is the host, port and database name a DSN points at. It holds
// no credentials.
type Endpoint struct {
	Host     string
	Port     string
	Database string
}

// parseEndpoint reads the endpoint with the driver's own DSN parser, so
// URL and key=value forms are both understood. The error is the driver's
// and may quote the DSN: callers must not pass it on.
func parseEndpoint(driver, dsn string) (Endpoint, error) {
	switch driver {
	case config.DriverPostgres:
		c, err := pgconn.ParseConfig(dsn)
		if err != nil {
			return Endpoint{}, err
		}
		return Endpoint{Host: c.Host, Port: strconv.Itoa(int(c.Port)), Database: c.Database}, nil
	case config.DriverSQLServer:
		c, err := msdsn.Parse(dsn)
		if err != nil {
			return Endpoint{}, err
		}
		port := "1433"
		if c.Port != 0 {
			port = strconv.FormatUint(c.Port, 10)
		}
		return Endpoint{Host: c.Host, Port: port, Database: c.Database}, nil
	}
	return Endpoint{}, nil
}
