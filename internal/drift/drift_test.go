package drift

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

func scratch(t testing.TB, rows int) (src, tgt *sql.DB, name string) {
	t.Helper()
	p := testenv.Need(t)
	var err error
	if src, err = sql.Open("pgx", p.SourceDSN); err != nil {
		t.Fatal(err)
	}
	if tgt, err = sql.Open("pgx", p.TargetDSN); err != nil {
		t.Fatal(err)
	}
	name = fmt.Sprintf("public.drift_test_%d", time.Now().UnixNano())
	for _, db := range []*sql.DB{src, tgt} {
		for _, q := range []string{
			"CREATE TABLE " + name + " (id int, part text, v numeric, note text, PRIMARY KEY (id, part))",
			fmt.Sprintf("INSERT INTO %s SELECT g, 'p' || (g %% 3), g / 8.0, 'ß' || g FROM generate_series(1, %d) g", name, rows),
			"ANALYZE " + name,
		} {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(func() {
		src.Exec("DROP TABLE IF EXISTS " + name)
		tgt.Exec("DROP TABLE IF EXISTS " + name)
		src.Close()
		tgt.Close()
	})
	return src, tgt, name
}

func table(src, tgt *sql.DB, name string, sample int) Table {
	return Table{
		Name: "t",
		Sides: func() (rowhash.Side, rowhash.Side, error) {
			return rowhash.Side{DB: src, Dialect: rowhash.Postgres{}, Table: name}, rowhash.Side{DB: tgt, Dialect: rowhash.Postgres{}, Table: name}, nil
		},
		Drift: config.Drift{SampleSize: sample, MinInterval: time.Minute, Budget: 10 * time.Second, RecheckMargin: 30 * time.Second},
	}
}

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// With a sample as large as the table every row is checked, so the test
// knows exactly which differences the sampler must see.
func TestSamplerConfirmsOnlyPersistentDifferences(t *testing.T) {
	src, tgt, name := scratch(t, 200)
	mustExec := func(db *sql.DB, q string) {
		t.Helper()
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	mustExec(tgt, "DELETE FROM "+name+" WHERE id = 10")                     // missing
	mustExec(tgt, "INSERT INTO "+name+" VALUES (1000, 'x', 1, NULL)")       // extra
	mustExec(tgt, "UPDATE "+name+" SET note = NULL WHERE id = 20")          // changed
	mustExec(tgt, "UPDATE "+name+" SET v = 99 WHERE id = 30")               // in flight: fixed before the recheck
	mustExec(tgt, "UPDATE "+name+" SET v = v::numeric(20,6) WHERE id = 40") // scale only: equal

	s := NewSampler([]Table{table(src, tgt, name, 1000)})
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s.now = c.now
	st := s.Check(context.Background())["t"]
	if st.Err != nil {
		t.Fatal(st.Err)
	}
	if st.Checked != 201 {
		t.Errorf("checked %v rows, want 201", st.Checked)
	}
	if st.Pending != 4 {
		t.Errorf("%d suspects pending, want 4", st.Pending)
	}
	for _, k := range Kinds {
		if st.Mismatched[k] != 0 {
			t.Errorf("%s counted before any recheck", k)
		}
	}

	// The replicated fix lands before the recheck is due.
	mustExec(tgt, "UPDATE "+name+" SET v = 30 / 8.0 WHERE id = 30")
	c.t = c.t.Add(10 * time.Second)
	if st = s.Check(context.Background())["t"]; st.Pending != 4 || st.Mismatched[Changed] != 0 {
		t.Fatalf("recheck ran before lag + margin: %+v", st)
	}
	c.t = c.t.Add(30 * time.Second)
	st = s.Check(context.Background())["t"]
	if st.Err != nil {
		t.Fatal(st.Err)
	}
	want := map[string]float64{Missing: 1, Extra: 1, Changed: 1}
	for _, k := range Kinds {
		if st.Mismatched[k] != want[k] {
			t.Errorf("%s: %v confirmed, want %v", k, st.Mismatched[k], want[k])
		}
	}
	if st.Pending != 0 {
		t.Errorf("%d suspects still pending", st.Pending)
	}
	if st.Ratio <= 0 || st.Ratio > 0.02 {
		t.Errorf("ratio %v, want 3/201", st.Ratio)
	}
	// Within min_interval no new sample is drawn: the cache serves.
	if st2 := s.Check(context.Background())["t"]; st2.Checked != st.Checked {
		t.Errorf("sampled again within min_interval: %v → %v", st.Checked, st2.Checked)
	}
}

func TestSamplerReportsErrorsAndKeepsCache(t *testing.T) {
	src, tgt, name := scratch(t, 10)
	tb := table(src, tgt, name+"_absent", 10)
	st := NewSampler([]Table{tb}).Check(context.Background())["t"]
	if st.Err == nil {
		t.Fatal("a missing table gave no error")
	}
}
