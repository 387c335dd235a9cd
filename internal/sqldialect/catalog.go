package sqldialect

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// The catalog reads: a table's columns, primary key and row estimate as a
// comparison needs them (Describe), and its columns with their sizes and
// its capture instance as a schema check needs them (internal/schemadrift).
// Each runs under the caller's context and only reads.

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

// PostgresTablesColumnsQuery lists the columns of several tables at once
// (their schema and name as literal pairs): a schema check of many
// tables costs one catalog query per database, not one per table.
func PostgresTablesColumnsQuery(pairs string) string {
	return `SELECT table_schema, table_name, column_name, data_type, coalesce(character_maximum_length, -1), coalesce(numeric_precision, -1), coalesce(numeric_scale, -1), coalesce(datetime_precision, -1)
FROM information_schema.columns WHERE (table_schema, table_name) IN (` + pairs + `) ORDER BY table_schema, table_name, ordinal_position`
}

// ReadCatalogColumnsOf reads the columns of several tables of one
// database, by table name as given: in one query on PostgreSQL, one per
// table on SQL Server (whose tables may each name their own database).
// A table the catalog does not show is absent from the result; err is
// the first failure, which leaves out the tables it concerns.
func ReadCatalogColumnsOf(ctx context.Context, db *sql.DB, d Dialect, tables []string) (map[string][]CatalogColumn, error) {
	out := make(map[string][]CatalogColumn, len(tables))
	if _, ok := d.(Postgres); !ok {
		var first error
		for _, t := range tables {
			cols, err := ReadCatalogColumns(ctx, db, d, t)
			if err != nil {
				first = cmp.Or(first, err)
				continue
			}
			out[t] = cols
		}
		return out, first
	}
	byName := map[[2]string][]string{}
	var pairs []string
	for _, t := range tables {
		_, schema, name := splitTable(t, "public")
		k := [2]string{schema, name}
		if len(byName[k]) == 0 {
			pairs = append(pairs, "("+d.Literal(schema)+", "+d.Literal(name)+")")
		}
		byName[k] = append(byName[k], t)
	}
	if len(pairs) == 0 {
		return out, nil
	}
	rows, err := db.QueryContext(ctx, PostgresTablesColumnsQuery(strings.Join(pairs, ", ")))
	if err != nil {
		return out, fmt.Errorf("columns of %d tables: %w", len(tables), err)
	}
	defer rows.Close()
	for rows.Next() {
		var k [2]string
		var c CatalogColumn
		if err := rows.Scan(&k[0], &k[1], &c.Name, &c.Type, &c.Length, &c.Precision, &c.Scale, &c.TimePrecision); err != nil {
			return map[string][]CatalogColumn{}, fmt.Errorf("columns of %d tables: %w", len(tables), err)
		}
		c.Type = strings.ToLower(c.Type)
		for _, t := range byName[k] {
			out[t] = append(out[t], c)
		}
	}
	if err := rows.Err(); err != nil {
		return map[string][]CatalogColumn{}, fmt.Errorf("columns of %d tables: %w", len(tables), err)
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

// Described is a table as its database's catalog gives it.
type Described struct {
	Columns []Column // Kind from the engine's type; Scale for time types
	Key     []string // primary key columns in key order
	// EstRows is the catalog's row estimate (reltuples,
	// dm_db_partition_stats); -1 when unknown.
	EstRows int64
}

// splitTable splits [database.]schema.table (or a bare table, in
// defSchema); a SQL Server name may carry its database, as data
// collections do.
func splitTable(name, defSchema string) (catalog, schema, table string) {
	parts := strings.Split(name, ".")
	switch len(parts) {
	case 1:
		return "", defSchema, name
	case 2:
		return "", parts[0], parts[1]
	}
	n := len(parts)
	return strings.Join(parts[:n-2], "."), parts[n-2], parts[n-1]
}

// Describe reads a table's columns, primary key and row estimate.
func Describe(ctx context.Context, s Side) (*Described, error) {
	q, err := queriesFor(s)
	if err != nil {
		return nil, err
	}
	d := &Described{EstRows: -1}
	if d.Columns, err = describeColumns(ctx, s, q); err != nil {
		return nil, err
	}
	if d.Key, err = describeKey(ctx, s, q); err != nil {
		return nil, err
	}
	if err := s.DB.QueryRowContext(ctx, q.estimate, q.args...).Scan(&d.EstRows); err != nil && err != sql.ErrNoRows {
		return nil, fmt.Errorf("describe %s: row estimate: %w", s.Table, err)
	}
	return d, nil
}

// describeQueries are the catalog queries that describe one table, and
// their arguments.
type describeQueries struct {
	columns, key, estimate string
	args                   []any
}

// queriesFor writes the catalog queries for s's table in its dialect.
func queriesFor(s Side) (describeQueries, error) {
	var q describeQueries
	switch s.Dialect.(type) {
	case Postgres:
		_, schema, table := splitTable(s.Table, "public")
		q.args = []any{schema, table}
		q.columns = `SELECT column_name, data_type, coalesce(datetime_precision, -1), coalesce(character_maximum_length, -1)
			FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`
		q.key = `SELECT a.attname FROM pg_index i
			JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
			WHERE n.nspname = $1 AND c.relname = $2 AND i.indisprimary
			ORDER BY array_position(i.indkey::int2[], a.attnum)`
		q.estimate = `SELECT c.reltuples::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = $1 AND c.relname = $2`
	case SQLServer:
		catalog, schema, table := splitTable(s.Table, "dbo")
		q.args = []any{schema, table}
		// A three-part name reads the catalog of its own database.
		views, object := "", "QUOTENAME(TABLE_SCHEMA) + '.' + QUOTENAME(TABLE_NAME)"
		if catalog != "" {
			views = s.Dialect.QuoteIdent(catalog) + "."
			object = s.Dialect.Literal(s.Dialect.QuoteIdent(catalog)+".") + " + " + object
		}
		// COLUMNPROPERTY: IsComputed (1 for a computed column) and
		// GeneratedAlwaysType (1 row start, 2 row end of a temporal
		// table's period; SQL Server 2016 and later). A rowversion column
		// is DATA_TYPE timestamp.
		q.columns = `SELECT COLUMN_NAME, DATA_TYPE, ISNULL(DATETIME_PRECISION, -1), ISNULL(CHARACTER_MAXIMUM_LENGTH, -1), ISNULL(COLLATION_NAME, ''),
			ISNULL(COLUMNPROPERTY(OBJECT_ID(` + object + `), COLUMN_NAME, 'IsComputed'), 0),
			ISNULL(COLUMNPROPERTY(OBJECT_ID(` + object + `), COLUMN_NAME, 'GeneratedAlwaysType'), 0)
			FROM ` + views + `INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = @p1 AND TABLE_NAME = @p2 ORDER BY ORDINAL_POSITION`
		q.key = `SELECT kcu.COLUMN_NAME FROM ` + views + `INFORMATION_SCHEMA.TABLE_CONSTRAINTS tc
			JOIN ` + views + `INFORMATION_SCHEMA.KEY_COLUMN_USAGE kcu ON kcu.CONSTRAINT_NAME = tc.CONSTRAINT_NAME AND kcu.TABLE_SCHEMA = tc.TABLE_SCHEMA
			WHERE tc.CONSTRAINT_TYPE = 'PRIMARY KEY' AND tc.TABLE_SCHEMA = @p1 AND tc.TABLE_NAME = @p2 ORDER BY kcu.ORDINAL_POSITION`
		q.estimate = `SELECT CAST(ISNULL(SUM(row_count), -1) AS bigint) FROM ` + views + `sys.dm_db_partition_stats
			WHERE object_id = OBJECT_ID(` + strings.ReplaceAll(strings.ReplaceAll(object, "TABLE_SCHEMA", "@p1"), "TABLE_NAME", "@p2") + `) AND index_id IN (0, 1)`
	default:
		return describeQueries{}, fmt.Errorf("describe %s: unsupported dialect %s", s.Table, s.Dialect.Name())
	}
	return q, nil
}

// describeColumns reads the table's columns, in order, with the kind
// each is compared as and whether the engine generates it.
func describeColumns(ctx context.Context, s Side, q describeQueries) ([]Column, error) {
	var cols []Column
	rows, err := s.DB.QueryContext(ctx, q.columns, q.args...)
	if err != nil {
		return nil, fmt.Errorf("describe %s: columns: %w", s.Table, err)
	}
	_, sqlServer := s.Dialect.(SQLServer)
	for rows.Next() {
		var c Column
		dest := []any{&c.Name, &c.Type, &c.Scale, &c.Width}
		var computed, always int
		if sqlServer {
			dest = append(dest, &c.Collation, &computed, &always)
		}
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return nil, fmt.Errorf("describe %s: columns: %w", s.Table, err)
		}
		c.Type = strings.ToLower(c.Type)
		switch {
		case computed == 1:
			c.Generated = GeneratedComputed
		case sqlServer && (c.Type == "timestamp" || c.Type == "rowversion"):
			c.Generated = GeneratedRowVersion
		case always == 1:
			c.Generated = GeneratedPeriodStart
		case always == 2:
			c.Generated = GeneratedPeriodEnd
		}
		c.Kind, _ = s.Dialect.KindOf(c.Type) // unsupported columns fail only if compared
		cols = append(cols, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("describe %s: columns: %w", s.Table, err)
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("describe %s: table not found (or no columns visible to this user)", s.Table)
	}
	return cols, nil
}

// describeKey reads the table's primary key columns, in key order.
func describeKey(ctx context.Context, s Side, q describeQueries) ([]string, error) {
	var key []string
	rows, err := s.DB.QueryContext(ctx, q.key, q.args...)
	if err != nil {
		return nil, fmt.Errorf("describe %s: primary key: %w", s.Table, err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return nil, fmt.Errorf("describe %s: primary key: %w", s.Table, err)
		}
		key = append(key, k)
	}
	rows.Close()
	// A read cut short would leave part of a composite key, and rows
	// told apart by the rest would read as duplicates.
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("describe %s: primary key: %w", s.Table, err)
	}
	return key, nil
}
