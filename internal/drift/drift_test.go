package drift

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
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
			// UNLOGGED: no WAL for the pipeline's walsender to decode while
			// the benchmark measures.
			"CREATE UNLOGGED TABLE " + name + " (id int, part text, v numeric, note text, PRIMARY KEY (id, part))",
			fmt.Sprintf("INSERT INTO %s SELECT g, 'p' || (g %% 3), g / 8.0, 'ß' || g FROM generate_series(1, %d) g", name, rows),
			// VACUUM too: the visibility map is then set, so autovacuum has
			// nothing to do on these tables while a benchmark measures.
			"VACUUM ANALYZE " + name,
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
		Sides: func() (sqldialect.Side, sqldialect.Side, error) {
			return sqldialect.Side{DB: src, Dialect: sqldialect.Postgres{}, Table: name}, sqldialect.Side{DB: tgt, Dialect: sqldialect.Postgres{}, Table: name}, nil
		},
		Drift: config.Drift{SampleSize: sample, MinInterval: time.Minute, Budget: 10 * time.Second, RecheckMargin: 30 * time.Second},
		Wait:  fixedWait(30 * time.Second),
	}
}

// fixedWait stands for internal/lag's RecheckWait: a table whose lag is
// always 0, so the wait is the margin.
func fixedWait(d time.Duration) func(context.Context) (time.Duration, error) {
	return func(context.Context) (time.Duration, error) { return d, nil }
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

	s := NewSampler([]Table{table(src, tgt, name, 1000)}, nil)
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
	st := NewSampler([]Table{tb}, nil).Check(context.Background())["t"]
	if st.Err == nil {
		t.Fatal("a missing table gave no error")
	}
}

// Sampling by leading key value: asked for more keys than the key range
// holds, it draws every value, so the test knows which rows it must see;
// gaps in the range (ids 10, 20, ...) are topped up, and the compound
// key's leading column brings all rows of a drawn value from both sides.
func TestSampleByLeadingKeyFindsEveryKind(t *testing.T) {
	src, tgt, name := scratch(t, 300)
	ctx := context.Background()
	for _, db := range []*sql.DB{src, tgt} {
		// Through negatives: id * 10 in place would collide on the way.
		for _, q := range []string{"UPDATE " + name + " SET id = -id", "UPDATE " + name + " SET id = -id * 10"} {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, q := range []string{
		"DELETE FROM " + name + " WHERE id = 100",                       // missing
		"INSERT INTO " + name + " VALUES (105, 'p0', 1, 'only here')",   // extra, between two ids
		"INSERT INTO " + name + " VALUES (200, 'p9', 1, 'second part')", // extra, same leading value
		"UPDATE " + name + " SET note = 'x' WHERE id = 300",             // changed
	} {
		if _, err := tgt.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	tb := table(src, tgt, name, 0)
	s, g, _ := tb.Sides()
	plan, err := sqldialect.NewPlan(ctx, s, g, sqldialect.PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checked, found, keys, err := sampleByLeadingKey(ctx, plan, 100000, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if checked != 302 {
		t.Errorf("checked %d rows, want 302 (300 source rows, 2 only in the target)", checked)
	}
	got := map[string]string{}
	for enc, seen := range found {
		got[fmt.Sprint(keys[enc]["id"], "/", keys[enc]["part"])] = seen.kind()
	}
	want := map[string]string{"100/p1": Missing, "105/p0": Extra, "200/p9": Extra, "300/p0": Changed}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("found %v, want %v", got, want)
	}
}

// A table large enough is sampled by key, and the sample stays near
// 2 × sample_size rows when the leading key has gaps.
func TestSamplerByKeyOnLargeTable(t *testing.T) {
	src, tgt, name := scratch(t, smallTable+1000)
	for _, db := range []*sql.DB{src, tgt} {
		// Every third id left: two draws in three miss.
		if _, err := db.Exec("DELETE FROM " + name + " WHERE id % 3 <> 0"); err != nil {
			t.Fatal(err)
		}
	}
	s := NewSampler([]Table{table(src, tgt, name, 500)}, nil)
	// Seeded: how far the top-up rounds overshoot depends on the draws,
	// and an unseeded run could land outside the bounds now and then.
	s.tables[0].rnd = rand.New(rand.NewPCG(1, 2))
	st := s.Check(context.Background())["t"]
	if st.Err != nil {
		t.Fatal(st.Err)
	}
	if st.Checked < 900 || st.Checked > 1100 {
		t.Errorf("checked %v rows, want about 1000 (500 per side)", st.Checked)
	}
	if st.Pending != 0 {
		t.Errorf("%d suspects in identical tables", st.Pending)
	}
}

// Keys are matched on their canonical encoding: a uuid key that the sink
// stored as upper-case text, and a char(n) key it stored padded in text,
// are the same keys on both sides. Matched on text forms, every sampled
// row would be missing on one side and extra on the other.
func TestSamplerMatchesKeysWhateverTheirTextForm(t *testing.T) {
	src, tgt, name := scratch(t, 1)
	for _, q := range []struct {
		db *sql.DB
		q  string
	}{
		{src, "CREATE TABLE " + name + "_u (id uuid PRIMARY KEY, code char(6), v int)"},
		{tgt, "CREATE TABLE " + name + "_u (id text PRIMARY KEY, code text, v int)"},
		{src, "INSERT INTO " + name + "_u SELECT md5(g::text)::uuid, 'c' || g, g FROM generate_series(1, 50) g"},
		{tgt, "INSERT INTO " + name + "_u SELECT upper(md5(g::text)::uuid::text), rpad('c' || g, 6), g FROM generate_series(1, 50) g"},
		{src, "CREATE TABLE " + name + "_c (code char(6) PRIMARY KEY, v int)"},
		{tgt, "CREATE TABLE " + name + "_c (code text PRIMARY KEY, v int)"},
		{src, "INSERT INTO " + name + "_c SELECT 'c' || g, g FROM generate_series(1, 50) g"},
		{tgt, "INSERT INTO " + name + "_c SELECT rpad('c' || g, 6), g FROM generate_series(1, 50) g"},
		{tgt, "UPDATE " + name + "_c SET v = -1 WHERE code = 'c7    '"},
	} {
		if _, err := q.db.Exec(q.q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, db := range []*sql.DB{src, tgt} {
			db.Exec("DROP TABLE IF EXISTS " + name + "_u, " + name + "_c")
		}
	})
	for suffix, wantPending := range map[string]int{"_u": 0, "_c": 1} {
		tb := table(src, tgt, name+suffix, 100)
		st := NewSampler([]Table{tb}, nil).Check(context.Background())["t"]
		if st.Err != nil {
			t.Fatal(st.Err)
		}
		if st.Checked != 50 || st.Pending != wantPending {
			t.Errorf("%s: checked %v rows with %d suspects, want 50 with %d", suffix, st.Checked, st.Pending, wantPending)
		}
	}
}

// Tables keyed by a uuid or a string are sampled by page and looked up
// through the key's index: the plans PostgreSQL makes for the sampler's
// queries never scan the whole table.
func TestNonIntegerKeysNeverScanTheTable(t *testing.T) {
	src, tgt, name := scratch(t, 1)
	const rows = smallTable + 10000
	for _, db := range []*sql.DB{src, tgt} {
		for _, q := range []string{
			"CREATE TABLE " + name + "_uuid (id uuid PRIMARY KEY, v int)",
			fmt.Sprintf("INSERT INTO %s_uuid SELECT md5(g::text)::uuid, g FROM generate_series(1, %d) g", name, rows),
			"CREATE TABLE " + name + "_code (code varchar(20), n int, v int, PRIMARY KEY (code, n))",
			fmt.Sprintf("INSERT INTO %s_code SELECT 'c' || (g %% 5000), g / 5000, g FROM generate_series(1, %d) g", name, rows),
			"ANALYZE " + name + "_uuid", "ANALYZE " + name + "_code",
		} {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(func() {
		for _, db := range []*sql.DB{src, tgt} {
			db.Exec("DROP TABLE IF EXISTS " + name + "_uuid, " + name + "_code")
		}
	})
	ctx := context.Background()
	for _, suffix := range []string{"_uuid", "_code"} {
		tb := table(src, tgt, name+suffix, 100)
		s, g, _ := tb.Sides()
		plan, err := sqldialect.NewPlan(ctx, s, g, sqldialect.PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if byLeadingKey(plan, 100) {
			t.Fatalf("%s: sampled by integer leading key", suffix)
		}
		// A page sample of a small table can draw no page at all: draw
		// until some keys came.
		keys := map[string]sqldialect.Key{}
		for try := 0; try < 50 && len(keys) < 50; try++ {
			got, err := sampleKeys(ctx, plan, 1, 100)
			if err != nil {
				t.Fatal(err)
			}
			maps.Copy(keys, got)
		}
		if len(keys) < 50 {
			t.Fatalf("%s: sampled %d keys", suffix, len(keys))
		}
		lookup, err := lookupQuery(plan, 0, slices.Sorted(maps.Keys(keys)))
		if err != nil {
			t.Fatal(err)
		}
		for what, q := range map[string]string{"sample": sampleQuery(plan, 0, 100), "lookup": lookup} {
			var doc string
			if err := src.QueryRow("EXPLAIN (FORMAT JSON) " + q).Scan(&doc); err != nil {
				t.Fatalf("%s %s: %v\n%s", suffix, what, err, q)
			}
			if strings.Contains(doc, `"Seq Scan"`) {
				t.Errorf("%s %s scans the whole table:\n%s\n%s", suffix, what, q, doc)
			}
			want := `"Sample Scan"`
			if what == "lookup" {
				want = `Index`
			}
			if !strings.Contains(doc, want) {
				t.Errorf("%s %s: plan has no %s:\n%s", suffix, what, want, doc)
			}
		}
		// And the sampler finds the tables equal.
		st := NewSampler([]Table{tb}, nil).Check(ctx)["t"]
		if st.Err != nil || st.Pending != 0 {
			t.Errorf("%s: %+v", suffix, st)
		}
	}
}

// Sampling honours the filter and the soft-delete column: rows outside
// the filter and rows the sink marked deleted are neither drawn nor
// looked up.
func TestSamplerHonoursFilterAndSoftDeletes(t *testing.T) {
	src, tgt, name := scratch(t, 300)
	for _, db := range []*sql.DB{src, tgt} {
		if _, err := db.Exec("ALTER TABLE " + name + " ADD COLUMN __deleted text"); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		"UPDATE " + name + " SET note = 'other' WHERE part = 'p2'",        // outside the filter
		"INSERT INTO " + name + " VALUES (1000, 'p0', 1, 'gone', 'true')", // soft-deleted
		"UPDATE " + name + " SET __deleted = 'false' WHERE id < 100",      // live, said so
	} {
		if _, err := tgt.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	tb := table(src, tgt, name, 1000)
	tb.Sides = func() (sqldialect.Side, sqldialect.Side, error) {
		return sqldialect.Side{DB: src, Dialect: sqldialect.Postgres{}, Table: name, Filter: "part <> 'p2'"},
			sqldialect.Side{DB: tgt, Dialect: sqldialect.Postgres{}, Table: name, Filter: "part <> 'p2'", DeletedColumn: "__deleted"}, nil
	}
	tb.PlanOptions = sqldialect.PlanOptions{Ignore: []string{"__deleted"}}
	st := NewSampler([]Table{tb}, nil).Check(context.Background())["t"]
	if st.Err != nil {
		t.Fatal(st.Err)
	}
	if st.Checked != 200 || st.Pending != 0 {
		t.Errorf("checked %v rows with %d suspects, want the 200 rows in scope and none", st.Checked, st.Pending)
	}
}

// A confirmed mismatch is recorded with its key and, for a changed row,
// the names of the columns that differ (never their values); a check
// records at most maxRecorded rows one by one and counts the rest.
func TestSamplerRecordsChangedColumnsOfConfirmedMismatches(t *testing.T) {
	src, tgt, name := scratch(t, 100)
	for _, q := range []string{
		"UPDATE " + name + " SET v = 4242, note = 'secret-value' WHERE id = 7", // changed: v, note
		"UPDATE " + name + " SET note = NULL WHERE id = 8",                     // changed: note
		"DELETE FROM " + name + " WHERE id = 1",                                // missing
		// 25 more changed rows: past the per-check bound. Rows are recorded
		// by kind, then encoded key: 1, 7 and 8 are among the first 20.
		"UPDATE " + name + " SET v = -1 WHERE id BETWEEN 75 AND 99",
	} {
		if _, err := tgt.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	var buf strings.Builder
	// Without the time: its digits could spell a column value (4242).
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: noTime}))
	s := NewSampler([]Table{table(src, tgt, name, 1000)}, logger)
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s.now = c.now
	if st := s.Check(context.Background())["t"]; st.Err != nil || st.Pending != 28 {
		t.Fatalf("first check: %d pending, err %v; want 28 pending", st.Pending, st.Err)
	}
	if buf.Len() != 0 {
		t.Fatalf("suspects recorded before their recheck: %s", buf.String())
	}
	c.t = c.t.Add(time.Minute)
	if st := s.Check(context.Background())["t"]; st.Err != nil || st.Mismatched[Changed] != 27 || st.Mismatched[Missing] != 1 {
		t.Fatalf("recheck: %+v", st)
	}
	type record struct {
		Msg      string `json:"msg"`
		Count    int    `json:"count"`
		Mismatch struct {
			Table   string         `json:"table"`
			Kind    string         `json:"kind"`
			Key     map[string]any `json:"key"`
			Columns []string       `json:"columns"`
		} `json:"mismatch"`
	}
	got := map[string]string{}
	var records, summary int
	for line := range strings.Lines(buf.String()) {
		var r record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		if r.Mismatch.Kind == "" {
			summary += r.Count
			continue
		}
		records++
		got[fmt.Sprint(r.Mismatch.Key["id"])] = fmt.Sprintf("%s %s %v", r.Mismatch.Table, r.Mismatch.Kind, r.Mismatch.Columns)
	}
	if records != maxRecorded || summary != 28-maxRecorded {
		t.Errorf("%d rows recorded and %d counted in a summary, want %d and %d", records, summary, maxRecorded, 28-maxRecorded)
	}
	for id, want := range map[string]string{"7": "t changed [v note]", "8": "t changed [note]", "1": "t missing []"} {
		if got[id] != want {
			t.Errorf("id %s recorded as %q, want %q", id, got[id], want)
		}
	}
	for _, v := range []string{"secret-value", "4242"} {
		if strings.Contains(buf.String(), v) {
			t.Errorf("a column value (%s) reached the log: %s", v, buf.String())
		}
	}
}

// A column the target lacks is left out while the rest is sampled; once
// the sink adds it, the next check compares it too.
func TestSamplerComparesAColumnOnceTheTargetHasIt(t *testing.T) {
	src, tgt, name := scratch(t, 50)
	for _, q := range []string{"ALTER TABLE " + name + " ADD COLUMN added text", "UPDATE " + name + " SET added = 'a' || id"} {
		if _, err := src.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	s := NewSampler([]Table{table(src, tgt, name, 1000)}, nil)
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s.now = c.now
	st := s.Check(context.Background())["t"]
	if st.Err != nil || st.Checked != 50 || st.Pending != 0 {
		t.Fatalf("with the column missing in the target: checked %v, %d pending, err %v; want the 50 rows compared on the other columns", st.Checked, st.Pending, st.Err)
	}
	// The sink adds the column; the rows already there keep NULL.
	if _, err := tgt.Exec("ALTER TABLE " + name + " ADD COLUMN added text"); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(2 * time.Minute)
	if st = s.Check(context.Background())["t"]; st.Err != nil || st.Pending != 50 {
		t.Errorf("after the target got the column: %d pending, err %v; want every row suspect in it", st.Pending, st.Err)
	}
}
