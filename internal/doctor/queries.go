package doctor

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
)

// Queries the database checks run. The SQL Server ones are written from
// Microsoft's documentation of sys.tables, cdc.change_tables and
// msdb.dbo.cdc_jobs and have been run at the driver level only
// (go-sqlmock), never against a live server.
const (
	PGTablesQuery = `SELECT table_schema, table_name FROM information_schema.tables
WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`
	SQLServerTablesQuery = `SELECT s.name, t.name FROM sys.tables t JOIN sys.schemas s ON s.schema_id = t.schema_id
WHERE t.is_ms_shipped = 0 AND s.name <> 'cdc'`

	PGColumnsQuery        = `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2`
	SQLServerColumnsQuery = `SELECT COLUMN_NAME FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = @p1 AND TABLE_NAME = @p2`

	PGPublicationQuery       = `SELECT puballtables FROM pg_publication WHERE pubname = $1`
	PGPublicationTablesQuery = `SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1`

	// SQLServerTrackedQuery: is_tracked_by_cdc is set by
	// sys.sp_cdc_enable_table; no row means the table does not exist.
	SQLServerTrackedQuery = `SELECT is_tracked_by_cdc FROM sys.tables WHERE object_id = OBJECT_ID(@p1)`
	// SQLServerCaptureInstancesQuery counts the table's capture instances
	// (one normally, two during a schema change).
	SQLServerCaptureInstancesQuery = `SELECT COUNT(*) FROM cdc.change_tables WHERE source_object_id = OBJECT_ID(@p1)`
	// SQLServerPeriodEndQuery lists the period end column of a
	// system-versioned (temporal, temporal_type 2) table with its
	// fractional-second scale: sys.columns.generated_always_type 2 is
	// GENERATED ALWAYS AS ROW END (SQL Server 2016 and later).
	SQLServerPeriodEndQuery = `SELECT c.name, c.scale FROM sys.columns c JOIN sys.tables t ON t.object_id = c.object_id WHERE c.object_id = OBJECT_ID(@p1) AND t.temporal_type = 2 AND c.generated_always_type = 2`
	// SQLServerAgentQuery reads the SQL Server Agent service state, which
	// runs the capture and cleanup jobs; needs VIEW SERVER STATE, and has
	// no row on platforms without the Agent.
	SQLServerAgentQuery = `SELECT status_desc FROM sys.dm_server_services WHERE servicename LIKE N'SQL Server Agent%'`
)

// tables lists the database's base tables, once per run.
func (r *run) tables(ctx context.Context, db *database.DB) ([]schemaTable, error) {
	r.mu.Lock()
	cached, ok := r.tablesOf[db.Name()]
	r.mu.Unlock()
	if ok {
		return cached, nil
	}
	q := PGTablesQuery
	if db.Driver() == config.DriverSQLServer {
		q = SQLServerTablesQuery
	}
	var out []schemaTable
	err := query(ctx, db, "listing tables", func(pool *sql.DB, ctx context.Context) error {
		var err error
		out, err = querySchemaTables(ctx, pool, q)
		return err
	})
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.tablesOf[db.Name()] = out
	r.mu.Unlock()
	return out, nil
}

// columns lists a table's columns; none means the table does not exist
// (or the login cannot see it).
func columns(ctx context.Context, db *database.DB, table string) (map[string]bool, error) {
	schema, name := connectorkind.SplitTable(db.Driver(), table)
	q := PGColumnsQuery
	if db.Driver() == config.DriverSQLServer {
		q = SQLServerColumnsQuery
	}
	out := map[string]bool{}
	err := query(ctx, db, "reading the columns of "+table, func(pool *sql.DB, ctx context.Context) error {
		rows, err := pool.QueryContext(ctx, q, schema, name)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				return err
			}
			if db.Driver() == config.DriverSQLServer {
				c = strings.ToLower(c)
			}
			out[c] = true
		}
		return rows.Err()
	})
	return out, err
}

// publication is a PostgreSQL publication's content.
type publication struct {
	exists    bool
	allTables bool
	tables    map[schemaTable]bool
}

func (p publication) has(schema, table string) bool {
	return p.allTables || p.tables[schemaTable{schema, table}]
}

func readPublication(ctx context.Context, db *database.DB, name string) (publication, error) {
	var p publication
	err := query(ctx, db, "reading publication "+name, func(pool *sql.DB, ctx context.Context) error {
		err := pool.QueryRowContext(ctx, PGPublicationQuery, name).Scan(&p.allTables)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		p.exists = true
		p.tables = map[schemaTable]bool{}
		tables, err := querySchemaTables(ctx, pool, PGPublicationTablesQuery, name)
		for _, st := range tables {
			p.tables[st] = true
		}
		return err
	})
	return p, err
}

// querySchemaTables runs a query whose rows are (schema, table).
func querySchemaTables(ctx context.Context, pool *sql.DB, q string, args ...any) ([]schemaTable, error) {
	rows, err := pool.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []schemaTable
	for rows.Next() {
		var st schemaTable
		if err := rows.Scan(&st.schema, &st.table); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

// query runs fn on the database's pool under its query timeout and names
// the database and the step in any error.
func query(ctx context.Context, db *database.DB, what string, fn func(*sql.DB, context.Context) error) error {
	pool, err := db.Pool()
	if err != nil {
		return err
	}
	ctx, cancel := db.QueryContext(ctx)
	defer cancel()
	if err := fn(pool, ctx); err != nil {
		return fmt.Errorf("database %s: %s: %w", db.Name(), what, err)
	}
	return nil
}
