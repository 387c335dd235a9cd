package sqldialect

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// The catalog reads of a schema check (internal/schemadrift). Each is
// one query under the caller's context; they only read.

// CatalogColumn is one column as information_schema describes it, with
// the sizes that decide whether a mapping loses values: -1 where the
// catalog gives none.
type CatalogColumn struct {
	Name string
	// Type is the engine's type name, lower case (information_schema's
	// data_type: "character varying", "nvarchar", "datetime2").
	Type string
	// Length is a character or binary column's declared length; -1 when
	// unbounded (text, varchar(max)) or not a string.
	Length int
	// Precision and Scale are a numeric column's; -1 when not declared.
	Precision, Scale int
	// TimePrecision is a temporal column's fractional-second digits; -1
	// when unknown.
	TimePrecision int
}

// PostgresColumnsQuery lists a table's columns with the sizes that decide
// loss, from information_schema (what the user can see of the table).
const PostgresColumnsQuery = `SELECT column_name, data_type, coalesce(character_maximum_length, -1), coalesce(numeric_precision, -1), coalesce(numeric_scale, -1), coalesce(datetime_precision, -1)
FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`

// SQLServerColumnsQuery is the same for SQL Server; views names the
// catalog's database ("[erp]." for a three-part table name, else "").
// NUMERIC_PRECISION of an integer type is its decimal digits there and
// binary digits in PostgreSQL: loss is decided from the type name.
func SQLServerColumnsQuery(views string) string {
	return `SELECT COLUMN_NAME, DATA_TYPE, ISNULL(CHARACTER_MAXIMUM_LENGTH, -1), ISNULL(CAST(NUMERIC_PRECISION AS int), -1), ISNULL(NUMERIC_SCALE, -1), ISNULL(DATETIME_PRECISION, -1)
FROM ` + views + `INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = @p1 AND TABLE_NAME = @p2 ORDER BY ORDINAL_POSITION`
}

// SQLServerCapturedColumnsQuery lists the columns of every capture
// instance of a source table, newest instance first
// (cdc.change_tables.object_id is the change table's id, which
// cdc.captured_columns.object_id refers to; source_object_id is the
// source table's). A table has at most two capture instances: the second
// exists during a switch to a new column list.
func SQLServerCapturedColumnsQuery(views string) string {
	return `SELECT ct.capture_instance, cc.column_name
FROM ` + views + `cdc.change_tables ct JOIN ` + views + `cdc.captured_columns cc ON cc.object_id = ct.object_id
WHERE ct.source_object_id = OBJECT_ID(@p1)
ORDER BY ct.create_date DESC, ct.capture_instance, cc.column_ordinal`
}

// ReadCatalogColumns reads a table's columns from its database's catalog. A
// table that shows no columns is an error: it does not exist, or the
// user may not see it.
func ReadCatalogColumns(ctx context.Context, db *sql.DB, d Dialect, table string) ([]CatalogColumn, error) {
	var q string
	var args []any
	switch d.(type) {
	case Postgres:
		_, schema, name := splitTable(table, "public")
		q, args = PostgresColumnsQuery, []any{schema, name}
	case SQLServer:
		catalog, schema, name := splitTable(table, "dbo")
		views := ""
		if catalog != "" {
			views = SQLServer{}.QuoteIdent(catalog) + "."
		}
		q, args = SQLServerColumnsQuery(views), []any{schema, name}
	default:
		return nil, fmt.Errorf("columns of %s: unsupported dialect %s", table, d.Name())
	}
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, err)
	}
	defer rows.Close()
	var out []CatalogColumn
	for rows.Next() {
		var c CatalogColumn
		if err := rows.Scan(&c.Name, &c.Type, &c.Length, &c.Precision, &c.Scale, &c.TimePrecision); err != nil {
			return nil, fmt.Errorf("columns of %s: %w", table, err)
		}
		c.Type = strings.ToLower(c.Type)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("columns of %s: table not found (or no columns visible to this user)", table)
	}
	return out, nil
}

// ReadCaptured reads the columns of the newest capture instance of a SQL
// Server source table: the one Debezium reads once it has reached its
// first change. ok is false when the table has no capture instance (CDC
// is not enabled for it), which is not a schema mismatch but a doctor
// finding of its own.
func ReadCaptured(ctx context.Context, db *sql.DB, table string) (instance string, cols []string, ok bool, err error) {
	catalog, schema, name := splitTable(table, "dbo")
	views, object := "", QuoteParts(SQLServer{}, schema, name)
	if catalog != "" {
		views = SQLServer{}.QuoteIdent(catalog) + "."
		object = QuoteParts(SQLServer{}, catalog, schema, name)
	}
	rows, err := db.QueryContext(ctx, SQLServerCapturedColumnsQuery(views), object)
	if err != nil {
		return "", nil, false, fmt.Errorf("capture instance of %s: %w", table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var ci, col string
		if err := rows.Scan(&ci, &col); err != nil {
			return "", nil, false, fmt.Errorf("capture instance of %s: %w", table, err)
		}
		if instance == "" {
			instance = ci
		}
		if ci == instance {
			cols = append(cols, col)
		}
	}
	if err := rows.Err(); err != nil {
		return "", nil, false, fmt.Errorf("capture instance of %s: %w", table, err)
	}
	return instance, cols, instance != "", nil
}
