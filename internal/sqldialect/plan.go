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
		if err := p.place(n, slices.Contains(key, n), sd, td, path, o.Ignore, drifted); err != nil {
			return nil, err
		}
	}
	if err := orderKey(p, key); err != nil {
		return nil, err
	}
	if err := checkVersions(p); err != nil {
		return nil, err
	}
	return p, nil
}

// place decides what becomes of column n: compared (added to both
// sides' columns, and to the key when it is one), or left out as
// ignored, as schema drift, or as not comparable along path.
func (p *Plan) place(n string, isKey bool, sd, td *Described, path Path, ignore []string, drifted []Excluded) error {
	if slices.Contains(ignore, n) && !isKey {
		return nil
	}
	if e, ok := FindColumn(drifted, n, func(e Excluded) string { return e.Column }); ok && !isKey {
		p.SchemaDrift = append(p.SchemaDrift, Excluded{n, e.Reason})
		return nil
	}
	if reason, err := generatedReason(n, sd, path, isKey); err != nil || reason != "" {
		if err != nil {
			return err
		}
		p.NotComparable = append(p.NotComparable, Excluded{n, reason})
		return nil
	}
	sc, tc, reason, err := pairColumn(n, sd, td, p, path, isKey)
	if err != nil {
		return err
	}
	if strings.HasPrefix(reason, schemaDriftReason) {
		p.SchemaDrift = append(p.SchemaDrift, Excluded{n, reason})
		return nil
	}
	if reason != "" {
		p.NotComparable = append(p.NotComparable, Excluded{n, reason})
		return nil
	}
	if isKey {
		p.Key = append(p.Key, len(p.SourceCols))
	}
	p.SourceCols = append(p.SourceCols, sc)
	p.TargetCols = append(p.TargetCols, tc)
	return nil
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

// findColumn finds a column of a described table by name, as FindColumn
// matches names.
func findColumn(cols []Column, name string) (Column, bool) {
	return FindColumn(cols, name, func(c Column) string { return c.Name })
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
	} else if k, reason, err = pairKinds(n, sc.Kind, tc.Kind, isKey); err != nil || reason != "" {
		return sc, tc, reason, err
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

// pairKinds is the kind non-temporal column n is compared as (Pair).
// Whether the target's type holds every value is the schema comparison's
// decision (schemadrift.Lossy), which leaves a narrower one out as schema
// drift before pairing; what reaches here holds every value, so a pair
// Pair refuses is not comparable along this path (the reason is no
// schema mismatch, which the schema check would not count), except a
// decimal stored in an integer column or an integer in a decimal one (a
// numeric(14,0) in a bigint): compared by value as decimals, both
// encoded as the decimal's canonical text (trailing fractional zeros
// trimmed, so 12 and 12.00 are equal). Keys are not compared by value:
// their lookups would put a decimal's literal into an integer column.
func pairKinds(n string, src, tgt rowhash.Kind, isKey bool) (k rowhash.Kind, reason string, err error) {
	k, err = Pair(src, tgt)
	switch {
	case err == nil:
		return k, "", nil
	case isKey:
		return k, "", fmt.Errorf("key column %q: %w", n, err)
	case src == rowhash.KindDecimal && tgt == rowhash.KindInt, src == rowhash.KindInt && tgt == rowhash.KindDecimal:
		return rowhash.KindDecimal, "", nil
	}
	return k, err.Error() + ": the comparison has no rule for this pair", nil
}

func isFloat(typ string) bool {
	switch typ {
	case "double precision", "real", "float4", "float8", "float":
		return true
	}
	return false
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
