package difftest

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/reconcile"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

// snapshots is the signal channel of the simulated pipeline: it keeps
// the execute-snapshot signals repair sends, which the test then plays
// as Debezium would (the rows the filter selects at the source, re-sent
// through the sink).
type snapshots struct {
	mu      sync.Mutex
	filters []string
}

func (s *snapshots) Signal(_ context.Context, _, typ string, data []byte) error {
	var sig struct {
		Conditions []struct {
			Filter string `json:"filter"`
		} `json:"additional-conditions"`
	}
	if err := json.Unmarshal(data, &sig); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range sig.Conditions {
		s.filters = append(s.filters, c.Filter)
	}
	return nil
}

func (s *snapshots) Describe() string { return "the harness's simulated signal channel" }

// play re-sends the rows each snapshot's filter selects at the source.
func (w *world) play(s *snapshots) {
	w.t.Helper()
	for _, f := range s.filters {
		rows, err := w.src.QueryContext(w.ctx, "SELECT "+w.keyText(false)+" FROM "+qt(w.tb.Name)+" WHERE "+f)
		if err != nil {
			w.t.Fatalf("snapshot filter %q at the source: %v", f, err)
		}
		for _, k := range scanTexts(w.t, rows, len(w.tb.keyCols())) {
			w.apply(nonNull(k))
		}
	}
}

// targetKeys are the keys of every row the target holds, in or out of
// scope, soft-deleted or not.
func (w *world) targetKeys() map[string]bool {
	w.t.Helper()
	out := map[string]bool{}
	for _, row := range w.readSide(true) {
		out[w.tb.oracleKey(row)] = true
	}
	return out
}

// TestRepairReachesTheSourceWithoutDeletingIt: repair with
// --delete-extra, its snapshots played through the simulated sink,
// leaves no row missing or changed within the scope, and never deletes a
// target row whose key the source has (with or without the filter).
func TestRepairReachesTheSourceWithoutDeletingIt(t *testing.T) {
	forEachCase(t, func(t *testing.T, w *world) {
		w.workload(20+w.r.IntN(150), 10+w.r.IntN(50))
		plan := w.plan()
		before := w.truth()
		w.repairAndCheck(plan, w.reconcile(plan), before)
	})
}

// repairAndCheck repairs what rep found, with --delete-extra, plays its
// snapshots through the simulated sink and asserts that no row in scope
// is left missing or changed and that no target row whose key the
// source had (before, the truth rep was made against) was deleted.
func (w *world) repairAndCheck(plan *sqldialect.Plan, rep *reconcile.Report, before *truth) {
	w.t.Helper()
	held := w.targetKeys()
	sig := &snapshots{}
	if _, err := reconcile.Repair(w.ctx, plan, rep, reconcile.RepairOptions{
		Signaler: sig, DataCollection: w.tb.Name, DeleteExtra: true, MaxDeletes: 10000,
	}); err != nil {
		if w.tb.foldedKeyIn(err.Error()) {
			w.fail("repair-case-folded-key", "repair failed on a target whose sink folded the key's case: %v", err)
			return
		}
		w.t.Fatalf("repair: %v", err)
	}
	after := w.targetKeys()
	for k := range held {
		if !after[k] && before.SourceAll[k] {
			w.fail("repair-deleted-source-row", "repair deleted the target's row %s, whose key the source has%s", show([]string{k}), inScopeNote(before, k))
		}
	}
	w.play(sig)
	tr := w.truth()
	skip := slices.Clone(tr.Duplicate)
	for k := range tr.Tie {
		skip = append(skip, k)
	}
	if m := without(tr.Missing, skip); len(m) > 0 {
		w.fail("repair-missing", "after the repair the target still misses %s", show(m))
	}
	if c := without(tr.changedKeys(), skip); len(c) > 0 {
		w.fail("repair-changed", "after the repair these rows still differ: %s", show(c))
	}
	for _, k := range without(tr.Extra, skip) {
		if !tr.SourceAll[k] {
			w.fail("repair-extra", "after the repair the target still holds %s, which the source does not have", show([]string{k}))
		}
	}
}

func inScopeNote(tr *truth, k string) string {
	if _, ok := tr.Source[k]; ok {
		return ""
	}
	return " (outside the filter at the source)"
}

// foldedKeyIn tells whether msg names a key column by the name the sink
// folded it to.
func (tb *table) foldedKeyIn(msg string) bool {
	for _, c := range tb.keyCols() {
		if c.TgtName != c.Name && strings.Contains(msg+" ", " "+c.TgtName+" ") {
			return true
		}
	}
	return false
}
