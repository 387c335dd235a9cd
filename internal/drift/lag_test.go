package drift

import (
	"context"
	"database/sql"
	"testing"
	"time"
)

// A suspect is rechecked only after the wait internal/lag gives (the
// table's lag plus the margin): during a backlog, rows in flight are not
// confirmed as drift.
func TestRecheckWaitsWhatLagSays(t *testing.T) {
	src, tgt, name := scratch(t, 50)
	if _, err := tgt.Exec("DELETE FROM " + name + " WHERE id = 7"); err != nil {
		t.Fatal(err)
	}
	tb := table(src, tgt, name, 1000)
	calls := 0
	tb.Wait = func(context.Context) (time.Duration, error) { calls++; return 5*time.Minute + 30*time.Second, nil }
	s := NewSampler([]Table{tb}, nil)
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s.now = c.now
	if st := s.Check(context.Background())["t"]; st.Err != nil || st.Pending != 1 || calls != 1 {
		t.Fatalf("first check: %+v, lag read %d times", st, calls)
	}
	c.t = c.t.Add(31 * time.Second)
	if st := s.Check(context.Background())["t"]; st.Pending != 1 || st.Mismatched[Missing] != 0 {
		t.Fatalf("rechecked after the margin alone, during a 5 min backlog: %+v", st)
	}
	// The row lands with the backlog.
	mustExecDB(t, tgt, "INSERT INTO "+name+" SELECT * FROM (VALUES (7, 'p1', 7 / 8.0, 'ß7')) v")
	c.t = c.t.Add(5 * time.Minute)
	if st := s.Check(context.Background())["t"]; st.Pending != 0 || st.Mismatched[Missing] != 0 {
		t.Fatalf("a row that landed with the backlog was confirmed: %+v", st)
	}
}

func mustExecDB(t *testing.T, db *sql.DB, q string) {
	t.Helper()
	if _, err := db.Exec(q); err != nil {
		t.Fatal(err)
	}
}
