package difftest

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/drift"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

// confirmations collects the rows drift confirms, from its log: the
// record it writes for each one.
type confirmations struct {
	mu   sync.Mutex
	keys []sqldialect.Key
}

func (c *confirmations) Enabled(context.Context, slog.Level) bool { return true }
func (c *confirmations) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *confirmations) WithGroup(string) slog.Handler            { return c }
func (c *confirmations) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "mismatch" {
			return true
		}
		for _, g := range a.Value.Resolve().Group() {
			if g.Key == "key" {
				if k, ok := g.Value.Any().(sqldialect.Key); ok {
					c.mu.Lock()
					c.keys = append(c.keys, k)
					c.mu.Unlock()
				}
			}
		}
		return true
	})
	return nil
}

// TestDriftNeverConfirmsLandedRows: with changes in flight when drift
// samples, every one of which then lands (some rows changed again at the
// source before the recheck, as a busy row is), drift confirms exactly
// the rows the oracle finds drifted in the target with their source
// unchanged, and never a row whose changes all landed or are still
// coming.
func TestDriftNeverConfirmsLandedRows(t *testing.T) {
	forEachCase(t, func(t *testing.T, w *world) {
		w.workload(10+w.r.IntN(60), 0)
		sampler, log := w.sampler(w.tb.planOptions())

		// Changes in flight: at the source, not applied yet.
		var inFlight [][]string
		ops := map[string]string{} // oracle key → what happened to it
		note := func(k []string, what string) { ops[w.tb.oracleKeyOf(k)] += what + " " }
		for range 1 + w.r.IntN(8) {
			var key []string
			switch n := w.r.IntN(10); {
			case n < 3:
				key = w.insert()
				note(key, "inserted")
			case n < 5:
				key = w.keys[w.r.IntN(len(w.keys))]
				w.delete(key)
				note(key, "deleted")
			case n < 6 && w.tb.Filter:
				key = w.keys[w.r.IntN(len(w.keys))]
				w.update(key, true)
				note(key, "left or entered the filter")
			default:
				key = w.keys[w.r.IntN(len(w.keys))]
				w.update(key, false)
				note(key, "updated")
			}
			inFlight = append(inFlight, key)
		}
		// Drift in the target, the source unchanged.
		var drifted [][]string
		for range w.r.IntN(4) {
			k := w.keys[w.r.IntN(len(w.keys))]
			if !slices.ContainsFunc(inFlight, func(f []string) bool { return slices.Equal(f, k) }) {
				if w.tb.Keyless && w.r.IntN(2) == 0 {
					w.appendDuplicate(k) // an upsert that appended
				} else {
					w.corrupt(k)
				}
				drifted = append(drifted, k)
			}
		}
		first := w.truth()
		stats := sampler.Check(w.ctx)["harness"]
		if stats.Err != nil {
			t.Fatalf("drift check: %v", stats.Err)
		}
		// Replication goes on between checks: every pending change lands,
		// and for a few rounds some rows change again at the source before
		// drift looks at them again (busy rows: in flight, not drift).
		// Then the source goes quiet and the last changes land.
		busyRounds := w.r.IntN(4)
		deadline := time.Now().Add(30 * time.Second)
		for round := 0; stats.Pending > 0 || round <= busyRounds; round++ {
			if time.Now().After(deadline) {
				t.Fatalf("drift still has %d rows pending a recheck", stats.Pending)
			}
			for _, k := range inFlight {
				w.apply(k)
			}
			if round < busyRounds {
				for _, k := range inFlight {
					if w.r.IntN(3) == 0 {
						w.update(k, false)
						note(k, "updated again")
					}
				}
			}
			time.Sleep(wait)
			if stats = sampler.Check(w.ctx)["harness"]; stats.Err != nil {
				t.Fatalf("drift recheck: %v", stats.Err)
			}
		}
		// The truth: the corrupted rows the oracle finds differing,
		// before and after (their source did not change).
		now := w.truth()
		var want []string
		for _, k := range drifted {
			ok := w.tb.oracleKeyOf(k)
			if first.differs(ok) && now.differs(ok) {
				want = append(want, ok)
			}
		}
		slices.Sort(want)
		want = slices.Compact(want)
		got := w.tb.reportKeys(log.keys)
		for _, k := range got {
			if _, tie := first.Tie[k]; tie && !slices.Contains(want, k) {
				w.fail("timestamp3-before-2000", "drift confirmed %s, in sync but on a rounding tie; %s", show([]string{k}), first.values(w.tb, k, first.Tie[k]))
			}
		}
		got = without(got, without(tieKeys(first), want))
		for _, k := range got {
			if !slices.Contains(want, k) {
				landed := "its changes landed"
				if h := ops[k]; h != "" {
					landed = "it was in flight when sampled (" + strings.TrimSpace(h) + ")"
				}
				w.fail("drift-confirmed-landed", "drift confirmed %s, though %s (confirmed %s, truly drifted %s)", show([]string{k}), landed, show(got), show(want))
			}
		}
		for _, k := range want {
			if !slices.Contains(got, k) {
				w.fail("drift-missed", "drift did not confirm %s, drifted in the target with its source unchanged (confirmed %s); %s", show([]string{k}), show(got), now.values(w.tb, k, now.Changed[k]))
			}
		}
	})
}

// wait is how long drift waits before rechecking a suspect: the
// harness's sink delivers nothing by itself, so any wait will do.
const wait = 30 * time.Millisecond

// sampler is a drift sampler of the case's table that samples every row
// once, then only rechecks, each confirmed row recorded in log.
func (w *world) sampler(o sqldialect.PlanOptions) (s *drift.Sampler, log *confirmations) {
	src, tgt := w.sides()
	log = &confirmations{}
	return drift.NewSampler([]drift.Table{{
		Name:        "harness",
		Sides:       func() (sqldialect.Side, sqldialect.Side, error) { return src, tgt, nil },
		PlanOptions: o,
		Drift:       config.Drift{SampleSize: 1000, MinInterval: time.Hour, Budget: time.Minute},
		Wait:        func(context.Context) (time.Duration, error) { return wait, nil },
	}}, slog.New(log)), log
}

func tieKeys(tr *truth) []string {
	var out []string
	for k := range tr.Tie {
		out = append(out, k)
	}
	return out
}

// oracleKeyOf is the oracle's key of a key's text forms.
func (tb *table) oracleKeyOf(key []string) string {
	var parts []string
	for i, c := range tb.keyCols() {
		parts = append(parts, canonKey(c, key[i]))
	}
	return joinKey(parts)
}
