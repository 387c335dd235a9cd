package schemadrift

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

// Table is one configured table as a schema check reads it.
type Table struct {
	Name string
	// Source and Target are the databases and the tables' names there.
	Source, Target           *database.DB
	SourceTable, TargetTable string
	Scope                    Scope
	// Stream reads what the table's changes look like on their way:
	// the topic's value schema and the fields transforms add; nil when
	// nothing is known of it (no Connect, no Kafka).
	Stream func(ctx context.Context) (Stream, error)
}

// Stream is what a check learns of a table's topic.
type Stream struct {
	// Topic is the topic the source connector writes the table to.
	Topic string
	// Fields are the row's fields in the topic's value schema, when
	// HasSchema: false when the topic has no readable schema (no records
	// yet, or records without an inline schema and no Schema Registry).
	Fields    []string
	HasSchema bool
	// SinkMetadata are fields the connectors' transforms add (an unwrap
	// transform's add.fields with its prefix).
	SinkMetadata []string
}

// Result is a table's last schema check.
type Result struct {
	// Mismatches are from the last check that read the source and the
	// target; empty when they agree.
	Mismatches []Mismatch
	// CheckedAt is when that check ran; zero before the first one.
	CheckedAt time.Time
	// Captured and Topic say which optional layers the check compared.
	Captured, Topic bool
	// CaptureInstance is the SQL Server capture instance compared, and
	// CapturedColumns its columns.
	CaptureInstance string
	CapturedColumns []string
	// TopicName is the table's topic, when known.
	TopicName string
	// Err is the last attempt's failure (also when an optional layer
	// could not be read and its kinds kept the previous check's
	// results); nil after a clean check.
	Err error
}

// Counts are the result's mismatches per kind, every kind present.
func (r Result) Counts() map[string]int { return Counts(r.Mismatches) }

// Columns names the columns of one kind.
func (r Result) Columns(kind string) []string {
	var out []string
	for _, m := range r.Mismatches {
		if m.Kind == kind {
			out = append(out, m.Column)
		}
	}
	return out
}

// Options tune a Checker.
type Options struct {
	// Interval is the least time between two checks of one table;
	// scrapes in between serve the cached result.
	Interval time.Duration
	// Parallel bounds how many tables are read at once (default 8).
	Parallel int
	Logger   *slog.Logger
	Now      func() time.Time
}

// Checker compares tables' schemas on demand, each at most once per
// interval, and keeps the last result of each.
type Checker struct {
	tables []Table
	opts   Options

	mu      sync.Mutex
	results map[string]Result
	// attempted is when a table's last check started; running marks
	// one in progress, so overlapping scrapes do not read twice.
	attempted map[string]time.Time
	running   map[string]bool
}

// NewChecker returns a Checker of tables.
func NewChecker(tables []Table, o Options) *Checker {
	if o.Parallel <= 0 {
		o.Parallel = 8
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Checker{tables: tables, opts: o, results: map[string]Result{}, attempted: map[string]time.Time{}, running: map[string]bool{}}
}

// retryFailedAfter is how soon a check that failed is tried again, when
// the interval is longer: a database back from a restart is seen within
// a minute.
const retryFailedAfter = 30 * time.Second

// due picks the tables to check now and marks them running.
func (c *Checker) due() []Table {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.opts.Now()
	var out []Table
	for _, t := range c.tables {
		last, seen := c.attempted[t.Name]
		wait := c.opts.Interval
		if r := c.results[t.Name]; r.Err != nil {
			wait = min(wait, retryFailedAfter)
		}
		if c.running[t.Name] || seen && now.Sub(last) < wait {
			continue
		}
		c.running[t.Name] = true
		c.attempted[t.Name] = now
		out = append(out, t)
	}
	return out
}

// Check checks the tables that are due, within ctx, and returns every
// table's last result (tables never checked successfully are absent
// unless their check failed). A table's failure is its own: the others
// are checked and reported.
func (c *Checker) Check(ctx context.Context) map[string]Result {
	due := c.due()
	cols := prefetch(ctx, due)
	sem := make(chan struct{}, c.opts.Parallel)
	var wg sync.WaitGroup
	for _, t := range due {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				c.finish(t, Result{}, ctx.Err(), true)
				return
			}
			r, err := c.checkTable(ctx, t, cols)
			c.finish(t, r, err, ctx.Err() != nil && err != nil)
		}()
	}
	wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]Result, len(c.results))
	for n, r := range c.results {
		out[n] = r
	}
	return out
}

// finish records a check. A check cut short by the scrape's deadline
// is tried again at the next scrape; a failed one keeps the previous
// result with the error.
func (c *Checker) finish(t Table, r Result, err error, cutShort bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.running, t.Name)
	prev, had := c.results[t.Name]
	switch {
	case cutShort:
		delete(c.attempted, t.Name)
		return
	case err != nil:
		prev.Err = err
		c.results[t.Name] = prev
		c.opts.Logger.Warn("schema check failed", "table", t.Name, "err", err)
		return
	}
	if r.Err != nil && had {
		// An optional layer could not be read: its kinds keep what the
		// previous check found.
		r.Mismatches = carryKinds(r, prev)
	}
	c.results[t.Name] = r
	if !had || !slices.Equal(kindColumns(prev.Mismatches), kindColumns(r.Mismatches)) {
		c.log(t.Name, r)
	}
}

func carryKinds(r, prev Result) []Mismatch {
	out := r.Mismatches
	if !r.Captured && prev.Captured {
		out = append(out, ofKind(prev.Mismatches, NotCaptured)...)
	}
	if !r.Topic && prev.Topic {
		out = append(out, ofKind(prev.Mismatches, NotInTopic)...)
	}
	return out
}

func ofKind(ms []Mismatch, kind string) []Mismatch {
	var out []Mismatch
	for _, m := range ms {
		if m.Kind == kind {
			out = append(out, m)
		}
	}
	return out
}

func kindColumns(ms []Mismatch) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Kind + ":" + m.Column
	}
	return out
}

// log names the columns that differ (the metric only counts them), once
// per change of the table's mismatches.
func (c *Checker) log(table string, r Result) {
	if len(r.Mismatches) == 0 {
		c.opts.Logger.Info("schema check: layers agree", "table", table)
		return
	}
	attrs := []any{"table", table}
	for _, k := range Kinds {
		if cols := r.Columns(k); len(cols) > 0 {
			attrs = append(attrs, k, strings.Join(cols, ","))
		}
	}
	c.opts.Logger.Warn("schema check: columns differ between layers", attrs...)
}

// checkTable reads every layer of t and compares them. The source and
// the target must be read; the capture instance and the topic are
// compared when they can be read, and their errors are returned in
// Result.Err.
func (c *Checker) checkTable(ctx context.Context, t Table, prefetched map[*database.DB]catalogRead) (Result, error) {
	type read struct {
		cols []Column
		err  error
	}
	side := func(db *database.DB, table string) read {
		cr := prefetched[db]
		if cols, ok := cr.cols[table]; ok {
			return read{cols: cols}
		}
		if cr.err != nil {
			return read{err: cr.err}
		}
		return read{err: notFound(table)}
	}
	var src, tgt read
	var captured []string
	var instance string
	var haveCaptured bool
	var capErr error
	var stream Stream
	var topicErr error
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); tgt = side(t.Target, t.TargetTable) }()
	go func() {
		defer wg.Done()
		if t.Stream != nil {
			stream, topicErr = t.Stream(ctx)
		}
	}()
	go func() {
		defer wg.Done()
		if t.Source.Driver() != (sqldialect.SQLServer{}).Name() {
			return
		}
		pool, err := t.Source.Pool()
		if err != nil {
			capErr = err
			return
		}
		qctx, cancel := t.Source.QueryContext(ctx)
		defer cancel()
		instance, captured, haveCaptured, capErr = sqldialect.ReadCaptured(qctx, pool, t.SourceTable)
	}()
	src = side(t.Source, t.SourceTable)
	wg.Wait()
	if src.err != nil {
		return Result{}, fmt.Errorf("source: %w", src.err)
	}
	if tgt.err != nil {
		return Result{}, fmt.Errorf("target: %w", tgt.err)
	}
	l := Layers{Source: src.cols, Target: tgt.cols}
	if haveCaptured {
		l.Captured, l.CaptureInstance = captured, instance
	}
	if stream.HasSchema && topicErr == nil {
		l.Topic = stream.Fields
	}
	scope := t.Scope
	scope.SinkMetadata = append(slices.Clone(scope.SinkMetadata), stream.SinkMetadata...)
	r := Result{
		Mismatches: Compare(l, scope), CheckedAt: c.opts.Now(),
		Captured: l.Captured != nil, Topic: l.Topic != nil, CaptureInstance: instance, CapturedColumns: l.Captured, TopicName: stream.Topic,
	}
	if capErr != nil {
		capErr = fmt.Errorf("capture instance: %w", capErr)
	}
	if topicErr != nil {
		topicErr = fmt.Errorf("topic schema: %w", topicErr)
	}
	r.Err = errors.Join(capErr, topicErr)
	return r, nil
}

// catalogRead is what one database's catalog gave for the tables due.
type catalogRead struct {
	cols map[string][]Column
	err  error
}

// prefetch reads the columns of every due table's source and target,
// one catalog query per database (internal/sqldialect), the databases
// at once: 200 tables cost two queries, not four hundred. A database
// that fails fails only its own tables.
func prefetch(ctx context.Context, due []Table) map[*database.DB]catalogRead {
	want := map[*database.DB][]string{}
	for _, t := range due {
		want[t.Source] = append(want[t.Source], t.SourceTable)
		want[t.Target] = append(want[t.Target], t.TargetTable)
	}
	out := make(map[*database.DB]catalogRead, len(want))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for db, tables := range want {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cols, err := readColumnsOf(ctx, db, tables)
			mu.Lock()
			out[db] = catalogRead{cols, err}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// readColumnsOf reads several tables' catalog columns through db's pool,
// bounded by its query timeout.
func readColumnsOf(ctx context.Context, db *database.DB, tables []string) (map[string][]Column, error) {
	pool, err := db.Pool()
	if err != nil {
		return nil, err
	}
	d, err := sqldialect.For(db.Driver())
	if err != nil {
		return nil, err
	}
	qctx, cancel := db.QueryContext(ctx)
	defer cancel()
	cat, err := sqldialect.ReadCatalogColumnsOf(qctx, pool, d, slices.Compact(slices.Sorted(slices.Values(tables))))
	out := make(map[string][]Column, len(cat))
	for t, cs := range cat {
		cols := make([]Column, len(cs))
		for i, c := range cs {
			cols[i] = Column(c)
		}
		out[t] = cols
	}
	return out, err
}
