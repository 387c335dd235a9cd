package lag

import (
	"context"
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
		db, err := database.Open(ctx, config.Database{Name: name, Driver: config.DriverPostgres, DSN: config.Secret(dsn), MaxOpenConns: 2, QueryTimeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
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
	db, err := database.Open(ctx, config.Database{Name: "src", Driver: config.DriverPostgres, DSN: config.Secret(p.SourceDSN), MaxOpenConns: 1, QueryTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pool, err := db.Pool()
	if err != nil {
		t.Fatal(err)
	}
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
