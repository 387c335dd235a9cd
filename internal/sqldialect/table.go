package sqldialect

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
)

// Side is one end of a replicated table: a pool, its dialect and the
// table's name there ("schema.table").
type Side struct {
	DB      *sql.DB
	Dialect Dialect
	Table   string
	// Filter is a condition in this side's SQL scoping the rows
	// compared (tables[].filter); empty for all rows.
	Filter string
	// DeletedColumn marks soft-deleted rows (ExtractNewRecordState with
	// delete.handling.mode=rewrite writes __deleted): rows where it is
	// true or 'true' count as absent.
	DeletedColumn string
}

// Where is cond restricted to the rows this side compares: those its
// filter selects and not soft-deleted. Every query reading compared rows
// goes through it.
func (s Side) Where(cond string) string {
	var parts []string
	for _, c := range []string{s.Filter, s.notDeleted(), cond} {
		if c != "" {
			parts = append(parts, "("+c+")")
		}
	}
	return strings.Join(parts, " AND ")
}

// notDeleted is the condition of a live row: the deleted column NULL or
// anything but true ('true' as ExtractNewRecordState writes it in text,
// true or 1 in a boolean or bit column).
func (s Side) notDeleted() string {
	if s.DeletedColumn == "" {
		return ""
	}
	q := s.Dialect.QuoteIdent(s.DeletedColumn)
	if _, ok := s.Dialect.(SQLServer); ok {
		return "ISNULL(LOWER(CONVERT(varchar(5), " + q + ")), 'false') NOT IN ('true', '1')"
	}
	return "coalesce(lower(" + q + "::text), 'false') NOT IN ('true', 't', '1')"
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

// Plan is how one table is compared: the same columns, in the same order,
// with one kind each, described for each side.
type Plan struct {
	Source, Target Side
	// SourceCols and TargetCols are parallel: the i-th of each is the
	// same column, with the same Kind.
	SourceCols, TargetCols []Column
	// Key indexes the key columns in SourceCols/TargetCols.
	Key     []int
	EstRows int64
	// NotComparable are columns that cannot be compared exactly along
	// this table's path, left out with the reason: reported, never
	// counted as changes.
	NotComparable []Excluded
	// SchemaDrift are columns left out because the target's schema
	// differs from the source's (PlanOptions.SchemaDrift), with the
	// reason: reported as a schema mismatch, never as changed rows.
	SchemaDrift []Excluded
}

// Side is side i of the comparison, 0 the source and 1 the target, with
// its columns.
func (p *Plan) Side(i int) (Side, []Column) {
	if i == 0 {
		return p.Source, p.SourceCols
	}
	return p.Target, p.TargetCols
}

// SideName names side i in messages: "source" or "target".
func SideName(i int) string { return [2]string{"source", "target"}[i] }

// KeyCols returns the key columns of one side.
func (p *Plan) KeyCols(cols []Column) []Column {
	out := make([]Column, len(p.Key))
	for i, k := range p.Key {
		out[i] = cols[k]
	}
	return out
}

// KeyNames are the key column names.
func (p *Plan) KeyNames() []string {
	out := make([]string, len(p.Key))
	for i, k := range p.Key {
		out[i] = p.SourceCols[k].Name
	}
	return out
}

// PlanOptions choose the compared columns.
type PlanOptions struct {
	// Key overrides the source's primary key.
	Key []string
	// Columns restricts the comparison; empty means every source column.
	Columns []string
	// Ignore lists columns left out.
	Ignore []string
	// Path says how temporal values travel (connector modes and sink);
	// nil means Debezium's defaults and the column types alone.
	Path func(ctx context.Context) (Path, error)
	// SchemaDrift gives the columns whose schema differs between the
	// source and the target (internal/schemadrift decides: missing in
	// the target, a lossy target type), each with its reason. They are
	// left out of the comparison, so a schema change is reported as
	// such and never as changed rows; key columns are still compared.
	// nil leaves out only columns the target lacks.
	SchemaDrift func(ctx context.Context) ([]Excluded, error)
}

// NewPlan describes both sides and pairs their columns. Columns only in
// the target (the sink's __source_ts_ms, say) are not compared.
func NewPlan(ctx context.Context, src, tgt Side, o PlanOptions) (*Plan, error) {
	src, tgt, sd, td, err := describeBoth(ctx, src, tgt)
	if err != nil {
		return nil, err
	}
	var path Path
	if o.Path != nil {
		if path, err = o.Path(ctx); err != nil {
			return nil, fmt.Errorf("time precision path: %w", err)
		}
	}
	key := o.Key
	if len(key) == 0 {
		key = sd.Key
	}
	if len(key) == 0 {
		key = path.MessageKey
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("source %s has no primary key: set the table's key in the configuration (tables[].key), or message.key.columns in its source connector", src.Table)
	}
	var drifted []Excluded
	if o.SchemaDrift != nil {
		if drifted, err = o.SchemaDrift(ctx); err != nil {
			return nil, fmt.Errorf("schema drift: %w", err)
		}
	}
	p := &Plan{Source: src, Target: tgt, EstRows: max(sd.EstRows, td.EstRows)}
	for _, n := range comparedNames(sd, o.Columns, key) {
		isKey := slices.Contains(key, n)
		if slices.Contains(o.Ignore, n) && !isKey {
			continue
		}
		if i := slices.IndexFunc(drifted, func(e Excluded) bool { return strings.EqualFold(e.Column, n) }); i >= 0 && !isKey {
			p.SchemaDrift = append(p.SchemaDrift, Excluded{n, drifted[i].Reason})
			continue
		}
		if reason, err := generatedReason(n, sd, path, isKey); err != nil || reason != "" {
			if err != nil {
				return nil, err
			}
			p.NotComparable = append(p.NotComparable, Excluded{n, reason})
			continue
		}
		sc, tc, reason, err := pairColumn(n, sd, td, p, path, isKey)
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(reason, schemaDriftReason) {
			p.SchemaDrift = append(p.SchemaDrift, Excluded{n, reason})
			continue
		}
		if reason != "" {
			p.NotComparable = append(p.NotComparable, Excluded{n, reason})
			continue
		}
		if isKey {
			p.Key = append(p.Key, len(p.SourceCols))
		}
		p.SourceCols = append(p.SourceCols, sc)
		p.TargetCols = append(p.TargetCols, tc)
	}
	if err := orderKey(p, key); err != nil {
		return nil, err
	}
	if err := checkVersions(p); err != nil {
		return nil, err
	}
	return p, nil
}

// describeBoth learns each side's server version and describes both
// tables, the two at once.
func describeBoth(ctx context.Context, src, tgt Side) (Side, Side, *Described, *Described, error) {
	type res struct {
		d   *Described
		err error
	}
	var err error
	if src, err = withVersion(ctx, src); err != nil {
		return src, tgt, nil, nil, fmt.Errorf("source: %w", err)
	}
	if tgt, err = withVersion(ctx, tgt); err != nil {
		return src, tgt, nil, nil, fmt.Errorf("target: %w", err)
	}
	ch := make(chan res, 1)
	go func() { d, err := Describe(ctx, tgt); ch <- res{d, err} }()
	sd, serr := Describe(ctx, src)
	tr := <-ch
	if serr != nil {
		return src, tgt, nil, nil, fmt.Errorf("source: %w", serr)
	}
	if tr.err != nil {
		return src, tgt, nil, nil, fmt.Errorf("target: %w", tr.err)
	}
	return src, tgt, sd, tr.d, nil
}

// comparedNames are the columns to compare: those configured, or every
// source column, with the key columns first when they are missing.
func comparedNames(sd *Described, configured, key []string) []string {
	names := configured
	if len(names) == 0 {
		for _, c := range sd.Columns {
			names = append(names, c.Name)
		}
	}
	for _, k := range key {
		if !slices.Contains(names, k) {
			names = append([]string{k}, names...)
		}
	}
	return names
}

// generatedReason is why source column n, written by the engine itself,
// is left out of the comparison ("" to compare it): nothing the source
// connector sends can equal it at the target. It is an error for a key.
func generatedReason(n string, sd *Described, path Path, isKey bool) (string, error) {
	sc, ok := findColumn(sd.Columns, n)
	if !ok {
		return "", nil
	}
	var reason string
	switch sc.Generated {
	case GeneratedComputed:
		reason = "a computed column: SQL Server's change data capture does not track it (its change-table value is NULL), so the target never gets its value"
	case GeneratedRowVersion:
		reason = "a rowversion: a counter of the source database, which no other database shares"
	case GeneratedPeriodEnd:
		mode := path.Mode
		if mode == "" {
			mode = ModeAdaptive
		}
		if mode != ModeConnect && sourceDigits(sc) > 6 {
			reason = fmt.Sprintf("a temporal table's period end: its current rows hold 9999-12-31 23:59:59.9999999, which time.precision.mode=%s sends as io.debezium.time.NanoTimestamp, whose 64-bit nanoseconds end in 2262 (older Debezium wraps the value, newer fails the connector); see docs/sqlserver.md", mode)
		}
	}
	if reason != "" && isKey {
		return "", fmt.Errorf("key column %q cannot be compared: it is %s", n, reason)
	}
	return reason, nil
}

// findColumn finds a column by name; Debezium's sink may fold case, so a
// case-insensitive match is accepted when there is no exact one.
func findColumn(cols []Column, name string) (Column, bool) {
	for _, c := range cols {
		if c.Name == name {
			return c, true
		}
	}
	for _, c := range cols {
		if strings.EqualFold(c.Name, name) {
			return c, true
		}
	}
	return Column{}, false
}

// schemaDriftReason starts the reason of a column pairColumn leaves out
// because the target's schema differs.
const schemaDriftReason = "schema drift: "

// pairColumn pairs column n of both sides under the kind they are
// compared as. A non-empty reason means the column cannot be compared
// exactly along this path and is left out; it is an error for a key.
func pairColumn(n string, sd, td *Described, p *Plan, path Path, isKey bool) (sc, tc Column, reason string, err error) {
	sc, ok := findColumn(sd.Columns, n)
	if !ok {
		return sc, tc, "", fmt.Errorf("column %q is not in source table %s", n, p.Source.Table)
	}
	tc, ok = findColumn(td.Columns, n)
	if !ok && !isKey {
		// Schema drift: the rest of the table is still compared.
		return sc, tc, schemaDriftReason + "the target table has no such column (missing_in_target)", nil
	}
	if !ok {
		return sc, tc, "", fmt.Errorf("key column %q is not in target table %s", n, p.Target.Table)
	}
	if sc.Kind == rowhash.KindInvalid {
		_, err := p.Source.Dialect.KindOf(sc.Type)
		return sc, tc, "", fmt.Errorf("source column %q: %w", n, err)
	}
	if tc.Kind == rowhash.KindInvalid {
		if sc.Kind == rowhash.KindDecimal && isFloat(tc.Type) && !isKey {
			return sc, tc, "the target holds a binary float (decimal.handling.mode=double), which cannot equal the source's decimal exactly", nil
		}
		_, err := p.Target.Dialect.KindOf(tc.Type)
		return sc, tc, "", fmt.Errorf("target column %q: %w", n, err)
	}
	var k rowhash.Kind
	if isTemporal(sc.Kind) {
		k, sc.Time, tc.Time, reason = decideTime(sc, tc, path)
		if reason != "" {
			if isKey {
				return sc, tc, "", fmt.Errorf("key column %q cannot be compared exactly: %s", n, reason)
			}
			return sc, tc, reason, nil
		}
	} else if k, err = Pair(sc.Kind, tc.Kind); err != nil && !isKey {
		return sc, tc, schemaDriftReason + err.Error() + " (type)", nil
	} else if err != nil {
		return sc, tc, "", fmt.Errorf("key column %q: %w", n, err)
	}
	sc.Kind, tc.Kind = k, k
	if k == rowhash.KindChar && !isFixed(tc.Type) {
		// The sink pads to the source's width, not to its own.
		tc.Width = -1
		if isFixed(sc.Type) {
			tc.Width = sc.Width
		}
	}
	return sc, tc, "", nil
}

// orderKey puts the plan's key columns in the configured key's order (not
// the column order) and refuses binary keys.
func orderKey(p *Plan, key []string) error {
	ordered := make([]int, 0, len(key))
	for _, k := range key {
		for _, i := range p.Key {
			if p.SourceCols[i].Name == k {
				ordered = append(ordered, i)
			}
		}
	}
	p.Key = ordered
	for _, i := range p.Key {
		if p.SourceCols[i].Kind == rowhash.KindBytes {
			return fmt.Errorf("key column %q: binary keys are not supported", p.SourceCols[i].Name)
		}
	}
	return nil
}

func isFloat(typ string) bool {
	switch typ {
	case "double precision", "real", "float4", "float8", "float":
		return true
	}
	return false
}

// Chunker is implemented by dialects that can split a full scan of a
// table into parts that each read only their own share of its storage,
// so several sessions can hash one table at once without reading it
// several times.
type Chunker interface {
	// Chunks returns WHERE conditions that together select every row of
	// table exactly once. n ≤ 0 lets the database decide, the way it
	// would size a parallel scan of the table; an empty condition means
	// the whole table.
	Chunks(ctx context.Context, db *sql.DB, table string, n int) ([]string, error)
	// SharedSnapshot opens n read-only transactions that all see one
	// snapshot, so the parts of one scan count every row exactly once
	// even while the table changes. The caller rolls each back.
	SharedSnapshot(ctx context.Context, db *sql.DB, n int) ([]*sql.Tx, error)
}

// SharedSnapshot exports the first transaction's snapshot and imports it
// into the others (pg_export_snapshot, SET TRANSACTION SNAPSHOT), the way
// pg_dump's parallel workers share one. Without it, a row updated while
// the parts run could be counted in two parts (its old version in one,
// its new one, written elsewhere in the table, in another) or in none.
func (p Postgres) SharedSnapshot(ctx context.Context, db *sql.DB, n int) (txs []*sql.Tx, err error) {
	defer func() {
		if err != nil {
			for _, tx := range txs {
				_ = tx.Rollback()
			}
			txs = nil
		}
	}()
	opts := &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	first, err := db.BeginTx(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("shared snapshot: %w", err)
	}
	txs = append(txs, first)
	var id string
	if err := first.QueryRowContext(ctx, "SELECT pg_export_snapshot()").Scan(&id); err != nil {
		return txs, fmt.Errorf("shared snapshot: export: %w", err)
	}
	for len(txs) < n {
		tx, err := db.BeginTx(ctx, opts)
		if err != nil {
			return txs, fmt.Errorf("shared snapshot: %w", err)
		}
		txs = append(txs, tx)
		if _, err := tx.ExecContext(ctx, "SET TRANSACTION SNAPSHOT "+p.Literal(id)); err != nil {
			return txs, fmt.Errorf("shared snapshot: import: %w", err)
		}
	}
	return txs, nil
}

// Chunks splits table into block ranges read by TID range scans
// (PostgreSQL 14+). With n ≤ 0 it uses as many parts as PostgreSQL would
// give one parallel scan of the table: max_parallel_workers_per_gather
// workers plus the leader, once the table reaches
// min_parallel_table_scan_size. A single session's GROUP BY over a fenced
// subquery never runs in parallel, so without this one side of a
// reconcile would use one core where a plain checksum query uses three.
// The last range is open-ended, so rows appended meanwhile are counted.
func (p Postgres) Chunks(ctx context.Context, db *sql.DB, table string, n int) ([]string, error) {
	var pages, workers, minPages int64
	err := db.QueryRowContext(ctx, `SELECT pg_relation_size($1::regclass) / current_setting('block_size')::bigint,
		current_setting('max_parallel_workers_per_gather')::bigint,
		(SELECT setting::bigint FROM pg_settings WHERE name = 'min_parallel_table_scan_size')`,
		p.QuoteTable(table)).Scan(&pages, &workers, &minPages)
	if err != nil {
		return nil, fmt.Errorf("size of %s: %w", table, err)
	}
	if n <= 0 {
		n = 1
		if pages >= minPages {
			n = int(workers) + 1
		}
	}
	if limit := db.Stats().MaxOpenConnections; limit > 0 {
		n = min(n, limit)
	}
	n = int(min(int64(n), pages))
	if n <= 1 {
		return []string{""}, nil
	}
	out := make([]string, n)
	for i := range n {
		lo, hi := pages*int64(i)/int64(n), pages*int64(i+1)/int64(n)
		switch i {
		case 0:
			out[i] = fmt.Sprintf("ctid < '(%d,0)'", hi)
		case n - 1:
			out[i] = fmt.Sprintf("ctid >= '(%d,0)'", lo)
		default:
			out[i] = fmt.Sprintf("ctid >= '(%d,0)' AND ctid < '(%d,0)'", lo, hi)
		}
	}
	return out, nil
}

// ExactKeys returns an error naming the first key column whose values do
// not round-trip exactly between the engines: one whose comparison maps
// distinct source values to one encoding (trailing spaces dropped,
// timestamps rounded to microseconds or milliseconds, text parsed as an
// instant). Deleting a target row on such a key could delete a good row.
func (p *Plan) ExactKeys() error {
	for _, i := range p.Key {
		sc, tc := p.SourceCols[i], p.TargetCols[i]
		var why string
		switch sc.Kind {
		case rowhash.KindChar:
			why = "trailing spaces are dropped before comparing, so 'a' and 'a ' are one key"
		case rowhash.KindTimestamp, rowhash.KindTimestampTZ, rowhash.KindTime:
			switch {
			case sc.Time.Millis:
				why = "values are compared at milliseconds"
			case sourceDigits(sc) > 6:
				why = fmt.Sprintf("its %d fractional digits are compared at microseconds", sourceDigits(sc))
			case tc.Time.Stored == StoredISOText:
				why = "the target holds it as text, compared as the instant PostgreSQL parses"
			}
		}
		if why != "" {
			return fmt.Errorf("key column %q cannot round-trip exactly between the engines: %s", sc.Name, why)
		}
	}
	return nil
}
