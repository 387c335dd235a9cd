package reconcile

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

// oracleRow is one row as the test writes it.
type oracleRow struct {
	id      int
	region  string
	v       int
	deleted bool
}

// oracleCase is a random source and target of one table, with the
// settings that scope them.
type oracleCase struct {
	srcFilter, tgtFilter bool // region = 'eu' on that side
	softDeletes          bool // target.deleted_column
	src, tgt             []oracleRow
}

func newOracleCase(rng *rand.Rand) oracleCase {
	c := oracleCase{softDeletes: rng.IntN(2) == 0}
	switch rng.IntN(4) {
	case 1:
		c.srcFilter, c.tgtFilter = true, true
	case 2:
		c.srcFilter = true // one-sided: source.filter only
	case 3:
		c.tgtFilter = true
	}
	region := func() string { return []string{"eu", "us"}[rng.IntN(2)] }
	for id := 1; id <= 80; id++ {
		if rng.IntN(5) == 0 {
			continue
		}
		r := oracleRow{id: id, region: region(), v: rng.IntN(3)}
		if id <= 10 {
			r.region = "eu" // the source always has rows in scope
		}
		c.src = append(c.src, r)
		t := r
		switch x := rng.IntN(20); {
		case x < 2:
			continue // missing in the target
		case x < 4:
			t.v += 10 // changed
		case x < 6 && id > 10:
			t.region = "eu" // left the filter's scope at the source, not yet applied
			if r.region == "eu" {
				t.region = "us"
			}
		case x < 7:
			t.deleted = true // soft-deleted by the sink, yet in the source
		}
		c.tgt = append(c.tgt, t)
	}
	for id := 81; id <= 100; id++ {
		if rng.IntN(3) == 0 {
			c.tgt = append(c.tgt, oracleRow{id: id, region: region(), v: 1, deleted: rng.IntN(4) == 0})
		}
	}
	// Appended copies, as a keyless target holds them.
	for i := rng.IntN(6); i > 0; i-- {
		d := c.tgt[rng.IntN(len(c.tgt))]
		if rng.IntN(2) == 0 {
			d.v += 20
		}
		c.tgt = append(c.tgt, d)
	}
	return c
}

// truth is what reconcile and repair must find, computed from the rows.
type truth struct {
	missing, extra, changed, duplicate []int
	// deletable are the extra keys absent from the whole source: the only
	// ones repair may delete.
	deletable []int
}

func (c oracleCase) inScope(r oracleRow, target bool) bool {
	if target && c.softDeletes && r.deleted {
		return false
	}
	f := c.srcFilter
	if target {
		f = c.tgtFilter
	}
	return !f || r.region == "eu"
}

func (c oracleCase) truth() truth {
	src, all := map[int]oracleRow{}, map[int]bool{}
	for _, r := range c.src {
		all[r.id] = true
		if c.inScope(r, false) {
			src[r.id] = r
		}
	}
	tgt := map[int][]oracleRow{}
	for _, r := range c.tgt {
		if c.inScope(r, true) {
			tgt[r.id] = append(tgt[r.id], r)
		}
	}
	var t truth
	for id, s := range src {
		copies := tgt[id]
		switch {
		case len(copies) == 0:
			t.missing = append(t.missing, id)
		case len(copies) > 1:
			t.duplicate = append(t.duplicate, id)
		case copies[0].region != s.region || copies[0].v != s.v:
			t.changed = append(t.changed, id)
		}
	}
	for id := range tgt {
		if _, ok := src[id]; !ok {
			t.extra = append(t.extra, id)
			if !all[id] {
				t.deletable = append(t.deletable, id)
			}
		}
	}
	for _, l := range []*[]int{&t.missing, &t.extra, &t.changed, &t.duplicate, &t.deletable} {
		slices.Sort(*l)
	}
	return t
}

func ids(keys []sqldialect.Key) []int {
	out := make([]int, 0, len(keys))
	for _, k := range keys {
		n, _ := strconv.Atoi(fmt.Sprint(k["id"]))
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Reconcile and repair against a truth computed in Go: random source and
// target rows under random filters (both sides, one side), soft deletes
// and appended duplicates. Reconcile must find exactly the truth's
// differences; repair with --delete-extra must delete exactly the
// target-only keys the whole source lacks, keep one copy of each
// duplicate, and leave every key the source has. A failure names its
// seed; CDC_ORACLE_SEED replays it.
func TestReconcileAndRepairMatchAnOracle(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CDC_ORACLE_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("CDC_ORACLE_SEED: %v", err)
		}
	}
	rng := rand.New(rand.NewPCG(seed, seed))
	for n := range 6 {
		c := newOracleCase(rng)
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			fail := func(format string, args ...any) {
				t.Helper()
				t.Errorf("seed %d case %d (source filter %v, target filter %v, soft deletes %v): %s",
					seed, n, c.srcFilter, c.tgtFilter, c.softDeletes, fmt.Sprintf(format, args...))
			}
			p := newPair(t, "(id int, region text, v int, __deleted text)")
			exec(t, p.src, "ALTER TABLE "+p.name+" ADD PRIMARY KEY (id)")
			insert := func(rows []oracleRow) string {
				vals := make([]string, len(rows))
				for i, r := range rows {
					vals[i] = fmt.Sprintf("(%d, '%s', %d, '%v')", r.id, r.region, r.v, r.deleted)
				}
				return "INSERT INTO " + p.name + " VALUES " + strings.Join(vals, ", ")
			}
			exec(t, p.src, insert(c.src))
			exec(t, p.tgt, insert(c.tgt))
			var sf, tf, del string
			if c.srcFilter {
				sf = "region = 'eu'"
			}
			if c.tgtFilter {
				tf = "region = 'eu'"
			}
			if c.softDeletes {
				del = "__deleted"
			}
			plan := p.plan(t, sf, tf, del, sqldialect.PlanOptions{Key: []string{"id"}, Ignore: []string{"__deleted"}})
			want := c.truth()
			rep := runPlan(t, plan)
			for _, l := range []struct {
				kind      string
				got, want []int
			}{{"missing", ids(rep.MissingInTarget), want.missing}, {"extra", ids(rep.ExtraInTarget), want.extra},
				{"changed", ids(rep.Changed), want.changed}, {"duplicate", ids(rep.DuplicateInTarget), want.duplicate}} {
				if !slices.Equal(l.got, l.want) {
					fail("%s %v, truth %v", l.kind, l.got, l.want)
				}
			}
			before := targetCounts(t, p)
			res, err := Repair(context.Background(), plan, rep, RepairOptions{Signaler: &recordingSignaler{}, DataCollection: "public.t",
				DeleteExtra: true, MaxDeletes: 1000})
			if err != nil {
				fail("repair: %v", err)
				return
			}
			if got := ids(res.DeletedKeys); !slices.Equal(got, want.deletable) {
				fail("deleted %v, truth: only %v may go", got, want.deletable)
			}
			after := targetCounts(t, p)
			for _, r := range c.src {
				if before[r.id] > 0 && after[r.id] == 0 {
					fail("key %d exists at the source and was deleted from the target", r.id)
				}
			}
			for _, id := range want.duplicate {
				inScope := 0
				for _, r := range c.tgt {
					if r.id == id && c.inScope(r, true) {
						inScope++
					}
				}
				if after[id] != before[id]-inScope+1 {
					fail("duplicate %d: %d target rows left of %d, %d of them in scope; one in scope must stay", id, after[id], before[id], inScope)
				}
			}
		})
	}
}

// targetCounts counts the target's rows per id, in scope or not.
func targetCounts(t *testing.T, p *pair) map[int]int {
	t.Helper()
	out := map[int]int{}
	for _, id := range targetIDs(t, p.tgt, p.name) {
		out[id]++
	}
	return out
}
