package difftest

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/drift"
	"github.com/cdc-sentinel/cdc-sentinel/internal/lag"
	"github.com/cdc-sentinel/cdc-sentinel/internal/reconcile"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// hotWorld is a table behind a sink that stalls while one row is updated
// again and again: the source stamps each change with its own clock
// ("UpdatedAt", the lag's source_timestamp_column), the sink writes the
// row with that change's time as its watermark (__source_ts_ms).
type hotWorld struct {
	*lagWorld
	// row is each row's source state: its value and change time.
	row map[int]lagChange
	v   map[int]int
}

// change writes row id at the source now, on the source's clock at
// millisecond resolution, as the column holds it.
func (w *hotWorld) change(id int) {
	w.t.Helper()
	at := w.sourceNow().Truncate(time.Millisecond)
	if prev, ok := w.row[id]; ok && !at.After(prev.at) {
		at = prev.at.Add(time.Millisecond)
	}
	w.v[id]++
	w.row[id] = lagChange{id: id, at: at}
	w.exec(w.src, "INSERT INTO "+w.name+` VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET v = excluded.v, "UpdatedAt" = excluded."UpdatedAt"`, id, w.v[id], at)
}

// land is the sink applying row id's current source state.
func (w *hotWorld) land(id int) {
	c := w.row[id]
	w.exec(w.tgt, "INSERT INTO "+w.name+` (id, v, "UpdatedAt", "__source_ts_ms") VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET v = excluded.v, "UpdatedAt" = excluded."UpdatedAt", "__source_ts_ms" = excluded."__source_ts_ms"`, id, w.v[id], c.at, c.at.UnixMilli())
}

// truth compares both tables directly: the ids whose rows differ
// (missing, extra or changed), read as text.
func (w *hotWorld) truth() []string {
	w.t.Helper()
	read := func(db *database.DB) map[string]string {
		pool, err := db.Pool()
		if err != nil {
			w.t.Fatal(err)
		}
		rows, err := pool.QueryContext(w.ctx, `SELECT id::text, coalesce(v::text, 'N') || '|' || coalesce("UpdatedAt"::text, 'N') FROM `+w.name)
		if err != nil {
			w.t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]string{}
		for rows.Next() {
			var id, row string
			if err := rows.Scan(&id, &row); err != nil {
				w.t.Fatal(err)
			}
			out[id] = row
		}
		return out
	}
	src, tgt := read(w.src), read(w.tgt)
	var out []string
	for id := range maps.Keys(src) {
		if tgt[id] != src[id] {
			out = append(out, id)
		}
	}
	for id := range maps.Keys(tgt) {
		if _, ok := src[id]; !ok {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func ids(keys []sqldialect.Key) []string {
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprint(k["id"]))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestHotRowBehindAStalledSink: the sink stalls while one row is updated
// again and again (and, in some cases, another row drifts in the
// target). While stalled, the lag is the age of the hot row's first
// unapplied change on the source's clock and grows; drift, waiting as
// lag.RecheckWait says, confirms nothing, not even once the row goes
// quiet with the sink still stalled; reconcile reports exactly the rows
// the oracle finds differing, and repair re-sends them and deletes
// nothing. When the sink lands every change, the lag is 0, drift
// confirms only the drifted row, and after the repair's snapshots both
// tables are equal.
func TestHotRowBehindAStalledSink(t *testing.T) {
	p := testenv.Need(t)
	dbs := map[string]*database.DB{"src": openDB(t, "src", p.SourceDSN), "tgt": openDB(t, "tgt", p.TargetDSN)}
	reader := lag.NewReader(dbs, nil)
	eachSeed(t, func(t *testing.T, ctx context.Context, seed uint64, r *rand.Rand, describe *func() string) {
		name := fmt.Sprintf("public.diff_hot_%d_%d", seed, time.Now().UnixNano()%1_000_000)
		w := &hotWorld{lagWorld: &lagWorld{t: t, ctx: ctx, src: dbs["src"], tgt: dbs["tgt"], name: name}, row: map[int]lagChange{}, v: map[int]int{}}
		w.exec(w.src, "CREATE TABLE "+name+` (id int PRIMARY KEY, v int, "UpdatedAt" timestamptz(3))`)
		w.exec(w.tgt, "CREATE TABLE "+name+` (id int PRIMARY KEY, v int, "UpdatedAt" timestamptz(3), "__source_ts_ms" bigint)`)
		t.Cleanup(func() {
			w.ctx = context.Background()
			w.exec(w.src, "DROP TABLE IF EXISTS "+name)
			w.exec(w.tgt, "DROP TABLE IF EXISTS "+name)
		})
		n := 3 + r.IntN(20)
		for id := range n {
			w.change(id)
			w.land(id)
		}
		hot, drifted := r.IntN(n), -1
		rounds := 3 + r.IntN(6)
		if r.IntN(2) == 0 {
			drifted = (hot + 1 + r.IntN(n-1)) % n
		}
		*describe = func() string {
			return fmt.Sprintf("%d rows, row %d hot for %d updates, row %d drifted (-1: none)", n, hot, rounds, drifted)
		}
		tb := config.Table{Name: "hot", Source: config.TableRef{Database: "src", Table: name}, Target: config.TableRef{Database: "tgt", Table: name},
			WatermarkColumn: "__source_ts_ms", SourceTimestampColumn: "UpdatedAt"}
		read := func() lag.Reading {
			t.Helper()
			rd, err := reader.Read(ctx, tb, nil)
			if err != nil || !rd.Known {
				t.Fatalf("lag: %+v, %v", rd, err)
			}
			return rd
		}
		if rd := read(); rd.Lag != 0 {
			t.Fatalf("[hot-caught-up] every change applied, yet the lag reads %v", rd.Lag)
		}
		log := &confirmations{}
		sides := func() (sqldialect.Side, sqldialect.Side, error) {
			return sqldialect.Side{DB: mustPool(t, w.src), Dialect: sqldialect.Postgres{}, Table: name},
				sqldialect.Side{DB: mustPool(t, w.tgt), Dialect: sqldialect.Postgres{}, Table: name}, nil
		}
		sampler := drift.NewSampler([]drift.Table{{
			Name: "hot", Sides: sides,
			Drift: config.Drift{SampleSize: 1000, MinInterval: time.Hour, Budget: time.Minute},
			Wait:  reader.RecheckWaitFunc(tb),
		}}, slog.New(log))
		check := func(when string) {
			t.Helper()
			if st := sampler.Check(ctx)["hot"]; st.Err != nil {
				t.Fatalf("drift %s: %v", when, st.Err)
			}
		}
		noConfirmation := func(when string) {
			t.Helper()
			if got := ids(log.keys); len(got) > 0 {
				t.Errorf("[hot-drift-confirmed] %s, drift confirmed %v while the sink was stalled", when, got)
			}
		}

		// The sink stalls; the row is updated again and again.
		if drifted >= 0 {
			w.exec(w.tgt, "UPDATE "+name+" SET v = v + 1000 WHERE id = $1", drifted)
		}
		w.change(hot)
		first := w.row[hot].at
		check("at the first sample")
		prev := time.Duration(0)
		for i := range rounds {
			before := w.sourceNow()
			rd := read()
			after := w.sourceNow()
			if rd.Lag < before.Sub(first)-time.Millisecond || rd.Lag > after.Sub(first)+time.Millisecond {
				t.Errorf("[hot-lag-age] round %d: lag %v, want the age of the first unapplied change (%v): between %v and %v", i, rd.Lag, first, before.Sub(first), after.Sub(first))
			}
			if rd.Lag <= prev {
				t.Errorf("[hot-lag-grows] round %d: lag %v, not more than the %v before, with the sink stalled", i, rd.Lag, prev)
			}
			prev = rd.Lag
			check(fmt.Sprintf("in round %d", i))
			noConfirmation(fmt.Sprintf("in round %d of %d", i, rounds))
			w.change(hot)
			time.Sleep(time.Duration(5+r.IntN(20)) * time.Millisecond)
		}
		// The row goes quiet, the sink still stalled: rechecks come due
		// (each waited the lag read when the row was last seen), and must
		// still not confirm a row whose change has not landed.
		quiet := time.Now().Add(2*prev + 200*time.Millisecond)
		for time.Now().Before(quiet) {
			check("with the row quiet")
			time.Sleep(10 * time.Millisecond)
		}
		noConfirmation("with the row quiet")
		if rd := read(); rd.Lag <= prev {
			t.Errorf("[hot-lag-grows] quiet: lag %v, not more than the %v before, with the sink stalled", rd.Lag, prev)
		}

		// Reconcile and repair, while stalled, against the oracle.
		srcSide, tgtSide, _ := sides()
		plan, err := sqldialect.NewPlan(ctx, srcSide, tgtSide, sqldialect.PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := reconcile.New("hot", plan, reconcile.Options{LeafRows: []int{0, 4}[r.IntN(2)]}).Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := w.truth()
		got := ids(slices.Concat(rep.MissingInTarget, rep.ExtraInTarget, rep.Changed, rep.DuplicateInTarget))
		if !slices.Equal(got, want) || len(rep.Changed) != len(want) {
			t.Errorf("[hot-reconcile] reconcile found %v (changed %v), the oracle %v", got, ids(rep.Changed), want)
		}
		sig := &snapshots{}
		res, err := reconcile.Repair(ctx, plan, rep, reconcile.RepairOptions{Signaler: sig, DataCollection: name, DeleteExtra: true})
		if err != nil {
			t.Fatalf("repair: %v", err)
		}
		if res.RowsDeleted != 0 || res.RowsResent != len(want) {
			t.Errorf("[hot-repair] repair deleted %d and re-sent %d rows; the oracle has %v differing, none to delete", res.RowsDeleted, res.RowsResent, want)
		}

		// The sink lands every change: lag 0, and drift confirms the
		// drifted row only (its source never changed).
		w.land(hot)
		if rd := read(); rd.Lag != 0 {
			t.Errorf("[hot-caught-up] the sink landed every change, yet the lag reads %v", rd.Lag)
		}
		deadline := time.Now().Add(20 * time.Second)
		for st := sampler.Check(ctx)["hot"]; st.Pending > 0; st = sampler.Check(ctx)["hot"] {
			if st.Err != nil || time.Now().After(deadline) {
				t.Fatalf("drift still has %d rows pending (%v)", st.Pending, st.Err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		wantDrift := []string{}
		if drifted >= 0 {
			wantDrift = []string{strconv.Itoa(drifted)}
		}
		if got := ids(log.keys); !slices.Equal(got, wantDrift) && !(len(got) == 0 && len(wantDrift) == 0) {
			t.Errorf("[hot-drift] once landed, drift confirmed %v; want %v (the drifted row only)", got, wantDrift)
		}
		// The repair's snapshots: the rows re-sent, as the sink writes them.
		for _, f := range sig.filters {
			rows, err := mustPool(t, w.src).QueryContext(ctx, "SELECT id FROM "+name+" WHERE "+f)
			if err != nil {
				t.Fatalf("snapshot filter %q: %v", f, err)
			}
			for rows.Next() {
				var id int
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				w.land(id)
			}
			rows.Close()
		}
		if d := w.truth(); len(d) > 0 {
			t.Errorf("[hot-repair] after the repair's snapshots the oracle still finds %v differing", d)
		}
		if rd := read(); rd.Lag != 0 {
			t.Errorf("[hot-caught-up] after the repair, the lag reads %v", rd.Lag)
		}
	})
}

func mustPool(t *testing.T, db *database.DB) *sql.DB {
	t.Helper()
	pool, err := db.Pool()
	if err != nil {
		t.Fatal(err)
	}
	return pool
}
