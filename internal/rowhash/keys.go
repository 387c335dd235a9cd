package rowhash

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Key is one row's key: column name → value (a json.Number for integer
// columns, a string otherwise), as drift reports and reconcile lists it.
type Key map[string]any

// KeyValue is the value a key column's text form (Dialect.Text) is kept
// as in a Key.
func KeyValue(c Column, text string) any {
	if c.Kind == KindInt {
		return json.Number(text)
	}
	return text
}

// KeyLiteral is v, a key column's value, as a SQL literal of d. Integer
// columns take only integers, so nothing but digits reaches the SQL.
func KeyLiteral(d Dialect, c Column, v any) (string, error) {
	s := fmt.Sprint(v)
	if c.Kind == KindInt {
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			return "", fmt.Errorf("key column %s: %q is not an integer", c.Name, s)
		}
		return s, nil
	}
	return d.Literal(s), nil
}

// KeyLookup is a WHERE condition matching keys as one semi-join against
// a VALUES list (planned as a hash or index join, where a long OR list
// would be planned term by term). Non-integer key columns are compared
// by their text form (Dialect.Text), which is how keys are read.
func KeyLookup(d Dialect, keyCols []Column, keys []Key) (string, error) {
	if len(keys) == 0 {
		return "1 = 0", nil
	}
	var rows []string
	for _, k := range keys {
		vals := make([]string, len(keyCols))
		for i, c := range keyCols {
			v, ok := k[c.Name]
			if !ok || v == nil {
				return "", fmt.Errorf("key %v: no value for %s", k, c.Name)
			}
			lit, err := KeyLiteral(d, c, v)
			if err != nil {
				return "", err
			}
			vals[i] = lit
		}
		rows = append(rows, "("+strings.Join(vals, ", ")+")")
	}
	names := make([]string, len(keyCols))
	conds := make([]string, len(keyCols))
	for i, c := range keyCols {
		names[i] = fmt.Sprintf("cdc_k%d", i)
		col := d.QuoteIdent(c.Name)
		if c.Kind != KindInt {
			col = d.Text(c)
		}
		conds[i] = fmt.Sprintf("cdc_v.cdc_k%d = %s", i, col)
	}
	return fmt.Sprintf("EXISTS (SELECT 1 FROM (VALUES %s) cdc_v(%s) WHERE %s)",
		strings.Join(rows, ", "), strings.Join(names, ", "), strings.Join(conds, " AND ")), nil
}

// KeyRangeQuery selects the smallest and the largest value of an integer
// leading key column, as bigints: two index end lookups when an index
// leads with the column.
func KeyRangeQuery(d Dialect, table, column string) string {
	lead := d.Bigint(d.QuoteIdent(column))
	return fmt.Sprintf("SELECT min(%s), max(%s) FROM %s", lead, lead, d.QuoteTable(table))
}

// KeyRange is the smallest and the largest leading key value over both
// sides of an integer-led plan, both sides read at once; ok is false when
// both are empty.
func (p *Plan) KeyRange(ctx context.Context) (lo, hi int64, ok bool, err error) {
	var mins, maxs [2]sql.NullInt64
	errs := make(chan error, 2)
	for i, s := range []Side{p.Source, p.Target} {
		cols := p.SourceCols
		if i == 1 {
			cols = p.TargetCols
		}
		q := KeyRangeQuery(s.Dialect, s.Table, cols[p.Key[0]].Name)
		go func() {
			if err := s.DB.QueryRowContext(ctx, q).Scan(&mins[i], &maxs[i]); err != nil {
				errs <- fmt.Errorf("%s: key range of %s: %w", [2]string{"source", "target"}[i], s.Table, err)
				return
			}
			errs <- nil
		}()
	}
	for range 2 {
		if e := <-errs; e != nil && err == nil {
			err = e
		}
	}
	if err != nil {
		return 0, 0, false, err
	}
	for i := range mins {
		if !mins[i].Valid {
			continue
		}
		if !ok || mins[i].Int64 < lo {
			lo = mins[i].Int64
		}
		if !ok || maxs[i].Int64 > hi {
			hi = maxs[i].Int64
		}
		ok = true
	}
	return lo, hi, ok, nil
}
