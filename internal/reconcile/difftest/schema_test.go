package difftest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/reconcile"
	"github.com/cdc-sentinel/cdc-sentinel/internal/schemadrift"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// mismatchSchema draws how the target's schema differs from the
// source's, at least one way per table: source columns the sink never
// added, target types narrower than the source's (a numeric into an
// integer or a smaller numeric, text into a varchar(5), fractions of a
// second dropped) or wider (still compared), and target columns the
// source lacks. Key and filter columns stay as they are: a key the
// target lacks is an error, not a mismatch.
func (tb *table) mismatchSchema(r *rand.Rand) {
	for differs := false; !differs; {
		for i := range tb.Cols {
			c := &tb.Cols[i]
			if c.Key || c.Region || c.Kind == kJSONB {
				continue
			}
			switch n := r.IntN(10); {
			case n < 2:
				c.Absent, differs = true, true
			case n < 6:
				if typ, noRule := otherType(r, *c); typ != "" {
					c.Tgt, c.NoRule, c.PadChar, differs = typ, noRule, false, true
				}
			}
		}
		if r.IntN(3) == 0 {
			differs = true
			for j := range 1 + r.IntN(2) {
				c := column{Name: fmt.Sprintf("SinkOnly%d", j+1), Tgt: []string{"text", "integer", "timestamptz"}[r.IntN(3)]}
				c.TgtName = c.Name
				if tb.CaseFold {
					c.TgtName = strings.ToLower(c.Name)
				}
				tb.TgtOnly = append(tb.TgtOnly, c)
			}
		}
	}
}

// otherType is a target type for c other than its source type: many
// lose values (schemadrift.Lossy says which), some only widen; "" when
// the catalogue has none for c's kind. Every drawn value fits the type,
// whole part and all, so the sink stores it. noRule marks a pair that
// loses nothing but that the comparison has no rule for (docs/drift.md:
// an integer, a boolean or a date in a text column, a date in a
// timestamp): not comparable along the path.
func otherType(r *rand.Rand, c column) (typ string, noRule bool) {
	base, _, _ := strings.Cut(c.Src, "(")
	pick := func(types ...string) string { return types[r.IntN(len(types))] }
	switch c.Kind {
	case kDecimal:
		return pick("bigint", "numeric(12,2)", "numeric(20,6)"), false
	case kText:
		return pick("varchar(5)", "varchar(5)", "text", "char(40)"), false
	case kChar:
		return pick("char(1)", "varchar(20)"), false
	case kInt:
		if c.Src == "integer" {
			typ = pick("bigint", "numeric(12,2)", "text")
		} else {
			typ = pick("numeric(20,0)", "text")
		}
		return typ, typ == "text"
	case kBool:
		return "text", true
	case kDate:
		return pick("timestamp(0)", "text"), true
	case kTimestampTZ:
		if r.IntN(3) == 0 {
			return fmt.Sprintf("timestamp(%d)", c.Digits), false
		}
	}
	if (c.Kind == kTimestamp || c.Kind == kTimestampTZ || c.Kind == kTime) && c.Digits > 0 {
		return base + fmt.Sprintf("(%d)", r.IntN(c.Digits)), false
	}
	return "", false
}

// decideLoss records, for each column the target has, whether its
// target type loses values, as schemadrift.Lossy decides from both
// catalogs (the home of that decision; the harness does not guess it).
func (w *world) decideLoss(src, tgt []sqldialect.CatalogColumn) {
	w.t.Helper()
	for i := range w.tb.Cols {
		c := &w.tb.Cols[i]
		if c.Absent || c.Kind == kJSONB {
			continue
		}
		s, ok1 := sqldialect.FindColumn(src, c.Name, catalogName)
		g, ok2 := sqldialect.FindColumn(tgt, c.TgtName, catalogName)
		if !ok1 || !ok2 {
			w.t.Fatalf("column %s: not in both catalogs", c.Name)
		}
		c.Lossy = schemadrift.Lossy(schemadrift.Column(s), schemadrift.Column(g))
		// A lossy column is a schema mismatch, whatever the comparison
		// could make of it.
		c.NoRule = c.NoRule && c.Lossy == ""
		if c.Key && c.Lossy != "" {
			w.t.Fatalf("key column %s drawn with a lossy target type: %s", c.Name, c.Lossy)
		}
	}
}

func catalogName(c sqldialect.CatalogColumn) string { return c.Name }

// schemaScope is the table's configuration as a schema check reads it:
// jsonb and the change-time column ignored, as the plan ignores them.
func (w *world) schemaScope() schemadrift.Scope {
	return schemadrift.Scope{Ignore: w.tb.planOptions().Ignore, SinkMetadata: []string{"__deleted"}}
}

// driftingOnlyLeftOut changes rows only in columns the comparison
// leaves out: a source value of a column the target lacks (the change
// then delivered), a lossy column's target value, a target-only value.
// It returns the keys it touched.
func (w *world) driftingOnlyLeftOut(n int) [][]string {
	w.t.Helper()
	var touched [][]string
	for range n {
		key := w.keys[w.r.IntN(len(w.keys))]
		if w.sourceRow(key) == nil {
			continue
		}
		var opts []func()
		for _, c := range w.tb.Cols {
			switch {
			case c.Absent:
				opts = append(opts, func() { w.setColumn(false, c, key) })
			case c.Lossy != "":
				opts = append(opts, func() { w.setColumn(true, c, key) })
			}
		}
		for _, c := range w.tb.TgtOnly {
			opts = append(opts, func() {
				v := map[string]string{"text": "drifted", "integer": "42", "timestamptz": "2001-02-03 04:05:06+00"}[c.Tgt]
				w.exec(w.tgt, "UPDATE "+qt(w.tb.TgtName)+" SET "+qi(c.TgtName)+" = $1::text::"+c.Tgt+" WHERE "+w.keyWhere(true, 2), append([]any{v}, anys(key)...)...)
			})
		}
		if len(opts) == 0 {
			return nil
		}
		opts[w.r.IntN(len(opts))]()
		touched = append(touched, key)
	}
	return touched
}

// setColumn gives key's row a new value of c on one side: at the source
// (then the sink delivers the row), or in the target directly.
func (w *world) setColumn(target bool, c column, key []string) {
	w.t.Helper()
	v, ok := w.tb.value(w.r, c)
	var a any
	if ok {
		a = v
	}
	if !target {
		w.exec(w.src, "UPDATE "+qt(w.tb.Name)+" SET "+qi(c.Name)+" = $1::text::"+c.Src+" WHERE "+w.keyWhere(false, 2), append([]any{a}, anys(key)...)...)
		w.apply(key)
		return
	}
	w.exec(w.tgt, "UPDATE "+qt(w.tb.TgtName)+" SET "+qi(c.TgtName)+" = $1"+c.sinkCast()+" WHERE "+w.keyWhere(true, 2), append([]any{a}, anys(key)...)...)
}

// leftOutWant are the columns the comparison must leave out, each with
// the kind of schema mismatch that makes it so.
func (tb *table) leftOutWant() map[string]string {
	out := map[string]string{}
	for _, c := range tb.Cols {
		switch {
		case c.Absent:
			out[c.Name] = schemadrift.MissingInTarget
		case c.Lossy != "":
			out[c.Name] = schemadrift.Type
		}
	}
	return out
}

// checkSchemaMismatch asserts that the report's schema_mismatch names
// exactly the columns the case left out, each with the reason the
// schema comparison gives (schemadrift.Compare on both catalogs), and
// that Compare finds exactly the drawn mismatches, target-only columns
// included.
func (w *world) checkSchemaMismatch(rep *reconcile.Report, src, tgt []sqldialect.CatalogColumn) {
	w.t.Helper()
	want := w.tb.leftOutWant()
	ms := schemadrift.Compare(schemadrift.Layers{Source: columnsOf(src), Target: columnsOf(tgt)}, w.schemaScope())
	compared := map[string]string{}
	var sourceOnly []string
	for _, m := range ms {
		if m.Kind == schemadrift.MissingInSource {
			sourceOnly = append(sourceOnly, m.Column)
			continue
		}
		compared[m.Column] = m.Kind
		if want[m.Column] != m.Kind {
			w.fail("schema-compare", "schemadrift.Compare finds %s %s (%s); the case drew %q for it", m.Column, m.Kind, m.Detail, want[m.Column])
		}
	}
	for n, kind := range want {
		if compared[n] == "" {
			w.fail("schema-compare", "schemadrift.Compare does not find %s %s", n, kind)
		}
	}
	var tgtOnly []string
	for _, c := range w.tb.TgtOnly {
		tgtOnly = append(tgtOnly, c.TgtName)
	}
	if slices.Sort(sourceOnly); !slices.Equal(sourceOnly, tgtOnly) && len(sourceOnly)+len(tgtOnly) > 0 {
		w.fail("schema-compare", "schemadrift.Compare finds %v missing in the source; the target alone has %v", sourceOnly, tgtOnly)
	}
	got := map[string]bool{}
	for _, e := range rep.SchemaMismatch {
		got[e.Column] = true
		m := slices.IndexFunc(ms, func(m schemadrift.Mismatch) bool {
			return m.Column == e.Column && m.Kind != schemadrift.MissingInSource
		})
		switch {
		case want[e.Column] == "":
			w.fail("schema-mismatch-column", "schema_mismatch names %s (%s), which the case compares in full", e.Column, e.Reason)
		case m < 0:
		case !strings.HasPrefix(e.Reason, "schema drift: ") || !strings.HasSuffix(e.Reason, "("+ms[m].Kind+")") || !strings.Contains(e.Reason, ms[m].Detail):
			w.fail("schema-mismatch-reason", "schema_mismatch gives %s the reason %q; the schema comparison says %s: %s", e.Column, e.Reason, ms[m].Kind, ms[m].Detail)
		}
	}
	for n, kind := range want {
		if !got[n] {
			w.fail("schema-mismatch-column", "schema_mismatch %+v does not name %s (%s)", rep.SchemaMismatch, n, kind)
		}
	}
	if len(rep.SchemaMismatch) != len(got) {
		w.fail("schema-mismatch-column", "schema_mismatch names a column twice: %+v", rep.SchemaMismatch)
	}
}

func columnsOf(cs []sqldialect.CatalogColumn) []schemadrift.Column {
	out := make([]schemadrift.Column, len(cs))
	for i, c := range cs {
		out[i] = schemadrift.Column(c)
	}
	return out
}

// catalogs reads both tables' columns as the schema check does.
func (w *world) catalogs() (src, tgt []sqldialect.CatalogColumn) {
	w.t.Helper()
	var err error
	if src, err = sqldialect.ReadCatalogColumns(w.ctx, w.src, sqldialect.Postgres{}, w.tb.Name); err != nil {
		w.t.Fatalf("source catalog: %v", err)
	}
	if tgt, err = sqldialect.ReadCatalogColumns(w.ctx, w.tgt, sqldialect.Postgres{}, w.tb.TgtName); err != nil {
		w.t.Fatalf("target catalog: %v", err)
	}
	return src, tgt
}

// TestSchemaMismatchKeepsVerdictsOnCommonColumns: on random tables whose
// target lacks source columns, has columns the source lacks or holds
// some in lossy types, with the product's own schema comparison wired
// into the plan as the configuration does (schemadrift.LeftOut):
// reconcile reports exactly the rows the oracle finds missing, extra,
// changed or duplicated on the common, comparable columns, never a row
// differing only in a left-out column; its schema_mismatch names exactly
// the left-out columns with the schema comparison's reason; repair
// brings the common columns to the source's values without deleting a
// row the source has; and drift, once the target is settled, confirms
// the rows drifted in a common column and none drifted only in a
// left-out one.
func TestSchemaMismatchKeepsVerdictsOnCommonColumns(t *testing.T) {
	p := testenv.Need(t)
	dbs := [2]*database.DB{openDB(t, "src", p.SourceDSN), openDB(t, "tgt", p.TargetDSN)}
	forEachShapedCase(t, (*table).mismatchSchema, func(t *testing.T, w *world) {
		srcCat, tgtCat := w.catalogs()
		w.decideLoss(srcCat, tgtCat)
		w.workload(20+w.r.IntN(150), 10+w.r.IntN(50))
		leftOutOnly := w.driftingOnlyLeftOut(w.r.IntN(8))
		before := w.truth()
		src, tgt := w.sides()
		plan, err := sqldialect.NewPlan(w.ctx, src, tgt, w.schemaPlanOptions(dbs))
		if err != nil {
			t.Fatalf("plan of a table whose schema differs: %v", err)
		}
		rep := w.reconcile(plan)
		w.checkReport(before, rep)
		w.checkSchemaMismatch(rep, srcCat, tgtCat)
		w.checkNothingLeftOutChanged(before, rep, leftOutOnly)
		w.repairAndCheck(plan, rep, before)
		w.checkDriftOnCommonColumns(dbs)
	})
}

// checkNothingLeftOutChanged asserts that no row whose only difference
// is in a left-out column is reported changed, and that no changed row
// names a left-out column.
func (w *world) checkNothingLeftOutChanged(tr *truth, rep *reconcile.Report, touched [][]string) {
	w.t.Helper()
	changed := w.tb.reportKeys(rep.Changed)
	for _, key := range touched {
		k := w.tb.oracleKeyOf(key)
		if slices.Contains(changed, k) && !tr.differs(k) {
			w.fail("schema-left-out-changed", "reconcile reports %s changed, though it differs only in a left-out column", show([]string{k}))
		}
	}
	for _, d := range rep.ChangedColumns {
		for _, n := range d.Columns {
			if i := slices.IndexFunc(w.tb.Cols, func(c column) bool { return c.Name == n }); i >= 0 && w.tb.Cols[i].leftOut() {
				w.fail("schema-left-out-changed", "reconcile names left-out column %s among the changed columns of %s", n, show(w.tb.reportKeys([]sqldialect.Key{d.Key})))
			}
		}
	}
}

// checkDriftOnCommonColumns settles the target (the sink delivers every
// key's source state), then drifts some rows in a common column (or
// appends a copy to a keyless target) and others only in left-out
// columns, and asserts that drift, sampling every row and rechecking its
// suspects, confirms exactly the rows the oracle finds differing and
// none of those drifted only in a left-out column.
func (w *world) checkDriftOnCommonColumns(dbs [2]*database.DB) {
	w.t.Helper()
	for _, k := range w.keys {
		w.apply(k)
	}
	if tr := w.truth(); len(tr.Missing)+len(tr.Extra)+len(tr.Changed)+len(tr.Duplicate) > 0 {
		w.t.Fatalf("the settled target still differs: missing %s, extra %s, changed %s, duplicated %s", show(tr.Missing), show(tr.Extra), show(tr.changedKeys()), show(tr.Duplicate))
	}
	var live [][]string
	for _, k := range w.keys {
		if w.sourceRow(k) != nil {
			live = append(live, k)
		}
	}
	if len(live) == 0 {
		return
	}
	var drifted []string
	for range w.r.IntN(5) {
		k := live[w.r.IntN(len(live))]
		if w.tb.Keyless && w.r.IntN(2) == 0 {
			w.appendDuplicate(k)
		} else {
			w.corrupt(k)
		}
		drifted = append(drifted, w.tb.oracleKeyOf(k))
	}
	var only []string
	for _, k := range w.driftingOnlyLeftOut(1 + w.r.IntN(6)) {
		only = append(only, w.tb.oracleKeyOf(k))
	}
	tr := w.truth()
	var want []string
	for _, k := range drifted {
		if tr.differs(k) {
			want = append(want, k)
		}
	}
	slices.Sort(want)
	want = slices.Compact(want)

	sampler, log := w.sampler(w.schemaPlanOptions(dbs))
	deadline := time.Now().Add(30 * time.Second)
	for st := sampler.Check(w.ctx)["harness"]; st.Pending > 0 || st.Checked == 0; st = sampler.Check(w.ctx)["harness"] {
		if st.Err != nil {
			w.t.Fatalf("drift check: %v", st.Err)
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("drift still has %d rows pending a recheck (%v rows checked)", st.Pending, st.Checked)
		}
		time.Sleep(wait)
	}
	got := slices.Compact(w.tb.reportKeys(log.keys))
	for _, k := range got {
		switch {
		case slices.Contains(want, k):
		case slices.Contains(only, k):
			w.fail("drift-confirmed-left-out", "drift confirmed %s, which differs only in a left-out column (confirmed %s, truly drifted %s)", show([]string{k}), show(got), show(want))
		default:
			w.fail("drift-confirmed-landed", "drift confirmed %s, in sync on the common columns (confirmed %s, truly drifted %s)", show([]string{k}), show(got), show(want))
		}
	}
	for _, k := range want {
		if !slices.Contains(got, k) {
			w.fail("drift-missed", "drift did not confirm %s, drifted in a common column of the settled target (confirmed %s); %s", show([]string{k}), show(got), tr.values(w.tb, k, tr.Changed[k]))
		}
	}
}

// schemaPlanOptions are the table's plan options with the schema
// comparison the configuration wires in.
func (w *world) schemaPlanOptions(dbs [2]*database.DB) sqldialect.PlanOptions {
	o := w.tb.planOptions()
	o.SchemaDrift = func(ctx context.Context) ([]sqldialect.Excluded, error) {
		return schemadrift.LeftOut(ctx, dbs[0], dbs[1], w.tb.Name, w.tb.TgtName, w.schemaScope())
	}
	return o
}
