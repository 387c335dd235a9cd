package difftest

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// world is one case's two tables: the source, written by the workload,
// and the target, written only by the simulated sink (and by the faults
// the case injects there).
type world struct {
	t        testing.TB
	ctx      context.Context
	r        *rand.Rand
	tb       *table
	src, tgt *sql.DB
	keys     [][]string // keys ever inserted at the source, text forms
	known    []string   // failures of known, unfixed defects (fail)
}

func (w *world) exec(db *sql.DB, q string, args ...any) {
	w.t.Helper()
	if _, err := db.ExecContext(w.ctx, q, args...); err != nil {
		w.t.Fatalf("%s %v: %v", q, args, err)
	}
}

// create makes both tables, dropped when the test ends.
func (w *world) create() {
	w.t.Helper()
	w.exec(w.src, w.tb.ddl(false))
	w.exec(w.tgt, w.tb.ddl(true))
	if os.Getenv("CDC_HARNESS_KEEP") == "1" {
		w.t.Logf("CDC_HARNESS_KEEP=1: %s is left in the source and %s in the target", w.tb.Name, w.tb.TgtName)
		return
	}
	w.t.Cleanup(func() {
		_, _ = w.src.ExecContext(context.Background(), "DROP TABLE IF EXISTS "+qt(w.tb.Name))
		_, _ = w.tgt.ExecContext(context.Background(), "DROP TABLE IF EXISTS "+qt(w.tb.TgtName))
	})
}

// keyWhere is the condition selecting a key by its text forms on one
// side; args start at $n.
func (w *world) keyWhere(target bool, n int) string {
	var parts []string
	for _, c := range w.tb.keyCols() {
		name := c.Name
		if target {
			name = c.TgtName
		}
		parts = append(parts, fmt.Sprintf("%s::text = $%d", qi(name), n))
		n++
	}
	return strings.Join(parts, " AND ")
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// insert writes a new row at the source and returns its key.
func (w *world) insert() []string {
	w.t.Helper()
	for {
		var names, params []string
		var args []any
		var key []string
		for _, c := range w.tb.Cols {
			v, ok := w.tb.value(w.r, c)
			names = append(names, qi(c.Name))
			params = append(params, fmt.Sprintf("$%d::text::%s", len(args)+1, c.Src))
			if ok {
				args = append(args, v)
			} else {
				args = append(args, nil)
			}
			if c.Key {
				key = append(key, v)
			}
		}
		q := "INSERT INTO " + qt(w.tb.Name) + " (" + strings.Join(names, ", ") + ") VALUES (" + strings.Join(params, ", ") + ") ON CONFLICT DO NOTHING RETURNING " + w.keyText(false)
		rows, err := w.src.QueryContext(w.ctx, q, args...)
		if err != nil {
			w.t.Fatalf("%s %v: %v", q, args, err)
		}
		got := scanTexts(w.t, rows, len(key))
		if len(got) == 1 {
			// The key as PostgreSQL prints it (a uuid in lower case).
			k := nonNull(got[0])
			w.keys = append(w.keys, k)
			return k
		}
	}
}

func nonNull(ns []sql.NullString) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.String
	}
	return out
}

func (w *world) keyText(target bool) string {
	var parts []string
	for _, c := range w.tb.keyCols() {
		name := c.Name
		if target {
			name = c.TgtName
		}
		parts = append(parts, qi(name)+"::text")
	}
	return strings.Join(parts, ", ")
}

// update changes a few non-key columns of key at the source; the filter
// column among them when region is set.
func (w *world) update(key []string, region bool) {
	w.t.Helper()
	var sets []string
	var args []any
	for _, c := range w.tb.Cols {
		if c.Key || (c.Region != region) || (!region && w.r.IntN(3) > 0) {
			continue
		}
		v, ok := w.tb.value(w.r, c)
		if c.Region {
			v = map[bool]string{true: "us", false: "eu"}[w.regionOf(key) == "eu"]
		}
		var a any
		if ok {
			a = v
		}
		args = append(args, a)
		sets = append(sets, fmt.Sprintf("%s = $%d::text::%s", qi(c.Name), len(args), c.Src))
	}
	if len(sets) == 0 {
		return
	}
	w.exec(w.src, "UPDATE "+qt(w.tb.Name)+" SET "+strings.Join(sets, ", ")+" WHERE "+w.keyWhere(false, len(args)+1), append(args, anys(key)...)...)
}

func (w *world) regionOf(key []string) string {
	for _, c := range w.tb.Cols {
		if c.Region {
			var s sql.NullString
			_ = w.src.QueryRowContext(w.ctx, "SELECT "+qi(c.Name)+" FROM "+qt(w.tb.Name)+" WHERE "+w.keyWhere(false, 1), anys(key)...).Scan(&s)
			return s.String
		}
	}
	return ""
}

func (w *world) delete(key []string) {
	w.t.Helper()
	w.exec(w.src, "DELETE FROM "+qt(w.tb.Name)+" WHERE "+w.keyWhere(false, 1), anys(key)...)
}

// sourceRow reads key's row at the source, every column as text; nil
// when the source has no such row.
func (w *world) sourceRow(key []string) []sql.NullString {
	w.t.Helper()
	var sel []string
	for _, c := range w.tb.Cols {
		sel = append(sel, qi(c.Name)+"::text")
	}
	rows, err := w.src.QueryContext(w.ctx, "SELECT "+strings.Join(sel, ", ")+" FROM "+qt(w.tb.Name)+" WHERE "+w.keyWhere(false, 1), anys(key)...)
	if err != nil {
		w.t.Fatal(err)
	}
	got := scanTexts(w.t, rows, len(sel))
	if len(got) == 0 {
		return nil
	}
	return got[0]
}

func scanTexts(t testing.TB, rows *sql.Rows, n int) [][]sql.NullString {
	t.Helper()
	defer rows.Close()
	var out [][]sql.NullString
	for rows.Next() {
		vals := make([]sql.NullString, n)
		dest := make([]any, n)
		for i := range vals {
			dest[i] = &vals[i]
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// apply is the simulated sink delivering key's current source state: an
// upsert of the row as the sink writes it (padded char, truncated
// milliseconds, the target's own column types), or its delete (a soft
// delete when the sink rewrites deletes).
func (w *world) apply(key []string) {
	w.t.Helper()
	row := w.sourceRow(key)
	tgt := qt(w.tb.TgtName)
	if row == nil {
		if w.tb.SoftDelete {
			w.exec(w.tgt, "UPDATE "+tgt+" SET __deleted = 'true' WHERE "+w.keyWhere(true, 1), anys(key)...)
		} else {
			w.exec(w.tgt, "DELETE FROM "+tgt+" WHERE "+w.keyWhere(true, 1), anys(key)...)
		}
		return
	}
	w.exec(w.tgt, "DELETE FROM "+tgt+" WHERE "+w.keyWhere(true, 1), anys(key)...)
	w.insertTarget(row)
}

// insertTarget appends row (source text forms) to the target as the
// sink writes it.
func (w *world) insertTarget(row []sql.NullString) {
	w.t.Helper()
	var names, params []string
	var args []any
	for i, c := range w.tb.Cols {
		if c.Absent {
			continue
		}
		names = append(names, qi(c.TgtName))
		params = append(params, fmt.Sprintf("$%d%s", len(args)+1, c.sinkCast()))
		if !row[i].Valid {
			args = append(args, nil)
			continue
		}
		v := row[i].String
		if c.PadChar {
			v = padTo(v, c.Width)
		}
		if c.TruncMillis {
			v = truncMillis(v)
		}
		args = append(args, v)
	}
	if w.tb.SoftDelete {
		names = append(names, "__deleted")
		params = append(params, "'false'")
	}
	w.exec(w.tgt, "INSERT INTO "+qt(w.tb.TgtName)+" ("+strings.Join(names, ", ")+") VALUES ("+strings.Join(params, ", ")+")", args...)
}

// truncMillis cuts a timestamp's or time's text form to whole
// milliseconds, as java.util.Date does in time.precision.mode=connect.
func truncMillis(v string) string {
	i := strings.IndexByte(v, '.')
	if i < 0 {
		return v
	}
	j := i + 1
	for j < len(v) && v[j] >= '0' && v[j] <= '9' {
		j++
	}
	if j-i-1 > 3 {
		return v[:i+4] + v[j:]
	}
	return v
}

// appendDuplicate appends a second copy of key's target row to a keyless
// target (an upsert that appended), sometimes with one value changed.
func (w *world) appendDuplicate(key []string) {
	w.t.Helper()
	row := w.sourceRow(key)
	if row == nil {
		return
	}
	w.insertTarget(row)
}

// corrupt changes one non-key value of key's target row directly: the
// drift the product exists to find.
func (w *world) corrupt(key []string) {
	w.t.Helper()
	var cands []column
	for _, c := range w.tb.Cols {
		if !c.Key && !c.Region && c.Kind != kJSONB && !c.Absent {
			cands = append(cands, c)
		}
	}
	if len(cands) == 0 {
		return
	}
	c := cands[w.r.IntN(len(cands))]
	v, ok := w.tb.value(w.r, c)
	var a any
	if ok {
		a = v
	}
	w.exec(w.tgt, fmt.Sprintf("UPDATE %s SET %s = $1%s WHERE %s", qt(w.tb.TgtName), qi(c.TgtName), c.sinkCast(), w.keyWhere(true, 2)), append([]any{a}, anys(key)...)...)
}

// sinkCast turns a parameter holding a source value's text form into
// c's target type as the sink writes it: through the source type when
// the target's loses values (a numeric rounded into an integer, text cut
// to a varchar(5), fractions rounded away), so it is stored, not refused.
func (c column) sinkCast() string {
	if c.Lossy != "" {
		return "::text::" + c.Src + "::" + c.Tgt
	}
	return "::text::" + c.Tgt
}

// workload runs a random workload at the source; the sink applies the
// changes in order up to a random point and then stalls, so the target
// ends caught up or behind. It returns whether the sink caught up.
func (w *world) workload(initial, ops int) (caughtUp bool) {
	w.t.Helper()
	for range initial {
		w.apply(w.insert())
	}
	applied := ops
	if w.r.IntN(4) > 0 {
		applied = w.r.IntN(ops + 1)
	}
	var last []string
	pick := func() []string {
		if len(w.keys) == 0 {
			return w.insert()
		}
		return w.keys[w.r.IntN(len(w.keys))]
	}
	for i := range ops {
		var key []string
		sinkOp := true
		switch n := w.r.IntN(100); {
		case n < 30:
			key = w.insert()
		case n < 55:
			key = pick()
			w.update(key, false)
		case n < 65 && last != nil:
			key = last // the same row updated again
			w.update(key, false)
		case n < 75:
			key = pick()
			w.delete(key)
		case n < 85 && w.tb.Filter:
			key = pick()
			w.update(key, true) // the filter column changes
		case n < 92 && w.tb.Keyless:
			key, sinkOp = pick(), false
			w.appendDuplicate(key)
		default:
			key, sinkOp = pick(), false
			w.corrupt(key)
		}
		last = key
		if sinkOp && i < applied {
			w.apply(key)
		}
	}
	return applied == ops
}
