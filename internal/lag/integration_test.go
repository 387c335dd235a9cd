package lag

import (
	"context"
	"fmt"
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
			if d, err := r.Func(tb)(ctx); err != nil || d < rd.Lag {
				t.Errorf("drift's lag %v, %v; want at least %v", d, err, rd.Lag)
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
