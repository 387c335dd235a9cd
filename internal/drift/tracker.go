package drift

import (
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

// rows is what one side holds under one key: how many rows, and the sum
// of their hashes, which does not depend on the order a keyless target
// returns its duplicates in.
type rows struct {
	n    int
	a, b int64
}

func (r *rows) add(h rowhash.Hash) {
	r.n++
	r.a += int64(h.A)
	r.b += int64(h.B)
}

// sighting is one key's rows on both sides as one compare saw them.
type sighting struct{ src, tgt rows }

// kind is how the target differs from the source under the key, "" when
// it does not.
func (s sighting) kind() string {
	switch {
	case s.src.n == 0 && s.tgt.n == 0:
		return ""
	case s.tgt.n == 0:
		return Missing
	case s.src.n == 0:
		return Extra
	case s.tgt.n > s.src.n:
		return Duplicate
	case s.tgt.n < s.src.n || s.src.a != s.tgt.a || s.src.b != s.tgt.b:
		return Changed
	}
	return ""
}

// verdict is what a second look at a differing row decides.
type verdict int

const (
	// clear: the row no longer differs (it landed, or was repaired).
	clear verdict = iota
	// inFlight: either side changed since the row was seen differing, so
	// replication is still at work on it: not drift, look again later.
	inFlight
	// confirmed: both sides are as they were when the row was seen
	// differing, after the wait: drift.
	confirmed
)

// judge is the one place a difference becomes drift: a row is confirmed
// only when its source version is the one first seen (so the target had
// the whole wait to apply it) and the target, unchanged too, still
// differs. A row that keeps changing at the source, however busy, is
// always in flight. Versions are told apart by their hashes: a row that
// changes and changes back between two looks passes for unchanged.
func judge(first, now sighting) verdict {
	switch {
	case now.kind() == "":
		return clear
	case now != first:
		return inFlight
	}
	return confirmed
}

type tracked struct {
	key  sqldialect.Key
	seen sighting
	at   time.Time // when seen was seen
	due  time.Time // suspects only: when to look again
}

// tracker is one table's differing rows between checks: suspects waiting
// for their recheck, and open rows, confirmed and still differing when
// last compared. It reads no database and no clock: the sampler hands it
// what each compare saw, the time, and the wait before a recheck.
type tracker struct {
	// limit bounds the suspects and the open rows kept, each.
	limit    int
	suspects map[string]*tracked
	open     map[string]*tracked
	// confirmed counts confirmations by kind, inFlight the second looks
	// that found a row still changing; both cumulative.
	confirmed map[string]float64
	inFlight  float64
}

func newTracker(limit int) *tracker {
	return &tracker{limit: limit, suspects: map[string]*tracked{}, open: map[string]*tracked{}, confirmed: map[string]float64{}}
}

// waitFunc is the wait before a recheck of a row seen differing now; the
// sampler reads it at most once per check, and only when asked.
type waitFunc func() (time.Duration, error)

// suspect starts tracking the differing rows of a sample. Rows already
// tracked keep their first sighting.
func (tr *tracker) suspect(now time.Time, wait waitFunc, found map[string]sighting, keys map[string]sqldialect.Key) error {
	for enc, s := range found {
		if _, ok := tr.suspects[enc]; ok {
			continue
		}
		if _, ok := tr.open[enc]; ok || len(tr.suspects) >= tr.limit {
			continue
		}
		w, err := wait()
		if err != nil {
			return err
		}
		tr.suspects[enc] = &tracked{key: keys[enc], seen: s, at: now, due: now.Add(w)}
	}
	return nil
}

// due returns the suspects whose recheck time has come.
func (tr *tracker) due(now time.Time) map[string]sqldialect.Key {
	out := map[string]sqldialect.Key{}
	for enc, sp := range tr.suspects {
		if !now.Before(sp.due) {
			out[enc] = sp.key
		}
	}
	return out
}

// recheck judges due suspects by what a compare saw now (a key absent
// from got was found on neither side) and returns the confirmed ones
// with their kind. A row unchanged on both sides is confirmed only when
// the wait read now has passed since it was seen too: a sink that
// stalled since then makes the lag, and so the wait, grow past the one
// read at the sighting, and a change still pending behind it is not
// drift.
func (tr *tracker) recheck(now time.Time, wait waitFunc, keys map[string]sqldialect.Key, got map[string]sighting) (map[string]string, error) {
	out := map[string]string{}
	for enc := range keys {
		sp := tr.suspects[enc]
		if sp == nil {
			continue
		}
		s := got[enc]
		switch judge(sp.seen, s) {
		case clear:
			delete(tr.suspects, enc)
		case inFlight:
			w, err := wait()
			if err != nil {
				return out, err
			}
			tr.inFlight++
			sp.seen, sp.at, sp.due = s, now, now.Add(w)
		case confirmed:
			w, err := wait()
			if err != nil {
				return out, err
			}
			if due := sp.at.Add(w); now.Before(due) {
				sp.due = due
				continue
			}
			delete(tr.suspects, enc)
			k := s.kind()
			tr.confirmed[k]++
			out[enc] = k
			if len(tr.open) < tr.limit {
				tr.open[enc] = sp
			}
		}
	}
	return out, nil
}

// openKeys are the confirmed rows to compare again.
func (tr *tracker) openKeys() map[string]sqldialect.Key {
	out := make(map[string]sqldialect.Key, len(tr.open))
	for enc, o := range tr.open {
		out[enc] = o.key
	}
	return out
}

// reconfirm judges the open rows by what a compare saw now: one that no
// longer differs is closed, one that changed goes back to waiting as a
// suspect (it is replication's again), one unchanged stays open, counted
// once.
func (tr *tracker) reconfirm(now time.Time, wait waitFunc, got map[string]sighting) error {
	for enc, o := range tr.open {
		s := got[enc]
		switch judge(o.seen, s) {
		case clear:
			delete(tr.open, enc)
		case inFlight:
			w, err := wait()
			if err != nil {
				return err
			}
			tr.inFlight++
			delete(tr.open, enc)
			tr.suspects[enc] = &tracked{key: o.key, seen: s, at: now, due: now.Add(w)}
		}
	}
	return nil
}

// differing counts the open rows by kind.
func (tr *tracker) differing() map[string]float64 {
	out := make(map[string]float64, len(Kinds))
	for _, k := range Kinds {
		out[k] = 0
	}
	for _, o := range tr.open {
		out[o.seen.kind()]++
	}
	return out
}
