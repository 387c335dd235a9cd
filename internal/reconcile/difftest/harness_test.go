package difftest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/reconcile"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// defaultCases keeps `make test` to well under a minute for this
// package; the nightly run raises CDC_HARNESS_CASES.
const defaultCases = 12

// seeds are the cases to run: CDC_HARNESS_SEED replays one; otherwise
// CDC_HARNESS_CASES seeds from CDC_HARNESS_SEED_BASE on.
func seeds(t *testing.T) []uint64 {
	t.Helper()
	num := func(name string, def uint64) uint64 {
		v := os.Getenv(name)
		if v == "" {
			return def
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want a non-negative integer", name, v)
		}
		return n
	}
	if v := os.Getenv("CDC_HARNESS_SEED"); v != "" {
		return []uint64{num("CDC_HARNESS_SEED", 0)}
	}
	base, n := num("CDC_HARNESS_SEED_BASE", 1900), num("CDC_HARNESS_CASES", defaultCases)
	out := make([]uint64, n)
	for i := range out {
		out[i] = base + uint64(i)
	}
	return out
}

// eachSeed runs body once per seed, as a subtest, with the case's own
// random source and a context bounding it. A failing case prints what
// describe (when body sets it) says about it and the command that
// replays it.
func eachSeed(t *testing.T, body func(t *testing.T, ctx context.Context, seed uint64, r *rand.Rand, describe *func() string)) {
	test := t.Name()
	for _, seed := range seeds(t) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			describe := func() string { return "" }
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("%s\nreplay: CDC_INTEGRATION=1 CDC_HARNESS_SEED=%d go test ./internal/reconcile/difftest/ -run '^%s$' -v", describe(), seed, test)
				}
			})
			body(t, ctx, seed, rand.New(rand.NewPCG(seed, 0x19)), &describe)
		})
	}
}

// forEachCase runs body once per seed, on a fresh random table pair in
// the pipeline's source and target databases.
func forEachCase(t *testing.T, body func(t *testing.T, w *world)) {
	forEachShapedCase(t, nil, body)
}

// forEachShapedCase is forEachCase with the drawn table reshaped by
// shape (when not nil) before both sides are created.
func forEachShapedCase(t *testing.T, shape func(tb *table, r *rand.Rand), body func(t *testing.T, w *world)) {
	p := testenv.Need(t)
	src, tgt := p.SourceDB(t), p.TargetDB(t)
	eachSeed(t, func(t *testing.T, ctx context.Context, seed uint64, r *rand.Rand, describe *func() string) {
		w := &world{t: t, ctx: ctx, r: r, tb: newTable(r, seed), src: src, tgt: tgt}
		if shape != nil {
			shape(w.tb, r)
		}
		// Names differ per run, so that runs at once do not meet; the
		// draws do not depend on them.
		suffix := fmt.Sprintf("_%d", time.Now().UnixNano()%1_000_000)
		w.tb.Name += suffix
		w.tb.TgtName += strings.ToLower(suffix)
		*describe = func() string { return "case " + w.tb.describe() }
		w.create()
		body(t, w)
		if len(w.known) > 0 && !t.Failed() {
			t.Skipf("only known, unfixed defects failed (see defects.md):\n%s", strings.Join(w.known, "\n"))
		}
	})
}

func (tb *table) describe() string {
	var cols []string
	for _, c := range tb.Cols {
		s := c.Name + " " + c.Src
		if c.Tgt != c.Src || c.TgtName != c.Name {
			s += " → " + c.TgtName + " " + c.Tgt
		}
		if c.Key {
			s += " key"
		}
		if c.PadChar {
			s += " padded"
		}
		if c.TruncMillis {
			s += " truncated to ms"
		}
		if c.Absent {
			s += " missing in target"
		}
		if c.Lossy != "" {
			s += " lossy"
		}
		if c.NoRule {
			s += " not comparable"
		}
		cols = append(cols, s)
	}
	for _, c := range tb.TgtOnly {
		cols = append(cols, c.TgtName+" "+c.Tgt+" target only")
	}
	var sink []string
	for _, b := range []struct {
		on   bool
		what string
	}{{tb.CaseFold, "case-folded"}, {tb.Keyless, "keyless target"}, {tb.SoftDelete, "soft deletes"}, {tb.Filter, "filtered"}, {tb.Connect, "connect mode"}, {tb.Millis3, "timestamp(3) target"}} {
		if b.on {
			sink = append(sink, b.what)
		}
	}
	return fmt.Sprintf("%s (%s); sink: %s", tb.Name, strings.Join(cols, ", "), strings.Join(sink, ", "))
}

// sides are the table's two sides as a user would configure them: its
// filter on both, the sink's soft-delete column.
func (w *world) sides() (src, tgt sqldialect.Side) {
	tb := w.tb
	src = sqldialect.Side{DB: w.src, Dialect: sqldialect.Postgres{}, Table: tb.Name}
	tgt = sqldialect.Side{DB: w.tgt, Dialect: sqldialect.Postgres{}, Table: tb.TgtName}
	for _, c := range tb.Cols {
		if c.Region {
			src.Filter, tgt.Filter = qi(c.Name)+" = 'eu'", qi(c.TgtName)+" = 'eu'"
		}
	}
	if tb.SoftDelete {
		tgt.DeletedColumn = "__deleted"
	}
	return src, tgt
}

// planOptions are the table's: jsonb ignored, the source connector's
// time precision mode.
func (tb *table) planOptions() sqldialect.PlanOptions {
	var o sqldialect.PlanOptions
	if tb.Connect {
		o.Path = func(context.Context) (sqldialect.Path, error) {
			return sqldialect.Path{Mode: sqldialect.ModeConnect}, nil
		}
	}
	for _, c := range tb.Cols {
		if c.Kind == kJSONB {
			o.Ignore = append(o.Ignore, c.Name)
		}
	}
	if tb.Stamp != "" {
		o.Ignore = append(o.Ignore, tb.Stamp)
	}
	return o
}

// plan plans the comparison as a user would configure the table.
func (w *world) plan() *sqldialect.Plan {
	w.t.Helper()
	src, tgt := w.sides()
	o := w.tb.planOptions()
	if len(o.Ignore) > 0 && o.Ignore[0] != w.tb.Stamp {
		// jsonb is not a supported type: unignored, the plan must fail
		// naming the column.
		ignored := o.Ignore
		o.Ignore = slices.DeleteFunc(slices.Clone(ignored), func(n string) bool { return n != w.tb.Stamp })
		_, err := sqldialect.NewPlan(w.ctx, src, tgt, o)
		if err == nil || !strings.Contains(err.Error(), ignored[0]) {
			w.t.Errorf("planning with jsonb column %s: error %v, want one naming the column", ignored[0], err)
		}
		o.Ignore = ignored
	}
	plan, err := sqldialect.NewPlan(w.ctx, src, tgt, o)
	if err != nil {
		w.t.Fatalf("plan: %v", err)
	}
	return plan
}

// reconcile runs a reconcile with randomly drawn options (small leaves
// and parallel scans reach the drill-down and the split scans).
func (w *world) reconcile(plan *sqldialect.Plan) *reconcile.Report {
	w.t.Helper()
	opts := reconcile.Options{
		LeafRows:     []int{0, 4, 16}[w.r.IntN(3)],
		Parallel:     1 + w.r.IntN(3),
		ScanParallel: []int{0, 1, 3}[w.r.IntN(3)],
	}
	rep, err := reconcile.New("harness", plan, opts).Run(w.ctx)
	if err != nil {
		w.t.Fatalf("reconcile %+v: %v", opts, err)
	}
	return rep
}

// reportKeys turns the report's keys into the oracle's.
func (tb *table) reportKeys(keys []sqldialect.Key) []string {
	out := []string{}
	for _, k := range keys {
		var parts []string
		for _, c := range tb.keyCols() {
			parts = append(parts, canonKey(c, fmt.Sprint(k[c.Name])))
		}
		out = append(out, strings.Join(parts, keySep))
	}
	slices.Sort(out)
	return out
}

// reportedDuplicates are the keys the report lists as duplicates, from
// its JSON (the field that lists them, whatever its name).
func (tb *table) reportedDuplicates(rep *reconcile.Report) (keys []string, present bool) {
	b, _ := json.Marshal(rep)
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m)
	for name, raw := range m {
		if !strings.Contains(name, "duplicate") {
			continue
		}
		var ks []sqldialect.Key
		if json.Unmarshal(raw, &ks) == nil {
			present = true
			keys = append(keys, tb.reportKeys(ks)...)
		}
	}
	slices.Sort(keys)
	return keys, present
}

func without(keys, drop []string) []string {
	out := []string{}
	for _, k := range keys {
		if !slices.Contains(drop, k) {
			out = append(out, k)
		}
	}
	return out
}

func show(keys []string) string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = strings.ReplaceAll(k, keySep, "/")
	}
	return "[" + strings.Join(out, " ") + "]"
}

// checkReport asserts that rep says what the oracle says.
func (w *world) checkReport(tr *truth, rep *reconcile.Report) {
	w.t.Helper()
	tb := w.tb
	dups, present := tb.reportedDuplicates(rep)
	if (len(tr.Duplicate) > 0 || present) && !slices.Equal(dups, tr.Duplicate) {
		w.fail("reconcile-duplicates", "duplicates: reconcile says %s (a duplicates field: %v), the oracle %s", show(dups), present, show(tr.Duplicate))
	}
	// Keys whose kind the oracle cannot compare with the report's
	// are checked apart: duplicates, and rows on a known rounding tie.
	skip := slices.Clone(tr.Duplicate)
	for k, cols := range tr.Tie {
		skip = append(skip, k)
		reported := slices.Contains(tb.reportKeys(rep.Changed), k)
		if _, changed := tr.Changed[k]; reported && !changed {
			w.fail("timestamp3-before-2000", "%s reported changed, though the sink wrote it as PostgreSQL rounds it; %s", show([]string{k}), tr.values(tb, k, cols))
		}
	}
	for _, k := range []struct {
		what      string
		got, want []string
		count     int
	}{
		{"missing", tb.reportKeys(rep.MissingInTarget), tr.Missing, rep.MissingCount},
		{"extra", tb.reportKeys(rep.ExtraInTarget), tr.Extra, rep.ExtraCount},
		{"changed", tb.reportKeys(rep.Changed), tr.changedKeys(), rep.ChangedCount},
	} {
		got, want := without(k.got, skip), without(k.want, skip)
		if !slices.Equal(got, want) {
			var detail []string
			if k.what == "changed" {
				for _, key := range want {
					if !slices.Contains(got, key) {
						detail = append(detail, "only the oracle: "+show([]string{key})+" "+tr.values(tb, key, tr.Changed[key]))
					}
				}
			}
			w.fail("reconcile-"+k.what, "%s: reconcile says %s, the oracle %s\n%s", k.what, show(got), show(want), strings.Join(detail, "\n"))
		}
		if k.count != len(k.got) {
			w.fail("reconcile-count", "%s: count %d, list of %d", k.what, k.count, len(k.got))
		}
	}
	for _, d := range rep.ChangedColumns {
		k := tb.reportKeys([]sqldialect.Key{d.Key})[0]
		if slices.Contains(skip, k) {
			continue
		}
		if want := tr.Changed[k]; !slices.Equal(d.Columns, want) {
			w.fail("reconcile-columns", "changed columns of %s: reconcile says %v, the oracle %v; %s", show([]string{k}), d.Columns, want, tr.values(tb, k, d.Columns))
		}
	}
	if rep.RowsSource != int64(len(tr.Source)) || rep.RowsTarget != int64(tr.TargetRows) {
		w.fail("reconcile-rows", "rows: reconcile counts %d source and %d target rows in scope, the oracle %d and %d", rep.RowsSource, rep.RowsTarget, len(tr.Source), tr.TargetRows)
	}
	var noRule, notComparable []string
	for _, c := range tb.Cols {
		if c.NoRule {
			noRule = append(noRule, c.Name)
		}
	}
	for _, e := range rep.NotComparable {
		notComparable = append(notComparable, e.Column)
	}
	if slices.Sort(notComparable); !slices.Equal(notComparable, slices.Sorted(slices.Values(noRule))) {
		w.fail("reconcile-not-comparable", "not comparable: %+v; the comparison has no rule for %v only", rep.NotComparable, noRule)
	}
}

// TestReconcileMatchesTruth: on random tables, workloads and sink
// behaviours, reconcile reports exactly the rows the oracle finds
// missing, extra, changed (with the columns that differ) and duplicated.
func TestReconcileMatchesTruth(t *testing.T) {
	forEachCase(t, func(t *testing.T, w *world) {
		w.workload(20+w.r.IntN(150), 10+w.r.IntN(50))
		plan := w.plan()
		w.checkReport(w.truth(), w.reconcile(plan))
	})
}
