package lag

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// On the real PostgreSQL target, a watermark column of type timestamptz
// or timestamp gives the same lag as epoch milliseconds would.
func TestPipelineTimestampWatermarkColumns(t *testing.T) {
	p := testenv.Need(t)
	ctx := context.Background()
	open := func(name, dsn string) *database.DB {
		db, _ := openPostgres(t, name, dsn, 2)
		return db
	}
	dbs := map[string]*database.DB{"src": open("src", p.SourceDSN), "tgt": open("tgt", p.TargetDSN)}
	exec := func(db *database.DB, q string, args ...any) {
		t.Helper()
		pool, err := db.Pool()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pool.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	name := fmt.Sprintf("public.lag_wm_%d", time.Now().UnixNano())
	exec(dbs["src"], "CREATE TABLE "+name+" (id int PRIMARY KEY, updated_at timestamptz)")
	exec(dbs["tgt"], "CREATE TABLE "+name+" (id int PRIMARY KEY, wm_tz timestamptz, wm_ts timestamp, wm_ms bigint)")
	t.Cleanup(func() {
		exec(dbs["src"], "DROP TABLE IF EXISTS "+name)
		exec(dbs["tgt"], "DROP TABLE IF EXISTS "+name)
	})
	newest := time.Date(2024, 5, 1, 12, 0, 0, 123000000, time.UTC)
	applied := newest.Add(-90 * time.Second)
	exec(dbs["src"], "INSERT INTO "+name+" VALUES (1, $1)", newest)
	// timestamp without time zone holds the UTC wall clock, as a sink
	// writing ts_ms through a TimestampConverter does.
	exec(dbs["tgt"], "INSERT INTO "+name+" VALUES (1, $1, $2, $3)", applied, applied.Format("2006-01-02 15:04:05.000"), applied.UnixMilli())

	r := NewReader(dbs, nil)
	for _, col := range []string{"wm_tz", "wm_ts", "wm_ms"} {
		t.Run(col, func(t *testing.T) {
			tb := config.Table{Name: "t", Source: config.TableRef{Database: "src", Table: name}, Target: config.TableRef{Database: "tgt", Table: name},
				WatermarkColumn: col, SourceTimestampColumn: "updated_at"}
			// The source change at newest is not applied: the lag is its
			// age on the source's clock.
			before := sourceNow(t, dbs["src"])
			rd, err := r.Read(ctx, tb, nil)
			if err != nil {
				t.Fatal(err)
			}
			after := sourceNow(t, dbs["src"])
			if !rd.Known || rd.Lag < before.Sub(newest) || rd.Lag > after.Sub(newest) || !rd.LastApplied.Equal(applied) {
				t.Errorf("got %+v, want the age of %v and last applied %v", rd, newest, applied)
			}
			if d, err := r.RecheckWait(ctx, tb); err != nil || d < rd.Lag {
				t.Errorf("drift's wait %v, %v; want at least the lag %v", d, err, rd.Lag)
			}
		})
	}
}

// sourceNow is the database's clock.
// openPostgres opens dsn as a configured PostgreSQL database, closed
// when the test ends, and returns it with its pool.
func openPostgres(t *testing.T, name, dsn string, maxOpen int) (*database.DB, *sql.DB) {
	t.Helper()
	db, err := database.Open(context.Background(), config.Database{Name: name, Driver: config.DriverPostgres, DSN: config.Secret(dsn), MaxOpenConns: maxOpen, QueryTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	pool, err := db.Pool()
	if err != nil {
		t.Fatal(err)
	}
	return db, pool
}

func sourceNow(t *testing.T, db *database.DB) time.Time {
	t.Helper()
	pool, err := db.Pool()
	if err != nil {
		t.Fatal(err)
	}
	var now time.Time
	if err := pool.QueryRow("SELECT now()").Scan(&now); err != nil {
		t.Fatal(err)
	}
	return now
}

// The oldest pending change is read from the source timestamp's index
// (its first entry after the applied one), never by scanning the table.
func TestOldestPendingChangeIsAnIndexLookup(t *testing.T) {
	p := testenv.Need(t)
	ctx := context.Background()
	db, pool := openPostgres(t, "src", p.SourceDSN, 1)
	name := fmt.Sprintf("lag_plan_%d", time.Now().UnixNano())
	for _, q := range []string{
		"CREATE TABLE " + name + " (id int PRIMARY KEY, updated_at timestamptz NOT NULL, ts_ms bigint NOT NULL)",
		"INSERT INTO " + name + " SELECT g, now() - g * interval '1 s', g FROM generate_series(1, 50000) g",
		"CREATE INDEX ON " + name + " (updated_at)",
		"CREATE INDEX ON " + name + " (ts_ms)",
		"ANALYZE " + name,
	} {
		if _, err := pool.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() { _, _ = pool.ExecContext(ctx, "DROP TABLE IF EXISTS "+name) })
	for col, bound := range map[string]any{"updated_at": time.Now().Add(-time.Hour), "ts_ms": int64(25000)} {
		rows, err := pool.QueryContext(ctx, "EXPLAIN "+db.OldestAfterQuery("public."+name, col), bound)
		if err != nil {
			t.Fatal(err)
		}
		plan := ""
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan += line + "\n"
		}
		rows.Close()
		if !strings.Contains(plan, "Index Only Scan using") || strings.Contains(plan, "Seq Scan") {
			t.Errorf("%s: the oldest pending change is not read from the index:\n%s", col, plan)
		}
	}
}

// On the real PostgreSQL source, a slot's lag read from the positions
// the slots' read returns is what pg_wal_lsn_diff says: between its value
// just before the read and just after (the server's position moves on),
// against a slot of this test's own whose confirmed position stands still.
func TestPipelineSlotLagIsPgWalLsnDiff(t *testing.T) {
	p := testenv.Need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	db, pool := openPostgres(t, "src", p.SourceDSN, 2)
	slot := fmt.Sprintf("lag_slot_%d", time.Now().UnixNano())
	if _, err := pool.ExecContext(ctx, "SELECT pg_create_logical_replication_slot($1, 'test_decoding')", slot); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := pool.ExecContext(context.Background(), "SELECT pg_drop_replication_slot($1)", slot); err != nil {
			t.Errorf("dropping slot %s: %v", slot, err)
		}
	})
	// WAL the slot has not confirmed: a message no table holds.
	if _, err := pool.ExecContext(ctx, "SELECT pg_logical_emit_message(false, 'cdc-sentinel-test', repeat('x', 10000))"); err != nil {
		t.Fatal(err)
	}
	diff := func() (lag, confirmed float64) {
		t.Helper()
		q := `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::float8, pg_wal_lsn_diff(confirmed_flush_lsn, '0/0')::float8
FROM pg_replication_slots WHERE slot_name = $1`
		if err := pool.QueryRowContext(ctx, q, slot).Scan(&lag, &confirmed); err != nil {
			t.Fatal(err)
		}
		return lag, confirmed
	}
	before, confirmed := diff()
	slots, err := db.ReplicationSlots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := diff()
	for _, s := range slots {
		if s.Name != slot {
			continue
		}
		if s.ConfirmedFlush == nil || float64(*s.ConfirmedFlush) != confirmed {
			t.Errorf("confirmed_flush_lsn read as %v, want %.0f bytes", s.ConfirmedFlush, confirmed)
		}
		got, ok := SlotLagBytes(s)
		if !ok || before <= 0 || got < before || got > after {
			t.Errorf("slot lag %.0f (%v), want pg_wal_lsn_diff's, between %.0f and %.0f", got, ok, before, after)
		}
		t.Logf("slot lag %.0f bytes (pg_wal_lsn_diff %.0f before the read, %.0f after)", got, before, after)
		return
	}
	t.Fatalf("slot %s not among the slots read: %+v", slot, slots)
}
