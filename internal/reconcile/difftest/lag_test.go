package difftest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/lag"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// lagWorld is a table whose source rows carry their change time
// (source_timestamp_column) and whose target rows carry the change time
// the sink applied (__source_ts_ms, Debezium's ts_ms).
type lagWorld struct {
	t        *testing.T
	ctx      context.Context
	src, tgt *database.DB
	name     string
	// changes are the source changes in order: the row and its time.
	changes []lagChange
}

type lagChange struct {
	id int
	at time.Time
}

func openDB(t *testing.T, name, dsn string) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), config.Database{Name: name, Driver: config.DriverPostgres, DSN: config.Secret(dsn), MaxOpenConns: 2, QueryTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func (w *lagWorld) exec(db *database.DB, q string, args ...any) {
	w.t.Helper()
	pool, err := db.Pool()
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := pool.ExecContext(w.ctx, q, args...); err != nil {
		w.t.Fatalf("%s %v: %v", q, args, err)
	}
}

// sourceNow is the source database's clock, which lag is measured on.
func (w *lagWorld) sourceNow() time.Time {
	w.t.Helper()
	pool, err := w.src.Pool()
	if err != nil {
		w.t.Fatal(err)
	}
	var now time.Time
	if err := pool.QueryRowContext(w.ctx, "SELECT clock_timestamp()").Scan(&now); err != nil {
		w.t.Fatal(err)
	}
	return now
}

// apply is the sink delivering change i: the row as it was then, with
// the change's time as its watermark.
func (w *lagWorld) apply(i int) {
	c := w.changes[i]
	w.exec(w.tgt, "INSERT INTO "+w.name+` (id, v, "__source_ts_ms") VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET v = excluded.v, "__source_ts_ms" = excluded."__source_ts_ms"`, c.id, i, c.at.UnixMilli())
}

// truth is, from the rows themselves: the newest change the target
// applied (max of its watermark), and the oldest source row changed after
// it, at the millisecond resolution of ts_ms; pending is false when
// there is none. A row changed twice shows only its last change, as the
// source table does.
func (w *lagWorld) truth(applied int) (oldest time.Time, pending bool) {
	latest := map[int]time.Time{}
	for _, c := range w.changes {
		latest[c.id] = c.at
	}
	var wm int64 = -1 << 62
	for i := range applied {
		wm = max(wm, w.changes[i].at.UnixMilli())
	}
	for _, at := range latest {
		if at.UnixMilli() > wm && (!pending || at.Before(oldest)) {
			oldest, pending = at, true
		}
	}
	return oldest, pending
}

// TestLagIsZeroExactlyWhenCaughtUp: on random change histories with the
// sink stopped at a random point, cdc_table_lag_seconds's reading is 0
// exactly when every change is applied, and otherwise the age of the
// oldest change not applied on the source's clock, growing while the
// sink stays stalled; once the sink catches up it is 0 again.
func TestLagIsZeroExactlyWhenCaughtUp(t *testing.T) {
	p := testenv.Need(t)
	dbs := map[string]*database.DB{"src": openDB(t, "src", p.SourceDSN), "tgt": openDB(t, "tgt", p.TargetDSN)}
	reader := lag.NewReader(dbs, nil)
	eachSeed(t, func(t *testing.T, ctx context.Context, seed uint64, r *rand.Rand, _ *func() string) {
		w := &lagWorld{t: t, ctx: ctx, src: dbs["src"], tgt: dbs["tgt"], name: fmt.Sprintf("public.diff_lag_%d_%d", seed, time.Now().UnixNano()%1_000_000)}
		w.exec(w.src, "CREATE TABLE "+w.name+` (id int PRIMARY KEY, v int, "UpdatedAt" timestamptz(3))`)
		w.exec(w.tgt, "CREATE TABLE "+w.name+` (id int PRIMARY KEY, v int, "__source_ts_ms" bigint)`)
		t.Cleanup(func() {
			w.ctx = context.Background() // the case's own has ended
			w.exec(w.src, "DROP TABLE IF EXISTS "+w.name)
			w.exec(w.tgt, "DROP TABLE IF EXISTS "+w.name)
		})
		// Changes spread over the last minutes (inserts, updates, the
		// same row again), at the source's clock.
		n := 5 + r.IntN(40)
		// Whole milliseconds, as the column (timestamptz(3)) and
		// ts_ms hold them.
		at := w.sourceNow().Add(-time.Duration(n) * 3 * time.Second).Truncate(time.Millisecond)
		rows := 0
		for range n {
			at = at.Add(time.Duration(r.IntN(3000)) * time.Millisecond)
			id := rows
			if rows > 0 && r.IntN(2) == 0 {
				id = r.IntN(rows)
			} else {
				rows++
			}
			w.changes = append(w.changes, lagChange{id: id, at: at})
			w.exec(w.src, "INSERT INTO "+w.name+` VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET v = excluded.v, "UpdatedAt" = excluded."UpdatedAt"`, id, len(w.changes), at)
		}
		applied := 1 + r.IntN(n) // the sink stalls after this many
		if r.IntN(4) == 0 {
			applied = n
		}
		for i := range applied {
			w.apply(i)
		}
		tb := config.Table{Name: "harness", Source: config.TableRef{Database: "src", Table: w.name}, Target: config.TableRef{Database: "tgt", Table: w.name},
			WatermarkColumn: "__source_ts_ms", SourceTimestampColumn: "UpdatedAt"}
		read := func() lag.Reading {
			t.Helper()
			rd, err := reader.Read(ctx, tb, nil)
			if err != nil {
				t.Fatalf("lag: %v", err)
			}
			return rd
		}
		oldest, pending := w.truth(applied)
		before := w.sourceNow()
		rd := read()
		after := w.sourceNow()
		switch {
		case !rd.Known:
			t.Errorf("[lag-known] lag unknown (%+v) with %d of %d changes applied", rd, applied, n)
		case !pending && rd.Lag != 0:
			t.Errorf("[lag-caught-up] every change applied (%d of %d), yet the lag reads %v", applied, n, rd.Lag)
		case pending && rd.Lag == 0:
			t.Errorf("[lag-pending] %d of %d changes applied, the oldest pending at %v, yet the lag reads 0", applied, n, oldest)
		case pending && (rd.Lag < before.Sub(oldest)-time.Millisecond || rd.Lag > after.Sub(oldest)+time.Millisecond):
			t.Errorf("[lag-age] lag %v, want the age of the oldest pending change (%v): between %v and %v", rd.Lag, oldest, before.Sub(oldest), after.Sub(oldest))
		}
		if pending && rd.Lag > 0 {
			// Stalled: the reading grows, however quiet the source.
			first := rd.Lag
			deadline := time.Now().Add(20 * time.Second)
			for rd = read(); rd.Lag <= first; rd = read() {
				if time.Now().After(deadline) {
					t.Fatalf("[lag-grows] the sink is stalled, yet the lag stays at %v", rd.Lag)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		// The sink catches up: 0, exactly.
		for i := applied; i < n; i++ {
			w.apply(i)
		}
		if rd = read(); !rd.Known || rd.Lag != 0 {
			t.Errorf("[lag-caught-up] the sink caught up, yet the lag reads %+v", rd)
		}
	})
}
