package lag

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// change is one source change of a history: key's row is written at ts,
// or deleted.
type change struct {
	key     int
	ts      time.Time
	deleted bool
}

// history is a random run of inserts, updates (of the same row again,
// too) and deletes, at increasing times, some less than a millisecond
// apart.
func history(rng *rand.Rand, start time.Time) []change {
	var out []change
	alive := map[int]bool{}
	ts := start
	for range rng.IntN(40) + 1 {
		if rng.IntN(3) == 0 {
			ts = ts.Add(time.Duration(rng.IntN(900)+1) * time.Microsecond)
		} else {
			ts = ts.Add(time.Duration(rng.IntN(3000)+1) * time.Millisecond)
		}
		c := change{key: rng.IntN(12), ts: ts}
		c.deleted = alive[c.key] && rng.IntN(4) == 0
		alive[c.key] = !c.deleted
		out = append(out, c)
	}
	return out
}

// state replays changes: each live key's newest change time.
func state(changes []change) map[int]time.Time {
	rows := map[int]time.Time{}
	for _, c := range changes {
		if c.deleted {
			delete(rows, c.key)
		} else {
			rows[c.key] = c.ts
		}
	}
	return rows
}

// oracle is the truth, computed from the rows themselves: a live source
// row is pending when the target does not hold its version and its time
// is past the newest applied one at the millisecond, the resolution of
// Debezium's ts_ms (a delete leaves no time at either side). oldest is
// the earliest pending row's time.
func oracle(src, tgt map[int]time.Time) (oldest time.Time, pending, applied bool) {
	var wm time.Time
	for _, ts := range tgt {
		applied = true
		if ts.After(wm) {
			wm = ts
		}
	}
	for k, ts := range src {
		if got, ok := tgt[k]; ok && got.Equal(ts.Truncate(time.Millisecond)) {
			continue
		}
		if !ts.Truncate(time.Millisecond).After(wm) {
			continue
		}
		if !pending || ts.Before(oldest) {
			oldest, pending = ts, true
		}
	}
	return oldest, pending, applied
}

// column kinds a source timestamp or a watermark may have, and how a time
// is written into each.
var kinds = map[string]func(time.Time) any{
	"timestamptz": func(t time.Time) any { return t },
	"timestamp":   func(t time.Time) any { return t.UTC().Format("2006-01-02 15:04:05.999999") },
	"bigint":      func(t time.Time) any { return t.UnixMilli() },
}

// On random change histories applied up to a random point, on the local
// PostgreSQL, the lag is 0 exactly when the oracle says every change the
// target can show is applied, and otherwise the age of the oracle's
// oldest pending change on the source's clock, growing while nothing is
// applied. LAG_ORACLE_SEED replays one case.
func TestLagAgainstAnOracle(t *testing.T) {
	dsn := testenv.TempDatabase(t, "lag_oracle")
	ctx := context.Background()
	db, pool := openPostgres(t, "src", dsn, 2)
	r := NewReader(map[string]*database.DB{"src": db, "tgt": db}, nil)
	pgNow := func() time.Time { return sourceNow(t, db) }
	seeds := oracleSeeds(t, "LAG_ORACLE_SEED", 40)
	names := []string{"timestamptz", "timestamp", "bigint"}
	for _, seed := range seeds {
		rng := rand.New(rand.NewPCG(seed, seed))
		srcKind, tgtKind := names[rng.IntN(3)], names[rng.IntN(3)]
		changes := history(rng, pgNow().Add(-time.Hour))
		appliedUpTo := rng.IntN(len(changes) + 1)
		src, tgt := state(changes), state(changes[:appliedUpTo])
		for k, ts := range tgt {
			tgt[k] = ts.Truncate(time.Millisecond) // the sink's ts_ms
		}
		srcTable, tgtTable := fmt.Sprintf("src_%d", seed%1_000_000), fmt.Sprintf("tgt_%d", seed%1_000_000)
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := pool.ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("seed %d: %s: %v", seed, q, err)
			}
		}
		exec(fmt.Sprintf("CREATE TABLE %s (id int PRIMARY KEY, updated_at %s)", srcTable, srcKind))
		exec(fmt.Sprintf("CREATE INDEX ON %s (updated_at)", srcTable))
		exec(fmt.Sprintf("CREATE TABLE %s (id int PRIMARY KEY, wm %s)", tgtTable, tgtKind))
		exec(fmt.Sprintf("CREATE INDEX ON %s (wm)", tgtTable))
		for k, ts := range src {
			exec("INSERT INTO "+srcTable+" VALUES ($1, $2)", k, kinds[srcKind](ts))
		}
		for k, ts := range tgt {
			exec("INSERT INTO "+tgtTable+" VALUES ($1, $2)", k, kinds[tgtKind](ts))
		}
		tb := config.Table{Name: srcTable, Source: config.TableRef{Database: "src", Table: "public." + srcTable},
			Target: config.TableRef{Database: "tgt", Table: "public." + tgtTable}, WatermarkColumn: "wm", SourceTimestampColumn: "updated_at"}
		if srcKind == "bigint" {
			for k, ts := range src {
				src[k] = ts.Truncate(time.Millisecond)
			}
		}
		oldest, pending, applied := oracle(src, tgt)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Errorf("seed %d (LAG_ORACLE_SEED=%d replays it; source %s, watermark %s, %d changes, %d applied): %s", seed, seed, srcKind, tgtKind, len(changes), appliedUpTo, fmt.Sprintf(format, args...))
		}
		// The first read learns the source column's kind from its max();
		// the second goes straight to the oldest pending change.
		var last Reading
		for read := range 2 {
			before := pgNow()
			rd, err := r.Read(ctx, tb, nil)
			after := pgNow()
			switch {
			case err != nil:
				fail("read %d: %v", read, err)
			case pending && !applied:
				if !rd.Waiting || rd.Known {
					fail("read %d: nothing applied and a change pending: got %+v, want waiting", read, rd)
				}
			case !pending:
				if !rd.Known || rd.Lag != 0 {
					fail("read %d: caught up: got %+v, want exactly 0", read, rd)
				}
			case !rd.Known || rd.Lag < before.Sub(oldest) || rd.Lag > after.Sub(oldest):
				fail("read %d: oldest pending change at %v: got %+v, want its age on the source's clock, between %v and %v", read, oldest, rd, before.Sub(oldest), after.Sub(oldest))
			case read == 1 && rd.Lag <= last.Lag:
				// Stalled: nothing was applied, the source's clock moved on.
				fail("stalled: lag went from %v to %v, want it to grow", last.Lag, rd.Lag)
			}
			last = rd
			for !pgNow().After(after) {
			}
		}
		exec("DROP TABLE " + srcTable)
		exec("DROP TABLE " + tgtTable)
	}
}

// oracleSeeds are n fresh seeds, or the one the environment variable env
// names, to replay a failure.
func oracleSeeds(t *testing.T, env string, n int) []uint64 {
	t.Helper()
	if s := os.Getenv(env); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", env, err)
		}
		return []uint64{seed}
	}
	base := uint64(time.Now().UnixNano())
	seeds := make([]uint64, n)
	for i := range seeds {
		seeds[i] = base + uint64(i)
	}
	return seeds
}
