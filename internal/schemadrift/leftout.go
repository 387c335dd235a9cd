package schemadrift

import (
	"cmp"
	"context"
	"fmt"

	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

// LeftOut reads the source and target tables' catalogs and returns the
// columns drift and reconcile must leave out of a row comparison, each
// with its reason: those the target lacks and those whose target type
// loses values (a row would differ in them for the schema's sake, not
// replication's). The capture instance and the topic are not read: a
// column they lack is missing in the target too, or still arrives.
func LeftOut(ctx context.Context, src, tgt *database.DB, srcTable, tgtTable string, scope Scope) ([]sqldialect.Excluded, error) {
	var l Layers
	var err error
	if l.Source, err = readColumns(ctx, src, srcTable); err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	if l.Target, err = readColumns(ctx, tgt, tgtTable); err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	var out []sqldialect.Excluded
	for _, m := range Compare(l, scope) {
		switch m.Kind {
		case MissingInTarget:
			out = append(out, sqldialect.Excluded{Column: m.Column, Reason: "schema drift: the target table has no such column (missing_in_target)"})
		case Type:
			out = append(out, sqldialect.Excluded{Column: m.Column, Reason: "schema drift: " + m.Detail + " (type)"})
		}
	}
	return out, nil
}

// readColumns reads one table's catalog columns.
func readColumns(ctx context.Context, db *database.DB, table string) ([]Column, error) {
	cols, err := readColumnsOf(ctx, db, []string{table})
	if c, ok := cols[table]; ok {
		return c, nil
	}
	return nil, cmp.Or(err, notFound(table))
}

// notFound is a table whose catalog shows no columns.
func notFound(table string) error {
	return fmt.Errorf("columns of %s: table not found (or no columns visible to this user)", table)
}
