// Package drift checks on every scrape, cheaply, whether target rows
// still match source rows: a bounded random sample of keys from both
// sides (so target-only rows are found too), compared by row hash. A
// difference counts only when a recheck made after the wait internal/lag
// decides (the table's lag, the capture latency and a margin) finds both
// sides as they were and still different, so rows in flight, however
// busy, are never reported (judge). A confirmed row stays open, compared
// again at every check, until it no longer differs. Checks run at most
// every min_interval; scrapes in between serve the cached result.
package drift

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

// Table is one sampled table.
type Table struct {
	Name        string
	Sides       func() (src, tgt sqldialect.Side, err error)
	PlanOptions sqldialect.PlanOptions
	Drift       config.Drift
	// Wait is how long a row seen differing now is left before it is
	// compared again: internal/lag's RecheckWait (the table's lag, the
	// source's capture latency and the margin), decided there, not here.
	// Without one, no difference can be suspected: the check fails.
	Wait func(ctx context.Context) (time.Duration, error)
}

// Kinds of mismatch. Duplicate is a key the target holds more rows of
// than the source (a keyless target, an upsert that appended); reconcile
// reports the same kind.
const (
	Missing   = "missing"
	Extra     = "extra"
	Changed   = "changed"
	Duplicate = "duplicate"
)

// Kinds lists the mismatch kinds in metric order.
var Kinds = []string{Missing, Extra, Changed, Duplicate}

// Stats are one table's results, as the collector exports them.
type Stats struct {
	Checked    float64            // rows compared, cumulative
	Mismatched map[string]float64 // confirmed, by kind, cumulative
	LastCheck  time.Time
	// Ratio is confirmed mismatches over rows checked in the last
	// windowChecks checks.
	Ratio   float64
	Pending int // suspects waiting for their recheck
	// Differing counts the confirmed rows that still differed when last
	// compared, by kind: each check compares them again, and a row that
	// no longer differs (repaired, or landed late) leaves at once.
	Differing map[string]float64
	// InFlight counts the rechecks that found a differing row changed
	// since it was seen (replication still at work on it), cumulative.
	InFlight float64
	Err      error
}

const windowChecks = 10

// Mismatch is one confirmed mismatch as the sampler records it (a
// warning in the log, one per row): the row's key and, for a changed
// row, the names of the columns that differ, found by the same
// per-column pass as reconcile's changed_columns. Column values are
// never recorded: they may be sensitive.
type Mismatch struct {
	Table string
	Kind  string
	Key   sqldialect.Key
	// Columns are at most maxColumns names; MoreColumns counts the rest.
	Columns     []string
	MoreColumns int
	// TargetRows is how many rows a duplicate key has in the target.
	TargetRows int
}

// LogValue makes the record one group in the log: a nested object in
// the JSON format, mismatch.* keys in logfmt.
func (m Mismatch) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("table", m.Table), slog.String("kind", m.Kind), slog.Any("key", m.Key)}
	if m.Kind == Changed {
		attrs = append(attrs, slog.Any("columns", m.Columns))
		if m.MoreColumns > 0 {
			attrs = append(attrs, slog.Int("more_columns", m.MoreColumns))
		}
	}
	if m.Kind == Duplicate {
		attrs = append(attrs, slog.Int("target_rows", m.TargetRows))
	}
	return slog.GroupValue(attrs...)
}

// Bounds on what one check records, so a table that diverged wholesale
// cannot flood the log: maxRecorded rows per check (the rest are counted
// in one summary line), maxColumns column names per row.
const (
	maxRecorded = 20
	maxColumns  = 32
)

type window struct{ checked, confirmed float64 }

// state is one table's cached results; mu serialises its checks.
type state struct {
	t       Table
	logger  *slog.Logger
	mu      sync.Mutex
	plan    *sqldialect.Plan
	stats   Stats
	tr      *tracker
	windows []window
	// rnd draws the key values sampled; the table's own, used only
	// under mu, so tests can seed it and get the same draws every run.
	rnd *rand.Rand

	// published is the last finished check's stats, read by scrapes
	// without waiting for a check another scrape is running.
	pubMu     sync.Mutex
	published Stats
}

// publish copies the stats for readers; mu must be held.
func (st *state) publish() {
	c := st.stats
	c.Mismatched = maps.Clone(st.tr.confirmed)
	c.Pending = len(st.tr.suspects)
	c.Differing = st.tr.differing()
	c.InFlight = st.tr.inFlight
	st.pubMu.Lock()
	st.published = c
	st.pubMu.Unlock()
}

// Sampler samples a set of tables.
type Sampler struct {
	tables []*state
	now    func() time.Time
}

// NewSampler returns a sampler; tables with drift disabled are skipped.
// Confirmed mismatches are recorded through logger (nil: not recorded).
func NewSampler(tables []Table, logger *slog.Logger) *Sampler {
	s := &Sampler{now: time.Now}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	for _, t := range tables {
		if !t.Drift.Enabled() {
			continue
		}
		// As many suspects as one sample brings, and as many open rows.
		s.tables = append(s.tables, &state{t: t, logger: logger, tr: newTracker(2 * t.Drift.SampleSize),
			rnd: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))})
	}
	return s
}

// Check brings every table up to date within ctx (the caller bounds it
// by the scrape deadline and the drift budget) and returns each table's
// stats. A table whose check fails or overruns keeps its cached results,
// with Err set.
func (s *Sampler) Check(ctx context.Context) map[string]Stats {
	var wg sync.WaitGroup
	for _, st := range s.tables {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st.check(ctx, s.now)
		}()
	}
	wg.Wait()
	out := map[string]Stats{}
	for _, st := range s.tables {
		st.pubMu.Lock()
		c := st.published
		c.Mismatched = maps.Clone(st.published.Mismatched)
		c.Differing = maps.Clone(st.published.Differing)
		out[st.t.Name] = c
		st.pubMu.Unlock()
	}
	return out
}

func (st *state) check(ctx context.Context, now func() time.Time) {
	// A check still running from an earlier scrape owns the table.
	if !st.mu.TryLock() {
		return
	}
	defer st.mu.Unlock()
	defer st.publish()
	if b := st.t.Drift.Budget; b > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b)
		defer cancel()
	}
	if err := st.checkLocked(ctx, now); err != nil {
		st.stats.Err = err
		return
	}
	st.stats.Err = nil
}

func (st *state) checkLocked(ctx context.Context, now func() time.Time) error {
	fresh := !st.stats.LastCheck.IsZero() && now().Sub(st.stats.LastCheck) < st.t.Drift.MinInterval
	dueKeys := st.tr.due(now())
	if fresh && len(dueKeys) == 0 {
		return nil
	}
	src, tgt, err := st.t.Sides()
	if err != nil {
		return err
	}
	// A plan that left columns out for the schema's sake is made again
	// at every check, so a column the sink adds later is compared from
	// the next check on.
	if st.plan == nil || len(st.plan.SchemaDrift) > 0 {
		p, err := sqldialect.NewPlan(ctx, src, tgt, st.t.PlanOptions)
		if err != nil {
			return fmt.Errorf("table %s: %w", st.t.Name, err)
		}
		// The rest of the table is sampled; what is left out is said
		// when it changes, and the schema mismatch counted by the
		// schema check.
		if st.plan == nil || !slices.Equal(excludedNames(st.plan.SchemaDrift), excludedNames(p.SchemaDrift)) {
			for _, e := range p.SchemaDrift {
				st.logger.Warn("drift: column left out of the comparison, the schema differs", "table", st.t.Name, "column", e.Column, "reason", e.Reason)
			}
		}
		if st.plan == nil {
			for _, e := range p.NotComparable {
				st.logger.Info("drift: column left out of the comparison", "table", st.t.Name, "column", e.Column, "reason", e.Reason)
			}
		}
		st.plan = p
	}
	// Pools may have been swapped (Vault): use the current ones.
	plan := *st.plan
	plan.Source.DB, plan.Target.DB = src.DB, tgt.DB
	// The wait is read once per check, and only when a row needs it.
	var (
		waited  bool
		w       time.Duration
		waitErr error
	)
	wait := func() (time.Duration, error) {
		if !waited {
			waited = true
			if st.t.Wait == nil {
				waitErr = fmt.Errorf("table %s: no recheck wait", st.t.Name)
				return 0, waitErr
			}
			if w, waitErr = st.t.Wait(ctx); waitErr != nil {
				waitErr = fmt.Errorf("table %s: recheck wait: %w", st.t.Name, waitErr)
			}
		}
		return w, waitErr
	}
	if len(dueKeys) > 0 {
		if err := st.recheck(ctx, &plan, now, wait, dueKeys); err != nil {
			return err
		}
	}
	if !fresh {
		if err := st.sample(ctx, &plan, now, wait); err != nil {
			return err
		}
	}
	return nil
}

// sample compares the open rows again, then draws keys from both sides
// and compares their rows.
func (st *state) sample(ctx context.Context, plan *sqldialect.Plan, now func() time.Time, wait waitFunc) error {
	if open := st.tr.openKeys(); len(open) > 0 {
		got, err := compare(ctx, plan, open)
		if err != nil {
			return fmt.Errorf("table %s: open rows: %w", st.t.Name, err)
		}
		if err := st.tr.reconfirm(now(), wait, got); err != nil {
			return err
		}
	}
	n := st.t.Drift.SampleSize
	var all map[string]sqldialect.Key // at least the differing keys
	var found map[string]sighting
	var checked int
	var err error
	if byLeadingKey(plan, n) {
		// sample_size is what each side contributes: 2n keys in all,
		// as many as two page samples of n bring.
		checked, found, all, err = sampleByLeadingKey(ctx, plan, 2*n, st.rnd)
		if err != nil {
			return fmt.Errorf("table %s: sampling: %w", st.t.Name, err)
		}
	} else {
		var keys [2]map[string]sqldialect.Key
		g, gctx := errgroup.WithContext(ctx)
		for i := 0; i < 2; i++ {
			g.Go(func() (err error) {
				keys[i], err = sampleKeys(gctx, plan, i, n)
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return fmt.Errorf("table %s: sampling: %w", st.t.Name, err)
		}
		all = maps.Clone(keys[0])
		for k, v := range keys[1] {
			if _, ok := all[k]; !ok {
				all[k] = v
			}
		}
		got, err := compare(ctx, plan, all)
		if err != nil {
			return fmt.Errorf("table %s: %w", st.t.Name, err)
		}
		found = onlyDiffering(got)
		checked = len(all)
	}
	if err := st.tr.suspect(now(), wait, found, all); err != nil {
		return err
	}
	st.stats.Checked += float64(checked)
	st.stats.LastCheck = now()
	st.windows = append(st.windows, window{checked: float64(checked)})
	if len(st.windows) > windowChecks {
		st.windows = st.windows[1:]
	}
	st.ratio()
	return nil
}

// recheck compares the suspects whose time has come again; those the
// tracker confirms are counted and recorded.
func (st *state) recheck(ctx context.Context, plan *sqldialect.Plan, now func() time.Time, wait waitFunc, dueKeys map[string]sqldialect.Key) error {
	got, err := compare(ctx, plan, dueKeys)
	if err != nil {
		return fmt.Errorf("table %s: recheck: %w", st.t.Name, err)
	}
	// A wait that cannot be read leaves the rows still in flight where
	// they are; those confirmed before it are recorded all the same.
	found, waitErr := st.tr.recheck(now(), wait, dueKeys, got)
	if len(found) > 0 && len(st.windows) > 0 {
		st.windows[len(st.windows)-1].confirmed += float64(len(found))
	}
	st.ratio()
	// Recorded in a stable order: by kind (Kinds), then encoded key.
	recorded := slices.SortedFunc(maps.Keys(found), func(a, b string) int {
		if c := cmp.Compare(slices.Index(Kinds, found[a]), slices.Index(Kinds, found[b])); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	recorded = recorded[:min(len(recorded), maxRecorded)]
	var changed []string
	for _, enc := range recorded {
		if found[enc] == Changed {
			changed = append(changed, enc)
		}
	}
	var cols map[string][]string
	if len(changed) > 0 {
		if cols, err = plan.ChangedColumns(ctx, changed); err != nil {
			return fmt.Errorf("table %s: recheck: changed columns: %w", st.t.Name, err)
		}
	}
	for _, enc := range recorded {
		m := Mismatch{Table: st.t.Name, Kind: found[enc], Key: dueKeys[enc], TargetRows: got[enc].tgt.n}
		if c := cols[enc]; len(c) > maxColumns {
			m.Columns, m.MoreColumns = c[:maxColumns], len(c)-maxColumns
		} else {
			m.Columns = c
		}
		st.logger.Warn("drift mismatch confirmed", "mismatch", m)
	}
	if n := len(found) - len(recorded); n > 0 {
		st.logger.Warn("drift mismatches confirmed but not recorded one by one", "table", st.t.Name, "count", n)
	}
	return waitErr
}

func (st *state) ratio() {
	var c, m float64
	for _, w := range st.windows {
		c += w.checked
		m += w.confirmed
	}
	if c > 0 {
		st.stats.Ratio = m / c
	}
}

func keyCols(plan *sqldialect.Plan, i int) []sqldialect.Column {
	_, cols := plan.Side(i)
	return plan.KeyCols(cols)
}

// sampleKeys returns up to n random keys of one side, by encoded key.
func sampleKeys(ctx context.Context, plan *sqldialect.Plan, i, n int) (map[string]sqldialect.Key, error) {
	side, _ := plan.Side(i)
	rows, err := side.DB.QueryContext(ctx, sampleQuery(plan, i, n))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", side.Table, err)
	}
	return scanKeys(rows, plan, keyCols(plan, i), false)
}

// keySelect is what every read of keys selects: the key's canonical
// encoding (kenc), then each key column's text form (k0, k1, ...).
func keySelect(d sqldialect.Dialect, kc []sqldialect.Column) []string {
	out := []string{d.Encode(kc) + " AS kenc"}
	for j, c := range kc {
		out = append(out, fmt.Sprintf("%s AS k%d", d.Text(c), j))
	}
	return out
}

// sampleQuery draws n random keys of side i: a page sample on large
// tables, never a scan of the whole table.
func sampleQuery(plan *sqldialect.Plan, i, n int) string {
	side, _ := plan.Side(i)
	return side.Dialect.Sample(side.Table, plan.EstRows, n, keySelect(side.Dialect, keyCols(plan, i)), side.Where(""))
}

// lookupQuery fetches, hashed, the rows of side i whose encoded keys are
// encs, through the key's index (sqldialect.Lookup).
func lookupQuery(plan *sqldialect.Plan, i int, encs []string) (string, error) {
	side, cols := plan.Side(i)
	kc := keyCols(plan, i)
	cond, err := sqldialect.Lookup(side.Dialect, kc, encs)
	if err != nil {
		return "", fmt.Errorf("%s: %w", side.Table, err)
	}
	return side.Dialect.Hashed(side.Table, cols, keySelect(side.Dialect, kc), side.Where(cond)), nil
}

// keyed is one fetched key: its key columns' text forms and its rows
// (more than one in a keyless target holding duplicates). The key is
// built only for rows that are reported (key): most sampled rows are
// equal, and a map per row was most of the sampler's own CPU.
type keyed struct {
	texts []sql.NullString
	r     rows
}

func (k keyed) key(plan *sqldialect.Plan, kc []sqldialect.Column) sqldialect.Key {
	out := sqldialect.Key{}
	names := plan.KeyNames()
	for j, c := range kc {
		if k.texts[j].Valid {
			out[names[j]] = sqldialect.KeyValue(c, k.texts[j].String)
		}
	}
	return out
}

func scanKeys(rows *sql.Rows, plan *sqldialect.Plan, kc []sqldialect.Column, withHash bool) (map[string]sqldialect.Key, error) {
	m, err := scanKeyed(rows, len(kc), withHash, 0)
	out := make(map[string]sqldialect.Key, len(m))
	for k, v := range m {
		out[k] = v.key(plan, kc)
	}
	return out, err
}

// scanKeyed reads rows of (kenc, key texts..., [a, b]) by encoded key,
// counting the rows each key has; hint sizes the map.
func scanKeyed(rows *sql.Rows, nk int, withHash bool, hint int) (map[string]keyed, error) {
	defer rows.Close()
	out := make(map[string]keyed, hint)
	var enc string
	var h rowhash.Hash
	texts := make([]sql.NullString, nk)
	dest := []any{&enc}
	for j := range texts {
		dest = append(dest, &texts[j])
	}
	if withHash {
		dest = append(dest, &h.A, &h.B)
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		k, ok := out[enc]
		if !ok {
			k.texts = slices.Clone(texts)
		}
		k.r.add(h)
		out[enc] = k
	}
	return out, rows.Err()
}

// smallTable is the row estimate below which a sample takes a random
// top-n of all rows (every row, when sample_size exceeds the table).
const smallTable = 50000

// byLeadingKey tells whether a table is sampled by drawing random values
// of its integer leading key column rather than by sampling pages.
func byLeadingKey(plan *sqldialect.Plan, n int) bool {
	return plan.SourceCols[plan.Key[0]].Kind == rowhash.KindInt && plan.EstRows >= max(smallTable, int64(8*n))
}

// lookupRounds bounds the draws made to top a sample up when the key
// range has more gaps than the row estimate suggests.
const lookupRounds = 3

// drawNew draws want values of [lo, lo+span] not drawn yet, and adds
// them to drawn.
func drawNew(rnd *rand.Rand, lo int64, span uint64, drawn map[int64]struct{}, want int) []int64 {
	vals := make([]int64, 0, want)
	for len(vals) < want {
		off := rnd.Uint64()
		if span != math.MaxUint64 {
			off = rnd.Uint64N(span + 1)
		}
		v := lo + int64(off)
		if _, dup := drawn[v]; !dup {
			drawn[v] = struct{}{}
			vals = append(vals, v)
		}
	}
	return vals
}

// fetchBothByLeadingKey fetches the rows with one of vals as leading key
// from both sides at once, at most limit from each.
func fetchBothByLeadingKey(ctx context.Context, plan *sqldialect.Plan, vals []int64, limit int) ([2]map[string]keyed, error) {
	g, gctx := errgroup.WithContext(ctx)
	var fetched [2]map[string]keyed
	for i := range fetched {
		g.Go(func() (err error) {
			fetched[i], err = fetchByLeadingKey(gctx, plan, i, vals, limit)
			return err
		})
	}
	return fetched, g.Wait()
}

// sampleByLeadingKey draws random values between the smallest and the
// largest leading key of either side and fetches, from both sides at
// once, every row with one of those values, hashed: one indexed query
// per side, prepared once, instead of a page sample followed by a lookup
// of the other side's keys. Rows only in the target are drawn as often as
// rows only in the source. Gaps in the key range make some draws miss; the
// sample is topped up (at most lookupRounds rounds) with as many new
// values as the hit rate so far says are needed.
//
// It returns the number of keys compared and the differing ones, by
// encoded key, as seen and with their key.
func sampleByLeadingKey(ctx context.Context, plan *sqldialect.Plan, n int, rnd *rand.Rand) (int, map[string]sighting, map[string]sqldialect.Key, error) {
	lo, hi, ok, err := plan.KeyRange(ctx)
	if err != nil || !ok {
		return 0, nil, nil, err
	}
	span := uint64(hi - lo) // values in [lo, hi] minus one
	// Expected rows per value: above 1 for a compound key's leading
	// column (many rows per value), below 1 with gaps.
	perValue := float64(max(plan.EstRows, 1)) / (float64(span) + 1)
	drawn := map[int64]struct{}{}
	var got [2]map[string]keyed
	for i := range got {
		got[i] = map[string]keyed{}
	}
	hits := 0
	for round := 0; round < lookupRounds && hits < n; round++ {
		if round > 0 {
			perValue = max(float64(hits)/float64(len(drawn)), 1/float64(4*n))
		}
		want := int(math.Ceil(float64(n-hits) / perValue))
		want = min(want, 4*n)
		// Values not drawn yet: span+1 overflows only for the whole
		// int64 range, which never runs out.
		if left := span - uint64(len(drawn)) + 1; span != math.MaxUint64 && uint64(want) > left {
			want = int(left)
		}
		if want <= 0 {
			break
		}
		vals := drawNew(rnd, lo, span, drawn, want)
		fetched, err := fetchBothByLeadingKey(ctx, plan, vals, min(int(float64(len(vals))*perValue), n))
		if err != nil {
			return 0, nil, nil, err
		}
		for i := range got {
			if len(got[i]) == 0 {
				got[i] = fetched[i]
			} else {
				maps.Copy(got[i], fetched[i])
			}
		}
		hits = len(got[0])
		for enc := range got[1] {
			if _, ok := got[0][enc]; !ok {
				hits++
			}
		}
	}
	found := differing(got[0], got)
	maps.Copy(found, differing(got[1], got))
	keys := make(map[string]sqldialect.Key, len(found))
	for enc := range found {
		if k, ok := got[0][enc]; ok {
			keys[enc] = k.key(plan, keyCols(plan, 0))
		} else {
			keys[enc] = got[1][enc].key(plan, keyCols(plan, 1))
		}
	}
	return hits, found, keys, nil
}

// fetchByLeadingKey returns side i's rows whose leading key is one of
// vals, hashed, by encoded key.
func fetchByLeadingKey(ctx context.Context, plan *sqldialect.Plan, i int, vals []int64, hint int) (map[string]keyed, error) {
	side, cols := plan.Side(i)
	kc := keyCols(plan, i)
	d := side.Dialect
	cond, arg := d.IntIn(kc[0].Name, vals)
	rows, err := side.DB.QueryContext(ctx, d.Hashed(side.Table, cols, keySelect(d, kc), side.Where(cond)), arg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", side.Table, err)
	}
	return scanKeyed(rows, len(kc), true, hint)
}

// compare fetches the rows of keys from both sides and returns how each
// key was seen, by encoded key.
func compare(ctx context.Context, plan *sqldialect.Plan, keys map[string]sqldialect.Key) (map[string]sighting, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	// Keys are looked up by their canonical encoding, the same on both
	// sides, never by one side's text form of them.
	encs := slices.Sorted(maps.Keys(keys))
	var got [2]map[string]keyed
	g, gctx := errgroup.WithContext(ctx)
	for i := 0; i < 2; i++ {
		g.Go(func() error {
			side, _ := plan.Side(i)
			q, err := lookupQuery(plan, i, encs)
			if err != nil {
				return err
			}
			rows, err := side.DB.QueryContext(gctx, q)
			if err != nil {
				return fmt.Errorf("%s: %w", side.Table, err)
			}
			got[i], err = scanKeyed(rows, len(plan.Key), true, len(keys))
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return sightings(keys, got), nil
}

// sightings is how each of keys was seen, from the rows found of it at
// the source (got[0]) and at the target (got[1]).
func sightings[V any](keys map[string]V, got [2]map[string]keyed) map[string]sighting {
	out := make(map[string]sighting, len(keys))
	for enc := range keys {
		out[enc] = sighting{src: got[0][enc].r, tgt: got[1][enc].r}
	}
	return out
}

// onlyDiffering keeps the sightings of keys whose rows differ.
func onlyDiffering(seen map[string]sighting) map[string]sighting {
	out := map[string]sighting{}
	for enc, s := range seen {
		if s.kind() != "" {
			out[enc] = s
		}
	}
	return out
}

// differing is sightings of only the keys whose rows differ: most
// sampled keys are equal and need no entry.
func differing[V any](keys map[string]V, got [2]map[string]keyed) map[string]sighting {
	out := map[string]sighting{}
	for enc := range keys {
		if s := (sighting{src: got[0][enc].r, tgt: got[1][enc].r}); s.kind() != "" {
			out[enc] = s
		}
	}
	return out
}

func excludedNames(es []sqldialect.Excluded) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Column
	}
	return out
}
