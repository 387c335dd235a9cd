package sqldialect

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"golang.org/x/sync/errgroup"
)

// ColumnPassKeys is how many keys one query of the column pass looks up
// per side: long key lists stay cheap to plan.
const ColumnPassKeys = 1000

// ColumnPassQueries is how many queries ChangedColumns sends for n keys:
// one per side per ColumnPassKeys keys.
func ColumnPassQueries(n int) int { return 2 * ((n + ColumnPassKeys - 1) / ColumnPassKeys) }

// ChangedColumns is the per-column pass over rows already known to
// differ: it looks keys (canonical key encodings) up on both sides
// through the key's index (Lookup), reads each compared column's
// canonical encoding, and names per key the columns whose encodings
// differ. Only names leave it, never values. Every report of changed
// columns (reconcile's changed_columns, the drift sampler's confirmed
// mismatches) comes from here, so they always agree. A key absent from
// either side (changed again since) gets every column. Callers run it on
// changed rows only, so identical tables never pay for it.
func (p *Plan) ChangedColumns(ctx context.Context, keys []string) (map[string][]string, error) {
	keys = slices.Sorted(slices.Values(keys))
	var vals [2]map[string][][]byte
	for i := range vals {
		vals[i] = make(map[string][][]byte, len(keys))
	}
	for chunk := range slices.Chunk(keys, ColumnPassKeys) {
		g, gctx := errgroup.WithContext(ctx)
		for i := 0; i < 2; i++ {
			g.Go(func() error { return p.columnValues(gctx, i, chunk, vals[i]) })
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
	}
	diff := make(map[string][]string, len(keys))
	for _, k := range keys {
		s, t := vals[0][k], vals[1][k]
		cols := []string{}
		for j, c := range p.SourceCols {
			if j >= len(s) || j >= len(t) || !bytes.Equal(s[j], t[j]) || (s[j] == nil) != (t[j] == nil) {
				cols = append(cols, c.Name)
			}
		}
		diff[k] = cols
	}
	return diff, nil
}

// columnValues reads side i's rows whose encoded keys are keys: each
// column's canonical encoding, into out by encoded key.
func (p *Plan) columnValues(ctx context.Context, i int, keys []string, out map[string][][]byte) error {
	side, cols := p.Side(i)
	name := SideName(i)
	kc := p.KeyCols(cols)
	cond, err := Lookup(side.Dialect, kc, keys)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", name, side.Table, err)
	}
	want := make(map[string]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	extra := []string{side.Dialect.Encode(kc) + " AS kenc"}
	for j, c := range cols {
		extra = append(extra, fmt.Sprintf("%s AS c%d", side.Dialect.Encode([]Column{c}), j))
	}
	rows, err := side.DB.QueryContext(ctx, side.Dialect.Hashed(side.Table, cols, extra, side.Where(cond)))
	if err != nil {
		return fmt.Errorf("%s: column values of %s: %w", name, side.Table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var kenc string
		v := make([][]byte, len(cols))
		var a, b int64
		dest := []any{&kenc}
		for j := range v {
			dest = append(dest, &v[j])
		}
		dest = append(dest, &a, &b)
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("%s: column values of %s: %w", name, side.Table, err)
		}
		// Lookup may select a few more rows: keep the asked-for keys.
		if want[kenc] {
			out[kenc] = v
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: column values of %s: %w", name, side.Table, err)
	}
	return nil
}
