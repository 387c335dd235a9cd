// Package reconcile finds every row that differs between a replicated
// table's source and target, and repairs them through Debezium.
//
// Checksums are pushed down into both databases: each side sums its rows'
// hashes per bucket (key ranges when the leading key column is an
// integer, key-hash buckets otherwise, which no collation can reorder),
// and only buckets whose sums differ are split further or fetched row by
// row. Equal tables cost one hashing scan per side.
package reconcile

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"golang.org/x/sync/errgroup"

	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/tracing"
)

// Options tune a reconcile. Zero values take the defaults.
type Options struct {
	// Parallel is how many segments are compared at once while drilling
	// down; each runs one query per side concurrently (default 2).
	Parallel int
	// ScanParallel is how many parts each side's first-level scan is
	// split into, all run at once. 0 (the default) lets PostgreSQL decide
	// as for its own parallel scans (see sqldialect.Postgres.Chunks); SQL
	// Server parallelises one query itself, so there it means 1. On
	// PostgreSQL parts are storage ranges; elsewhere, ranges of an
	// integer leading key.
	ScanParallel int
	// LeafRows is the bucket size below which rows are fetched rather
	// than split further (default 2000).
	LeafRows int
	// BatchRows bounds the rows one fetch brings back per side, and so
	// the memory per worker (default 20000).
	BatchRows int
	// MaxBuckets caps the first-level bucket count (default 65536).
	MaxBuckets int
	// MaxReported caps the differing rows kept in the report; the counts
	// stay exact (default 100000).
	MaxReported int
	// Progress, when set, is called as work completes (from several
	// goroutines, never concurrently).
	Progress func(Progress)
	// Tracing starts each run's trace (nil: none). A run started by a
	// caller that is itself traced, the remediator say, continues the
	// caller's trace.
	Tracing *tracing.Provider
	// RepairPoll is how often the runner reads the notification topic
	// while it follows a repair (default 1s); Now is its clock (default
	// time.Now). Tests set both.
	RepairPoll time.Duration
	Now        func() time.Time
}

func (o *Options) defaults() {
	if o.Parallel <= 0 {
		o.Parallel = 2
	}
	if o.LeafRows <= 0 {
		o.LeafRows = 2000
	}
	if o.BatchRows < o.LeafRows {
		o.BatchRows = max(20000, o.LeafRows)
	}
	if o.MaxBuckets <= 0 {
		o.MaxBuckets = 1 << 16
	}
	if o.MaxReported <= 0 {
		o.MaxReported = 100000
	}
}

// Progress is a snapshot of a running reconcile.
type Progress struct {
	// Phase is "scan" (first-level checksums), "drill" (splitting
	// differing buckets) or "fetch" (comparing rows).
	Phase string `json:"phase"`
	Done  int    `json:"done"`
	Total int    `json:"total"`
	// Differing is the number of differing rows found so far.
	Differing int `json:"differing"`
}

// Report is the outcome of one reconcile.
type Report struct {
	Table           string           `json:"table"`
	RowsSource      int64            `json:"rows_source"`
	RowsTarget      int64            `json:"rows_target"`
	MissingInTarget []sqldialect.Key `json:"missing_in_target"`
	ExtraInTarget   []sqldialect.Key `json:"extra_in_target"`
	Changed         []sqldialect.Key `json:"changed"`
	// DuplicateInTarget are keys the target holds more rows of than the
	// source: a keyless target (pk.mode=none or kafka) or an upsert that
	// appended. Each is counted once, however many copies it has.
	DuplicateInTarget []sqldialect.Key `json:"duplicate_in_target"`
	// ChangedColumns names, for each reported changed row, the columns
	// whose values differ (found by comparing each column's canonical
	// encoding on the changed rows only).
	ChangedColumns  []ColumnDiff `json:"changed_columns"`
	DurationSeconds float64      `json:"duration_seconds"`
	// Counts are exact even when the lists are truncated.
	MissingCount int `json:"missing_count"`
	ExtraCount   int `json:"extra_count"`
	ChangedCount int `json:"changed_count"`
	// DuplicateCount counts the keys of DuplicateInTarget; DuplicateRows
	// the surplus rows (copies beyond the source's).
	DuplicateCount int   `json:"duplicate_count"`
	DuplicateRows  int64 `json:"duplicate_rows"`
	Truncated      bool  `json:"truncated,omitempty"`
	// Mode is "range" or "hash": how rows were bucketed.
	Mode    string        `json:"mode"`
	Key     []string      `json:"key"`
	Queries int64         `json:"queries"`
	Repair  *RepairResult `json:"repair,omitempty"`
	// NotComparable are columns left out because their values cannot be
	// compared exactly along the table's path, with the reason.
	NotComparable []sqldialect.Excluded `json:"not_comparable,omitempty"`
	// SchemaMismatch are columns left out because the target's schema
	// differs from the source's (missing in the target, a lossy type),
	// with the reason: the rest of each row is compared, and these never
	// count as changed rows.
	SchemaMismatch []sqldialect.Excluded `json:"schema_mismatch"`
}

// ColumnDiff is one changed row and the columns that differ in it.
type ColumnDiff struct {
	Key     sqldialect.Key `json:"key"`
	Columns []string       `json:"columns"`
}

// Differing is the number of differing rows.
func (r *Report) Differing() int {
	return r.MissingCount + r.ExtraCount + r.ChangedCount + r.DuplicateCount
}

// segment is a set of rows on both sides: a range of the leading key
// column and/or a key-hash residue.
type segment struct {
	ranged   bool
	lo, hi   int64 // [lo, hi) of the leading key column when ranged
	mask     int32 // key hash & mask == val; mask 0: no restriction
	val      int32
	src, tgt rowhash.Sum
}

func (s segment) rows() int64 { return max(s.src.Count, s.tgt.Count) }

// Reconciler compares one table.
type Reconciler struct {
	plan *sqldialect.Plan
	name string
	opts Options

	keyCols        [2][]sqldialect.Column
	keyEnc         [2]string
	lead           [2]string // leading key column as bigint (bucket arithmetic)
	leadRaw        [2]string // the column itself, so range conditions use its index
	queries        atomic.Int64
	progressMu     sync.Mutex
	found          atomic.Int64
	reportMu       sync.Mutex
	report         *Report
	reportedCounts int
	// noColumnPass leaves changed_columns empty: only benchmarks set it,
	// to measure the column pass against its absence in one run.
	noColumnPass bool
}

// New prepares a reconcile of the planned table; name labels the report.
func New(name string, plan *sqldialect.Plan, opts Options) *Reconciler {
	opts.defaults()
	r := &Reconciler{plan: plan, name: name, opts: opts}
	for i, side := range []struct {
		s    sqldialect.Side
		cols []sqldialect.Column
	}{{plan.Source, plan.SourceCols}, {plan.Target, plan.TargetCols}} {
		r.keyCols[i] = plan.KeyCols(side.cols)
		r.keyEnc[i] = side.s.Dialect.Encode(r.keyCols[i])
		r.leadRaw[i] = side.s.Dialect.QuoteIdent(r.keyCols[i][0].Name)
		r.lead[i] = side.s.Dialect.Bigint(r.leadRaw[i])
	}
	return r
}

func (r *Reconciler) progress(p Progress) {
	if r.opts.Progress == nil {
		return
	}
	p.Differing = int(r.found.Load())
	r.progressMu.Lock()
	defer r.progressMu.Unlock()
	r.opts.Progress(p)
}

// cond is the WHERE clause selecting seg's rows on side i.
func (r *Reconciler) cond(i int, seg segment) string {
	var parts []string
	if seg.ranged {
		parts = append(parts, fmt.Sprintf("%s >= %d AND %s < %d", r.leadRaw[i], seg.lo, r.leadRaw[i], seg.hi))
	}
	if seg.mask != 0 {
		side, _ := r.plan.Side(i)
		parts = append(parts, fmt.Sprintf("(%s & %d) = %d", side.Dialect.KeyHash(r.keyEnc[i]), seg.mask, seg.val))
	}
	return strings.Join(parts, " AND ")
}

// Run compares the whole table.
func (r *Reconciler) Run(ctx context.Context) (*Report, error) {
	start := time.Now()
	r.report = &Report{Table: r.name, Key: r.plan.KeyNames(), MissingInTarget: []sqldialect.Key{}, ExtraInTarget: []sqldialect.Key{}, Changed: []sqldialect.Key{}, DuplicateInTarget: []sqldialect.Key{}, ChangedColumns: []ColumnDiff{},
		NotComparable: r.plan.NotComparable, SchemaMismatch: append([]sqldialect.Excluded{}, r.plan.SchemaDrift...)}
	sctx, span := tracing.Start(ctx, "reconcile first-level scan")
	first, err := r.firstLevel(sctx)
	span.SetAttributes(attribute.Int("segments", len(first)))
	tracing.End(span, err)
	if err != nil {
		return nil, err
	}
	var differing []segment
	for _, s := range first {
		r.report.RowsSource += s.src.Count
		r.report.RowsTarget += s.tgt.Count
		if s.src != s.tgt {
			differing = append(differing, s)
		}
	}
	var leaves []segment
	for level := 0; len(differing) > 0; level++ {
		var split []segment
		for _, s := range differing {
			if r.isLeaf(s) {
				leaves = append(leaves, s)
			} else {
				split = append(split, s)
			}
		}
		dctx, span := tracing.Start(ctx, "reconcile drill-down", attribute.Int("level", level), attribute.Int("segments", len(split)))
		differing, err = r.splitAll(dctx, split)
		span.SetAttributes(attribute.Int("differing", len(differing)))
		tracing.End(span, err)
		if err != nil {
			return nil, err
		}
	}
	fctx, span := tracing.Start(ctx, "reconcile fetch rows", attribute.Int("segments", len(leaves)))
	err = r.fetchAll(fctx, leaves)
	tracing.End(span, err)
	if err != nil {
		return nil, err
	}
	rep := r.report
	for _, l := range [][]sqldialect.Key{rep.MissingInTarget, rep.ExtraInTarget, rep.Changed, rep.DuplicateInTarget} {
		sortKeys(l, rep.Key)
	}
	slices.SortFunc(rep.ChangedColumns, func(a, b ColumnDiff) int { return compareKeys(a.Key, b.Key, rep.Key) })
	rep.Queries = r.queries.Load()
	rep.DurationSeconds = time.Since(start).Seconds()
	return rep, nil
}

func (r *Reconciler) isLeaf(s segment) bool {
	if s.rows() <= int64(r.opts.LeafRows) {
		return true
	}
	// Nothing left to split by.
	return (!s.ranged || s.hi-s.lo <= 1) && s.mask == 0x7fffffff
}

// firstLevel sums every bucket on both sides.
func (r *Reconciler) firstLevel(ctx context.Context) ([]segment, error) {
	est := max(r.plan.EstRows, 1)
	nb := int(min(max(est/int64(r.opts.LeafRows), 1), int64(r.opts.MaxBuckets)))
	if r.keyCols[0][0].Kind == rowhash.KindInt {
		r.report.Mode = "range"
		lo, hi, empty, err := r.bounds(ctx)
		if err != nil {
			return nil, err
		}
		if empty {
			return nil, nil
		}
		span := hi - lo
		if span > 0 {
			width := max((span+int64(nb)-1)/int64(nb), 1)
			var bucket [2]string
			for i := range bucket {
				bucket[i] = fmt.Sprintf("(%s - %d) / %d", r.lead[i], lo, width)
			}
			return r.scan(ctx, bucket, &keyRange{lo: lo, hi: hi}, func(b int64) segment {
				return segment{ranged: true, lo: lo + b*width, hi: min(lo+(b+1)*width, hi)}
			})
		}
		// The key range does not fit in int64 arithmetic: fall back.
	}
	r.report.Mode = "hash"
	// Key-hash buckets cannot be narrowed by an index: every later query
	// hashes the key of every row again. So the first level is made fine
	// enough that a differing bucket is fetched at once rather than split
	// level by level (each level another pass over the table): the
	// bucket map grows, never past MaxBuckets, and costs nothing to scan.
	nb = int(min(max(est/hashLeafRows, 1), int64(r.opts.MaxBuckets)))
	mask := int32(1<<bits.Len(uint(nb-1)) - 1)
	if mask == 0 {
		mask = 1
	}
	var bucket [2]string
	for i := range bucket {
		side, _ := r.plan.Side(i)
		bucket[i] = fmt.Sprintf("(%s & %d)", side.Dialect.KeyHash(r.keyEnc[i]), mask)
	}
	return r.scan(ctx, bucket, nil, func(b int64) segment { return segment{mask: mask, val: int32(b)} })
}

type keyRange struct{ lo, hi int64 }

// hashLeafRows is the rows per first-level key-hash bucket aimed at.
const hashLeafRows = 64

// scan is the first level: every row of both sides summed per bucket.
// Each side's scan is split into parts (scanParts) run at once; a
// bucket's sums from several parts add up.
func (r *Reconciler) scan(ctx context.Context, bucket [2]string, kr *keyRange, seg func(b int64) segment) ([]segment, error) {
	var parts [2][]string
	var txs [2][]*sql.Tx // one per part when a side's parts share a snapshot
	defer func() {
		for _, side := range txs {
			for _, tx := range side {
				_ = tx.Rollback() // read-only: nothing to commit
			}
		}
	}()
	// Not errgroup.WithContext: a transaction ends when its context
	// does, and these must outlive this phase.
	var g0 errgroup.Group
	for i := range parts {
		g0.Go(func() (err error) {
			parts[i], err = r.scanParts(ctx, i, kr)
			if err != nil || len(parts[i]) < 2 {
				return err
			}
			side, _ := r.plan.Side(i)
			if c, ok := side.Dialect.(sqldialect.Chunker); ok {
				r.queries.Add(int64(len(parts[i])))
				if txs[i], err = c.SharedSnapshot(ctx, side.DB, len(parts[i])); err != nil {
					return fmt.Errorf("%s: %w", sqldialect.SideName(i), err)
				}
			}
			return nil
		})
	}
	if err := g0.Wait(); err != nil {
		return nil, err
	}
	var mu sync.Mutex
	all := map[int64]*segment{}
	done, total := 0, len(parts[0])+len(parts[1])
	g, gctx := errgroup.WithContext(ctx)
	for i := range parts {
		for j, cond := range parts[i] {
			var q queryer
			if txs[i] != nil {
				q = txs[i][j]
			}
			g.Go(func() error {
				sums, err := r.aggregateOn(gctx, q, i, cond, bucket[i])
				if err != nil {
					return err
				}
				mu.Lock()
				defer mu.Unlock()
				for b, s := range sums {
					sg := all[b]
					if sg == nil {
						c := seg(b)
						sg = &c
						all[b] = sg
					}
					dst := &sg.src
					if i == 1 {
						dst = &sg.tgt
					}
					dst.Count += s.Count
					dst.A += s.A
					dst.B += s.B
				}
				done++
				r.progress(Progress{Phase: "scan", Done: done, Total: total})
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return sortedSegments(all), nil
}

// scanParts splits side i's full scan: into storage ranges where the
// dialect can (sqldialect.Chunker), else into ScanParallel ranges of the
// leading key when there is one (kr), else not at all.
func (r *Reconciler) scanParts(ctx context.Context, i int, kr *keyRange) ([]string, error) {
	side, _ := r.plan.Side(i)
	if c, ok := side.Dialect.(sqldialect.Chunker); ok {
		r.queries.Add(1)
		parts, err := c.Chunks(ctx, side.DB, side.Table, r.opts.ScanParallel)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sqldialect.SideName(i), err)
		}
		return parts, nil
	}
	n := int64(max(r.opts.ScanParallel, 1))
	if kr == nil || n == 1 || kr.hi-kr.lo < n {
		return []string{""}, nil
	}
	parts := make([]string, n)
	for c := range n {
		lo := kr.lo + (kr.hi-kr.lo)*c/n
		hi := kr.lo + (kr.hi-kr.lo)*(c+1)/n
		parts[c] = r.cond(i, segment{ranged: true, lo: lo, hi: hi})
	}
	return parts, nil
}

func sortedSegments(m map[int64]*segment) []segment {
	out := make([]segment, 0, len(m))
	for _, s := range m {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b segment) int { return cmp.Or(cmp.Compare(a.lo, b.lo), cmp.Compare(a.val, b.val)) })
	return out
}

// bounds is the union of both sides' leading key ranges, hi exclusive.
func (r *Reconciler) bounds(ctx context.Context) (lo, hi int64, empty bool, err error) {
	r.queries.Add(2)
	lo, hi, ok, err := r.plan.KeyRange(ctx)
	if err != nil || !ok {
		return 0, 0, true, err
	}
	return lo, hi + 1, false, nil
}

// aggregate returns per-bucket sums of seg's rows on one side.
func (r *Reconciler) aggregate(ctx context.Context, i int, seg segment, bucket string) (map[int64]rowhash.Sum, error) {
	return r.aggregateWhere(ctx, i, r.cond(i, seg), bucket)
}

// queryer is a pool or a transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// aggregateWhere returns per-bucket sums of the rows matching cond on
// one side.
func (r *Reconciler) aggregateWhere(ctx context.Context, i int, cond, bucket string) (map[int64]rowhash.Sum, error) {
	return r.aggregateOn(ctx, nil, i, cond, bucket)
}

// aggregateOn is aggregateWhere run on db (nil: the side's pool).
func (r *Reconciler) aggregateOn(ctx context.Context, db queryer, i int, cond, bucket string) (map[int64]rowhash.Sum, error) {
	side, cols := r.plan.Side(i)
	if db == nil {
		db = side.DB
	}
	q := side.Dialect.Aggregate(side.Dialect.Hashed(side.Table, cols, []string{bucket + " AS bkt"}, side.Where(cond)))
	r.queries.Add(1)
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("%s: checksums of %s: %w", sqldialect.SideName(i), side.Table, err)
	}
	defer rows.Close()
	out := map[int64]rowhash.Sum{}
	for rows.Next() {
		var b int64
		var s rowhash.Sum
		if err := rows.Scan(&b, &s.Count, &s.A, &s.B); err != nil {
			return nil, fmt.Errorf("%s: checksums of %s: %w", sqldialect.SideName(i), side.Table, err)
		}
		out[b] = s
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: checksums of %s: %w", sqldialect.SideName(i), side.Table, err)
	}
	return out, nil
}

// splitOne sums seg's rows on both sides into sub-buckets: by range when
// the range still splits, else by more key-hash bits (newMask).
func (r *Reconciler) splitOne(ctx context.Context, seg segment, newMask int32, phase string) ([]segment, error) {
	const fanout = 16
	var bucket [2]string
	var width int64
	byRange := seg.ranged && seg.hi-seg.lo > 1
	for i := 0; i < 2; i++ {
		if byRange {
			width = max((seg.hi-seg.lo+fanout-1)/fanout, 1)
			bucket[i] = fmt.Sprintf("(%s - %d) / %d", r.lead[i], seg.lo, width)
		} else {
			side, _ := r.plan.Side(i)
			bucket[i] = fmt.Sprintf("(%s & %d)", side.Dialect.KeyHash(r.keyEnc[i]), newMask)
		}
	}
	var sums [2]map[int64]rowhash.Sum
	g, gctx := errgroup.WithContext(ctx)
	for i := 0; i < 2; i++ {
		g.Go(func() (err error) {
			sums[i], err = r.aggregate(gctx, i, seg, bucket[i])
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	all := map[int64]*segment{}
	for i := 0; i < 2; i++ {
		for b, s := range sums[i] {
			sg := all[b]
			if sg == nil {
				c := seg
				c.src, c.tgt = rowhash.Sum{}, rowhash.Sum{}
				if byRange {
					c.lo, c.hi = seg.lo+b*width, min(seg.lo+(b+1)*width, seg.hi)
				} else {
					c.mask, c.val = newMask, int32(b)
				}
				sg = &c
				all[b] = sg
			}
			if i == 0 {
				sg.src = s
			} else {
				sg.tgt = s
			}
		}
	}
	_ = phase
	return sortedSegments(all), nil
}

func nextMask(m int32) int32 {
	if m == 0 {
		return 0xf
	}
	n := int64(m)<<4 | 0xf
	if n > 0x7fffffff {
		n = 0x7fffffff
	}
	return int32(n)
}

// splitAll splits every segment in parallel and returns the differing
// children.
func (r *Reconciler) splitAll(ctx context.Context, segs []segment) ([]segment, error) {
	var mu sync.Mutex
	var out []segment
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.opts.Parallel)
	done := 0
	for _, s := range segs {
		g.Go(func() error {
			children, err := r.splitOne(gctx, s, nextMask(s.mask), "drill")
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			for _, c := range children {
				if c.src != c.tgt {
					out = append(out, c)
				}
			}
			done++
			r.progress(Progress{Phase: "drill", Done: done, Total: len(segs)})
			return nil
		})
	}
	return out, g.Wait()
}

// fetchAll compares the rows of the leaf segments, in batches of about
// BatchRows rows per side.
func (r *Reconciler) fetchAll(ctx context.Context, leaves []segment) error {
	// A ranged segment is a term of its own in the fetch's WHERE clause,
	// so a batch holds at most 200; key-hash segments share one IN list
	// per mask (segmentsCond), so many more fit.
	var batches [][]segment
	var cur []segment
	var n int64
	var terms int
	for _, l := range leaves {
		cost := 1
		if !l.ranged && l.mask != 0 {
			cost = 0
		}
		if len(cur) > 0 && (n+l.rows() > int64(r.opts.BatchRows) || terms+cost > 200 || len(cur) >= 10000) {
			batches = append(batches, cur)
			cur, n, terms = nil, 0, 0
		}
		cur = append(cur, l)
		n += l.rows()
		terms += cost
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.opts.Parallel)
	var mu sync.Mutex
	done := 0
	for _, b := range batches {
		g.Go(func() error {
			if err := r.compareRows(gctx, b); err != nil {
				return err
			}
			mu.Lock()
			done++
			d := done
			mu.Unlock()
			r.progress(Progress{Phase: "fetch", Done: d, Total: len(batches)})
			return nil
		})
	}
	return g.Wait()
}

type fetched struct {
	h    rowhash.Hash
	text []sql.NullString
	// n is how many rows the side holds with this key: more than one
	// on a keyless target that appended a row twice.
	n int64
}

func (r *Reconciler) fetchRows(ctx context.Context, i int, segs []segment) (map[string]fetched, error) {
	side, cols := r.plan.Side(i)
	extra := []string{r.keyEnc[i] + " AS kenc"}
	for j, k := range r.keyCols[i] {
		extra = append(extra, fmt.Sprintf("%s AS k%d", side.Dialect.Text(k), j))
	}
	q := side.Dialect.Hashed(side.Table, cols, extra, side.Where(r.segmentsCond(i, segs)))
	r.queries.Add(1)
	rows, err := side.DB.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("%s: rows of %s: %w", sqldialect.SideName(i), side.Table, err)
	}
	defer rows.Close()
	out := map[string]fetched{}
	nk := len(r.keyCols[i])
	for rows.Next() {
		var kenc string
		f := fetched{text: make([]sql.NullString, nk)}
		dest := []any{&kenc}
		for j := range f.text {
			dest = append(dest, &f.text[j])
		}
		dest = append(dest, &f.h.A, &f.h.B)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("%s: rows of %s: %w", sqldialect.SideName(i), side.Table, err)
		}
		f.n = out[kenc].n + 1
		out[kenc] = f
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: rows of %s: %w", sqldialect.SideName(i), side.Table, err)
	}
	return out, nil
}

// segmentsCond is the WHERE clause selecting the rows of segs on side i.
// Key-hash segments of one mask become one IN list: the key hash (an md5
// of the key) is then computed once per row, not once per segment, which
// made a uuid-keyed fetch cost one hash of the whole table per segment.
func (r *Reconciler) segmentsCond(i int, segs []segment) string {
	var conds []string
	byMask := map[int32][]string{}
	var masks []int32
	for _, s := range segs {
		if s.ranged || s.mask == 0 {
			conds = append(conds, "("+r.cond(i, s)+")")
			continue
		}
		if byMask[s.mask] == nil {
			masks = append(masks, s.mask)
		}
		byMask[s.mask] = append(byMask[s.mask], strconv.Itoa(int(s.val)))
	}
	side, _ := r.plan.Side(i)
	for _, m := range masks {
		conds = append(conds, fmt.Sprintf("((%s & %d) IN (%s))", side.Dialect.KeyHash(r.keyEnc[i]), m, strings.Join(byMask[m], ", ")))
	}
	return strings.Join(conds, " OR ")
}

func (r *Reconciler) compareRows(ctx context.Context, segs []segment) error {
	var got [2]map[string]fetched
	g, gctx := errgroup.WithContext(ctx)
	for i := 0; i < 2; i++ {
		g.Go(func() (err error) {
			got[i], err = r.fetchRows(gctx, i, segs)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	src, tgt := got[0], got[1]
	var missing, extra, changed, duplicate []sqldialect.Key
	var changedEnc []string
	var surplus int64
	for k, s := range src {
		t, ok := tgt[k]
		switch {
		case !ok:
			missing = append(missing, r.key(0, s))
		case t.n > s.n:
			// Which copy equals the source is the repair's to find: the
			// key is a duplicate, whatever its copies hold.
			duplicate = append(duplicate, r.key(0, s))
			surplus += t.n - s.n
		case t.h != s.h:
			changed = append(changed, r.key(0, s))
			changedEnc = append(changedEnc, k)
		}
	}
	var diffs []ColumnDiff
	if len(changedEnc) > 0 && !r.noColumnPass {
		cols, err := r.changedColumns(ctx, changedEnc)
		if err != nil {
			return err
		}
		for i, k := range changedEnc {
			diffs = append(diffs, ColumnDiff{Key: changed[i], Columns: cols[k]})
		}
	}
	for k, t := range tgt {
		if _, ok := src[k]; !ok {
			extra = append(extra, r.key(1, t))
		}
	}
	r.found.Add(int64(len(missing) + len(extra) + len(changed) + len(duplicate)))
	r.reportMu.Lock()
	defer r.reportMu.Unlock()
	rep := r.report
	rep.MissingCount += len(missing)
	rep.ExtraCount += len(extra)
	rep.ChangedCount += len(changed)
	rep.DuplicateCount += len(duplicate)
	rep.DuplicateRows += surplus
	for _, l := range []struct {
		dst *[]sqldialect.Key
		src []sqldialect.Key
	}{{&rep.MissingInTarget, missing}, {&rep.ExtraInTarget, extra}, {&rep.Changed, changed}, {&rep.DuplicateInTarget, duplicate}} {
		for _, k := range l.src {
			if r.reportedCounts >= r.opts.MaxReported {
				rep.Truncated = true
				break
			}
			*l.dst = append(*l.dst, k)
			r.reportedCounts++
		}
	}
	// The column detail follows the changed keys that made the report.
	n := len(rep.Changed) - len(rep.ChangedColumns)
	rep.ChangedColumns = append(rep.ChangedColumns, diffs[:min(n, len(diffs))]...)
	return nil
}

// changedColumns names the columns that differ in the changed rows,
// through the plan's one per-column pass. It runs only when rows
// changed, so identical tables pay nothing.
func (r *Reconciler) changedColumns(ctx context.Context, keys []string) (map[string][]string, error) {
	r.queries.Add(int64(sqldialect.ColumnPassQueries(len(keys))))
	return r.plan.ChangedColumns(ctx, keys)
}

func (r *Reconciler) key(i int, f fetched) sqldialect.Key {
	k := sqldialect.Key{}
	for j, c := range r.keyCols[i] {
		name := r.plan.SourceCols[r.plan.Key[j]].Name
		if f.text[j].Valid {
			k[name] = sqldialect.KeyValue(c, f.text[j].String)
		} else {
			k[name] = nil
		}
	}
	return k
}

// sortKeys orders keys column by column, numbers numerically.
func sortKeys(keys []sqldialect.Key, cols []string) {
	slices.SortFunc(keys, func(a, b sqldialect.Key) int { return compareKeys(a, b, cols) })
}

func compareKeys(a, b sqldialect.Key, cols []string) int {
	for _, c := range cols {
		if d := compareValue(a[c], b[c]); d != 0 {
			return d
		}
	}
	return 0
}

func compareValue(a, b any) int {
	an, aok := a.(json.Number)
	bn, bok := b.(json.Number)
	if aok && bok {
		ai, err1 := strconv.ParseInt(string(an), 10, 64)
		bi, err2 := strconv.ParseInt(string(bn), 10, 64)
		if err1 == nil && err2 == nil {
			return cmp.Compare(ai, bi)
		}
	}
	return cmp.Compare(fmt.Sprint(a), fmt.Sprint(b))
}
