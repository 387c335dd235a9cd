package drift

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// pair creates a table on both sides from its own statements and drops it
// when the test ends.
func pair(t *testing.T, srcStmts, tgtStmts func(name string) []string) (src, tgt *sql.DB, name string) {
	t.Helper()
	src, tgt, base := scratch(t, 1)
	name = base + "_p"
	for db, stmts := range map[*sql.DB][]string{src: srcStmts(name), tgt: tgtStmts(name)} {
		for _, q := range stmts {
			mustExecDB(t, db, q)
		}
	}
	t.Cleanup(func() {
		src.Exec("DROP TABLE IF EXISTS " + name)
		tgt.Exec("DROP TABLE IF EXISTS " + name)
	})
	return src, tgt, name
}

// The row of the report, through the database: updated at the source
// every 0.5 s, each change applied at the target 0.3 s later, sampled at
// every 1 s scrape (each one 0.1 s after a change, so the target is always
// a change behind when sampled) for 40 s, rechecks 10 s later. The clock
// is the test's: each step applies what is due, then scrapes.
func TestBusyRowIsNeverConfirmedAgainstTheDatabase(t *testing.T) {
	create := func(name string) []string {
		return []string{
			"CREATE UNLOGGED TABLE " + name + " (id int PRIMARY KEY, v int)",
			"INSERT INTO " + name + " SELECT g, 0 FROM generate_series(1, 20) g",
		}
	}
	src, tgt, name := pair(t, create, create)
	tb := table(src, tgt, name, 1000)
	tb.Drift.MinInterval, tb.Wait = time.Second, fixedWait(10*time.Second)
	s := NewSampler([]Table{tb}, nil)
	start := time.Unix(1_700_000_000, 0)
	c := &clock{t: start}
	s.now = c.now
	ctx := context.Background()
	var st Stats
	for step := 1; step <= 400; step++ { // 0.1 s each
		c.t = start.Add(time.Duration(step) * 100 * time.Millisecond)
		if step%5 == 0 { // every 0.5 s
			mustExecDB(t, src, fmt.Sprintf("UPDATE %s SET v = %d WHERE id = 7", name, step/5))
		}
		if step%5 == 3 { // the change made 0.3 s ago lands
			mustExecDB(t, tgt, fmt.Sprintf("UPDATE %s SET v = %d WHERE id = 7", name, step/5))
		}
		if step%10 == 1 { // a scrape every second, 0.1 s after a change
			if st = s.Check(ctx)["t"]; st.Err != nil {
				t.Fatal(st.Err)
			}
			for _, k := range Kinds {
				if st.Mismatched[k] != 0 || st.Differing[k] != 0 {
					t.Fatalf("at %v the busy row was confirmed: %+v", c.t.Sub(start), st)
				}
			}
		}
	}
	if st.InFlight == 0 {
		t.Fatalf("no recheck found the row in flight: the test did not exercise it (%+v)", st)
	}
}

// A keyless target holding a row twice (an upsert that appended) is a
// duplicate, confirmed like any difference, and the alert's gauge drops at
// the first check after the extra copy is removed.
func TestKeylessTargetDuplicateIsConfirmedAndClosedByTheNextCleanCheck(t *testing.T) {
	src, tgt, name := pair(t,
		func(name string) []string {
			return []string{
				"CREATE UNLOGGED TABLE " + name + " (id int PRIMARY KEY, v text)",
				"INSERT INTO " + name + " SELECT g, 'v' || g FROM generate_series(1, 30) g",
			}
		},
		func(name string) []string {
			return []string{
				"CREATE UNLOGGED TABLE " + name + " (id int, v text)",
				"INSERT INTO " + name + " SELECT g, 'v' || g FROM generate_series(1, 30) g",
				"INSERT INTO " + name + " VALUES (12, 'v12')",
			}
		})
	tb := table(src, tgt, name, 1000)
	tb.Drift.MinInterval, tb.Wait = time.Minute, fixedWait(10*time.Second)
	s := NewSampler([]Table{tb}, nil)
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s.now = c.now
	ctx := context.Background()
	if st := s.Check(ctx)["t"]; st.Err != nil || st.Pending != 1 || st.Checked != 30 {
		t.Fatalf("first check: %+v", st)
	}
	c.t = c.t.Add(10 * time.Second)
	st := s.Check(ctx)["t"]
	if st.Err != nil || st.Mismatched[Duplicate] != 1 || st.Differing[Duplicate] != 1 {
		t.Fatalf("recheck: want one duplicate confirmed and open: %+v", st)
	}
	// Still there at the next check: still open, counted once.
	c.t = c.t.Add(time.Minute)
	if st = s.Check(ctx)["t"]; st.Err != nil || st.Mismatched[Duplicate] != 1 || st.Differing[Duplicate] != 1 {
		t.Fatalf("next check: %+v", st)
	}
	mustExecDB(t, tgt, "DELETE FROM "+name+" WHERE ctid = (SELECT max(ctid) FROM "+name+" WHERE id = 12)")
	c.t = c.t.Add(time.Minute)
	if st = s.Check(ctx)["t"]; st.Err != nil || st.Differing[Duplicate] != 0 || st.Pending != 0 {
		t.Fatalf("the first check after the repair still holds the row: %+v", st)
	}
}

// Drift sampling of a 200,000-row integer-keyed table reads its key range,
// its sampled keys and its rechecks through the key's index: not one
// sequential scan on either side over several checks
// (pg_stat_user_tables.seq_scan before and after). Each side's pool has
// one connection; a backend sends its counters in one go, so once a scan
// of a marker table made last on it shows, the table's counter includes
// everything done before it.
func TestDriftSamplingNeverScansAnIntegerKeyedTable(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 200,000 rows per side")
	}
	const rows = 200000
	create := func(name string) []string {
		return []string{
			"CREATE UNLOGGED TABLE " + name + "_m (x int)",
			"CREATE UNLOGGED TABLE " + name + " (id integer PRIMARY KEY, v int, note text)",
			fmt.Sprintf("INSERT INTO %s SELECT g, g %% 97, 'n' || g FROM generate_series(1, %d) g", name, rows),
			"VACUUM ANALYZE " + name,
		}
	}
	src, tgt, name := pair(t, create, create)
	// Differences everywhere in the range, so the checks also recheck and
	// name changed columns.
	mustExecDB(t, tgt, "DELETE FROM "+name+" WHERE id % 1000 = 7")
	mustExecDB(t, tgt, "UPDATE "+name+" SET note = 'x' WHERE id % 1000 = 9")
	for _, db := range []*sql.DB{src, tgt} {
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
	}
	seqScans := func(db *sql.DB, table string) int64 {
		t.Helper()
		var n int64
		if err := db.QueryRow("SELECT seq_scan FROM pg_stat_user_tables WHERE relid = $1::regclass", table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// settled scans the marker table, waits until the scan shows, and
	// returns the table's count then.
	marks := 0
	settled := func(db *sql.DB) int64 {
		t.Helper()
		mustExecDB(t, db, "SELECT count(*) FROM "+name+"_m")
		testenv.Eventually(t, 30*time.Second, func() bool { return seqScans(db, name+"_m") > int64(marks) },
			func() string { return "the marker scan never showed in pg_stat_user_tables" })
		return seqScans(db, name)
	}
	t.Cleanup(func() {
		src.Exec("DROP TABLE IF EXISTS " + name + "_m")
		tgt.Exec("DROP TABLE IF EXISTS " + name + "_m")
	})
	var before [2]int64
	for i, db := range []*sql.DB{src, tgt} {
		before[i] = settled(db)
	}
	marks++
	tb := table(src, tgt, name, 1000)
	tb.Drift.MinInterval, tb.Wait = time.Minute, fixedWait(10*time.Second)
	s := NewSampler([]Table{tb}, nil)
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s.now = c.now
	ctx := context.Background()
	var st Stats
	for range 5 {
		if st = s.Check(ctx)["t"]; st.Err != nil {
			t.Fatal(st.Err)
		}
		c.t = c.t.Add(10 * time.Second) // the suspects' recheck
		if st = s.Check(ctx)["t"]; st.Err != nil {
			t.Fatal(st.Err)
		}
		c.t = c.t.Add(time.Minute) // the next sample
	}
	if st.Checked < 5*1500 || st.Mismatched[Missing]+st.Mismatched[Changed] == 0 {
		t.Fatalf("the checks compared too little to say anything: %+v", st)
	}
	for i, db := range []*sql.DB{src, tgt} {
		if n := settled(db) - before[i]; n != 0 {
			t.Errorf("%s: %d sequential scans of the %d-row table during 5 drift samples and their rechecks, want 0", sqldialect.SideName(i), n, rows)
		} else {
			t.Logf("%s: 0 sequential scans during 5 drift samples and their rechecks (%v rows compared)", sqldialect.SideName(i), st.Checked)
		}
	}
}
