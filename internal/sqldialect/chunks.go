package sqldialect

import (
	"context"
	"database/sql"
	"fmt"
)

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
