package drift

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

// never is when a lost change lands.
var never = time.Unix(1<<40, 0)

// change is one source change of a row: from at on, the source holds
// version (absent: deleted); the target gets it at lands (never: the
// sink lost it, a dead-lettered record).
type change struct {
	at, lands time.Time
	version   int
	absent    bool
}

// edit is something done to the target row by hand at at: its own
// version, or a second copy of the row (dup) that every later change
// the sink applies keeps doubled, as in a keyless target.
type edit struct {
	at      time.Time
	version int
	dup     bool
}

// history is one key's truth: its source changes, in order, and the
// target edits.
type history struct {
	changes []change
	edits   []edit
}

type rowState struct {
	version int
	absent  bool
	copies  int // target only
}

// source is the row at the source at t.
func (h history) source(t time.Time) rowState {
	i := sort.Search(len(h.changes), func(i int) bool { return h.changes[i].at.After(t) })
	if i == 0 {
		return rowState{absent: true}
	}
	c := h.changes[i-1]
	return rowState{version: c.version, absent: c.absent}
}

// target is the row at the target at t, given only the source changes
// made by upTo: the sink's applies and the hand edits, in time order.
// With upTo = t it is what the target holds at t; with t = never it is
// what it holds once every change made by upTo has landed.
func (h history) target(t, upTo time.Time) rowState {
	s := rowState{absent: true}
	var set, deleted time.Time // when s was set, when a delete last landed
	// The changes that land, land in order: the last one landed is the
	// last made by upTo that landed by t.
	n := sort.Search(len(h.changes), func(i int) bool { return h.changes[i].at.After(upTo) })
	landed := func(c change) bool { return c.lands != never && !c.lands.After(t) }
	for i := n - 1; i >= 0; i-- {
		if c := h.changes[i]; landed(c) {
			s, set = rowState{version: c.version, absent: c.absent}, c.lands
			break
		}
	}
	copies := 1
	for _, e := range h.edits {
		switch {
		case e.at.After(t) || e.at.After(upTo):
		case e.dup:
			// A delete applied later removes both copies.
			for i := n - 1; i >= 0 && deleted.IsZero(); i-- {
				if c := h.changes[i]; c.absent && landed(c) {
					deleted = c.lands
				}
			}
			if e.at.After(deleted) {
				copies = 2
			}
		case e.at.After(set):
			s, set = rowState{version: e.version}, e.at
		}
	}
	s.copies = copies
	return s
}

func hashOf(version int) rowhash.Hash {
	return rowhash.Hash{A: int32(version), B: int32(version * 7919)}
}

func sightingOf(src, tgt rowState) sighting {
	var s sighting
	if !src.absent {
		s.src.add(hashOf(src.version))
	}
	if !tgt.absent {
		for range tgt.copies {
			s.tgt.add(hashOf(tgt.version))
		}
	}
	return s
}

// seen is how a compare at t sees the key.
func (h history) seen(t time.Time) sighting { return sightingOf(h.source(t), h.target(t, t)) }

// diverged is the oracle: the row differs at t even once every change
// made by t has landed (a lost change, a hand edit, a duplicate), and how.
func (h history) diverged(t time.Time) string {
	return sightingOf(h.source(t), h.target(never, t)).kind()
}

// pendingSince is the source time of the key's oldest change made by t
// that has not landed at t and will (what a perfect lag measure sees).
func (h history) pendingSince(t time.Time) (time.Time, bool) {
	for _, c := range h.changes {
		if !c.at.After(t) && c.lands.After(t) && c.lands != never {
			return c.at, true
		}
	}
	return time.Time{}, false
}

// world draws random histories: busy rows, rows changed once, lost
// changes, stalled rows, hand edits and duplicates, with sink delays up
// to maxDelay (at most the recheck margin: a change older than the wait
// has landed).
func world(rnd *rand.Rand, keys int, start time.Time, active, maxDelay time.Duration) []history {
	out := make([]history, keys)
	version := 1
	for k := range out {
		h := &out[k]
		// Every row exists at the start, on both sides.
		h.changes = append(h.changes, change{at: start, lands: start, version: version})
		version++
		var gap time.Duration
		switch rnd.IntN(4) {
		case 0: // busy: a change every 0.2-1 s
			gap = time.Duration(200+rnd.IntN(800)) * time.Millisecond
		case 1: // now and then
			gap = time.Duration(5+rnd.IntN(60)) * time.Second
		case 2: // rarely
			gap = time.Duration(60+rnd.IntN(300)) * time.Second
		default: // never
			gap = 2 * active
		}
		stallAt := never
		if rnd.IntN(8) == 0 {
			stallAt = start.Add(time.Duration(rnd.Int64N(int64(active))))
		}
		landed := start
		for at := start.Add(gap / 2); at.Before(start.Add(active)); at = at.Add(time.Duration(1 + rnd.Int64N(int64(gap)))) {
			// A delete only of a row there: deleting an absent row is no
			// change at all.
			c := change{at: at, version: version, absent: !h.changes[len(h.changes)-1].absent && rnd.IntN(10) == 0}
			version++
			// In order per key, as a sink consuming a partition applies.
			c.lands = at.Add(time.Duration(rnd.Int64N(int64(maxDelay) + 1)))
			if c.lands.Before(landed) {
				c.lands = landed
			}
			switch {
			case !at.Before(stallAt):
				c.lands = never
			case rnd.IntN(40) == 0:
				c.lands = never // dead-lettered; later changes still land
			default:
				landed = c.lands
			}
			h.changes = append(h.changes, c)
		}
		if rnd.IntN(10) == 0 {
			h.edits = append(h.edits, edit{at: start.Add(time.Duration(rnd.Int64N(int64(active)))), version: -version})
			version++
		}
		if rnd.IntN(12) == 0 {
			h.edits = append(h.edits, edit{at: start.Add(time.Duration(rnd.Int64N(int64(active)))), dup: true})
		}
		slices.SortFunc(h.edits, func(a, b edit) int { return a.at.Compare(b.at) })
	}
	return out
}

// The oracle test: random histories of source changes with random sink
// delays, checked as the sampler checks (a sample every minInterval,
// rechecks when due, the wait being the age of the oldest change in
// flight plus the margin). Drift never confirms a row unless it differs
// even once every change made so far has landed, and, after a quiet
// spell, the rows left open are exactly the ones that diverged.
func TestTrackerAgainstOracle(t *testing.T) {
	seeds := 100
	if testing.Short() {
		seeds = 20
	}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { trackerAgainstOracle(t, seed) })
	}
}

func trackerAgainstOracle(t *testing.T, seed uint64) {
	rnd := rand.New(rand.NewPCG(seed, 19))
	const (
		keys        = 24
		margin      = 10 * time.Second
		minInterval = 15 * time.Second
		active      = 10 * time.Minute
		quiet       = 5 * time.Minute
	)
	start := time.Unix(1_700_000_000, 0)
	hs := world(rnd, keys, start, active, margin)
	names := make([]string, keys)
	keyOf := map[string]sqldialect.Key{}
	for k := range names {
		names[k] = fmt.Sprintf("k%02d", k)
		keyOf[names[k]] = sqldialect.Key{"id": k}
	}
	idx := func(enc string) int { return slices.Index(names, enc) }
	see := func(now time.Time, encs map[string]sqldialect.Key) map[string]sighting {
		out := map[string]sighting{}
		for enc := range encs {
			if s := hs[idx(enc)].seen(now); s != (sighting{}) {
				out[enc] = s
			}
		}
		return out
	}
	var now time.Time
	wait := func() (time.Duration, error) {
		oldest := now
		for _, h := range hs {
			if at, ok := h.pendingSince(now); ok && at.Before(oldest) {
				oldest = at
			}
		}
		return now.Sub(oldest) + margin, nil
	}
	tr := newTracker(2 * keys)
	var last time.Time
	for now = start; now.Before(start.Add(active + quiet)); now = now.Add(time.Duration(100+rnd.IntN(2000)) * time.Millisecond) {
		if due := tr.due(now); len(due) > 0 {
			confirmed, err := tr.recheck(now, wait, due, see(now, due))
			if err != nil {
				t.Fatal(err)
			}
			for enc, kind := range confirmed {
				if want := hs[idx(enc)].diverged(now); want != kind {
					t.Fatalf("seed %d (replay: -run 'TestTrackerAgainstOracle/^%d$'): at %v %s confirmed %s; every change made by then lands as %q",
						seed, seed, now.Sub(start), enc, kind, want)
				}
			}
		}
		if last.IsZero() || now.Sub(last) >= minInterval {
			last = now
			if err := tr.reconfirm(now, wait, see(now, tr.openKeys())); err != nil {
				t.Fatal(err)
			}
			// A sample of about half the keys.
			sample := map[string]sqldialect.Key{}
			for _, n := range names {
				if rnd.IntN(2) == 0 {
					sample[n] = keyOf[n]
				}
			}
			if err := tr.suspect(now, wait, onlyDiffering(see(now, sample)), sample); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := map[string]string{}
	for k, h := range hs {
		if kind := h.diverged(now); kind != "" {
			want[names[k]] = kind
		}
	}
	got := map[string]string{}
	for enc, o := range tr.open {
		got[enc] = o.seen.kind()
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("seed %d: after a quiet spell the open rows are %v, the diverged rows %v", seed, got, want)
	}
}

// The row of the report: updated every 0.5 s, each change reaching the
// target 0.3 s later, checked at every 1 s scrape for 40 s with rechecks
// due after the 10 s margin. It is always either equal or in flight,
// never drift.
func TestBusyRowIsNeverConfirmed(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	var h history
	h.changes = append(h.changes, change{at: start, lands: start, version: 1})
	for i := 1; i <= 80; i++ {
		at := start.Add(time.Duration(i) * 500 * time.Millisecond)
		h.changes = append(h.changes, change{at: at, lands: at.Add(300 * time.Millisecond), version: i + 1})
	}
	key := map[string]sqldialect.Key{"k": {"id": 1}}
	wait := func() (time.Duration, error) { return 10 * time.Second, nil }
	tr := newTracker(10)
	differed := 0
	// Scrapes at 0.1 s past each half second, so some land in the 0.3 s
	// the target is behind.
	for now := start.Add(100 * time.Millisecond); now.Before(start.Add(40 * time.Second)); now = now.Add(700 * time.Millisecond) {
		got := map[string]sighting{"k": h.seen(now)}
		if len(tr.due(now)) > 0 {
			confirmed, err := tr.recheck(now, wait, key, got)
			if err != nil {
				t.Fatal(err)
			}
			if len(confirmed) > 0 {
				t.Fatalf("at %v the busy row was confirmed as %v", now.Sub(start), confirmed)
			}
		}
		if err := tr.suspect(now, wait, onlyDiffering(got), key); err != nil {
			t.Fatal(err)
		}
		if got["k"].kind() != "" {
			differed++
		}
	}
	if differed == 0 || tr.inFlight == 0 {
		t.Fatalf("the test never saw the row in flight (%d differing looks, %v in flight)", differed, tr.inFlight)
	}
	if n := tr.confirmed[Changed]; n != 0 || len(tr.open) != 0 {
		t.Fatalf("%v confirmed, %d open", n, len(tr.open))
	}
}

// A row stuck at an old version is confirmed at its first recheck, stays
// open (counted once) while it differs, and leaves at the first check
// that finds it equal: the check after a repair.
func TestStuckRowIsConfirmedOnceAndClosedByTheNextCleanCheck(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	key := map[string]sqldialect.Key{"k": {"id": 1}}
	stuck := sighting{}
	stuck.src.add(hashOf(2))
	stuck.tgt.add(hashOf(1))
	wait := func() (time.Duration, error) { return 10 * time.Second, nil }
	tr := newTracker(10)
	if err := tr.suspect(start, wait, map[string]sighting{"k": stuck}, key); err != nil {
		t.Fatal(err)
	}
	if len(tr.due(start.Add(9*time.Second))) != 0 {
		t.Fatal("due before the wait")
	}
	confirmed, _ := tr.recheck(start.Add(10*time.Second), wait, key, map[string]sighting{"k": stuck})
	if confirmed["k"] != Changed {
		t.Fatalf("stuck row not confirmed: %v", confirmed)
	}
	for i := range 3 {
		if err := tr.reconfirm(start.Add(time.Duration(i+1)*time.Minute), wait, map[string]sighting{"k": stuck}); err != nil {
			t.Fatal(err)
		}
		if d := tr.differing(); d[Changed] != 1 || tr.confirmed[Changed] != 1 {
			t.Fatalf("check %d: differing %v, confirmed %v", i, d, tr.confirmed)
		}
	}
	repaired := sighting{}
	repaired.src.add(hashOf(2))
	repaired.tgt.add(hashOf(2))
	if err := tr.reconfirm(start.Add(5*time.Minute), wait, map[string]sighting{"k": repaired}); err != nil {
		t.Fatal(err)
	}
	if d := tr.differing(); d[Changed] != 0 || len(tr.suspects) != 0 {
		t.Fatalf("after the repair: differing %v, %d suspects", d, len(tr.suspects))
	}
}

// Two copies of a row in a keyless target are a duplicate, whatever
// their order; one copy of each of two versions too.
func TestSightingKinds(t *testing.T) {
	one := func(vs ...int) rows {
		var r rows
		for _, v := range vs {
			r.add(hashOf(v))
		}
		return r
	}
	for _, c := range []struct {
		s    sighting
		want string
	}{
		{sighting{}, ""},
		{sighting{src: one(1), tgt: one(1)}, ""},
		{sighting{src: one(1)}, Missing},
		{sighting{tgt: one(1)}, Extra},
		{sighting{src: one(1), tgt: one(2)}, Changed},
		{sighting{src: one(1), tgt: one(1, 1)}, Duplicate},
		{sighting{src: one(2), tgt: one(1, 2)}, Duplicate},
		{sighting{src: one(1, 2), tgt: one(2)}, Changed},
	} {
		if got := c.s.kind(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.s, got, c.want)
		}
	}
}

// A wait that cannot be read (lag unreadable, nothing applied yet)
// records no suspect and leaves a row in flight where it was: a guessed
// wait could confirm rows still on their way.
func TestUnreadableWaitRecordsNothing(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	key := map[string]sqldialect.Key{"k": {"id": 1}}
	var seen, moved sighting
	seen.src.add(hashOf(2))
	seen.tgt.add(hashOf(1))
	moved.src.add(hashOf(3))
	moved.tgt.add(hashOf(1))
	broken := func() (time.Duration, error) { return 0, errors.New("lag: target unreachable") }
	tr := newTracker(10)
	if err := tr.suspect(now, broken, map[string]sighting{"k": seen}, key); err == nil || len(tr.suspects) != 0 {
		t.Fatalf("suspect: err %v, %d suspects", err, len(tr.suspects))
	}
	ok := func() (time.Duration, error) { return 10 * time.Second, nil }
	if err := tr.suspect(now, ok, map[string]sighting{"k": seen}, key); err != nil {
		t.Fatal(err)
	}
	later := now.Add(10 * time.Second)
	if _, err := tr.recheck(later, broken, key, map[string]sighting{"k": moved}); err == nil {
		t.Fatal("a recheck that needed the wait did not fail")
	}
	if sp := tr.suspects["k"]; sp == nil || sp.seen != seen || tr.inFlight != 0 {
		t.Fatalf("the suspect changed without a wait: %+v, %v in flight", sp, tr.inFlight)
	}
}

// Harness seed 1910 (TestHotRowBehindAStalledSink): a row changed at the
// source while the sink stalls, then left quiet. Its recheck comes due
// after the lag read when it was seen, but the sink has still applied
// nothing: the lag, and so the wait, grew as long as the stall, and the
// row is not confirmed until the sink lands what it waited for. A row
// that truly drifted meanwhile is confirmed then, and only then.
func TestSeed1910ARowQuietBehindAStalledSinkIsNotDrift(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	const margin = time.Second
	pending := sighting{} // source at version 2, the target still at 1
	pending.src.add(hashOf(2))
	pending.tgt.add(hashOf(1))
	drifted := sighting{} // the target edited by hand, the source as it was
	drifted.src.add(hashOf(7))
	drifted.tgt.add(hashOf(8))
	keys := map[string]sqldialect.Key{"hot": {"id": 1}, "drifted": {"id": 2}}
	// The sink stalls at start; it lands the hot row's change at landed.
	landed := start.Add(5 * time.Minute)
	var now time.Time
	wait := func() (time.Duration, error) {
		if now.Before(landed) {
			return now.Sub(start) + margin, nil // the age of the oldest pending change
		}
		return margin, nil
	}
	tr := newTracker(10)
	now = start.Add(2 * time.Second)
	if err := tr.suspect(now, wait, map[string]sighting{"hot": pending, "drifted": drifted}, keys); err != nil {
		t.Fatal(err)
	}
	// recheck looks again at the due rows, as the table now holds them.
	recheck := func(holds map[string]sighting) map[string]string {
		t.Helper()
		due := tr.due(now)
		got := map[string]sighting{}
		for enc := range due {
			got[enc] = holds[enc]
		}
		confirmed, err := tr.recheck(now, wait, due, got)
		if err != nil {
			t.Fatal(err)
		}
		return confirmed
	}
	for ; now.Before(landed); now = now.Add(time.Second) {
		if confirmed := recheck(map[string]sighting{"hot": pending, "drifted": drifted}); len(confirmed) > 0 {
			t.Fatalf("at %v, the sink stalled since the start, drift confirmed %v", now.Sub(start), confirmed)
		}
	}
	landedRow := sighting{}
	landedRow.src.add(hashOf(2))
	landedRow.tgt.add(hashOf(2))
	all := map[string]string{}
	for end := now.Add(time.Minute); now.Before(end); now = now.Add(time.Second) {
		maps.Copy(all, recheck(map[string]sighting{"hot": landedRow, "drifted": drifted}))
	}
	if fmt.Sprint(all) != fmt.Sprint(map[string]string{"drifted": Changed}) || len(tr.suspects) != 0 {
		t.Fatalf("once the sink landed: confirmed %v, %d suspects left; want the drifted row only", all, len(tr.suspects))
	}
}
