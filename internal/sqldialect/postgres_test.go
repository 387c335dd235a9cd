package sqldialect

import (
	"context"
	"database/sql"
	"fmt"
	"math/big"
	"math/rand"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash/rowhashtest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// pgColumn is one column of the scratch table: its DDL type, kind, a
// random-value generator and how the value is bound for INSERT.
type pgColumn struct {
	name, ddl string
	kind      rowhash.Kind
	gen       func(r *rand.Rand) (bind any, ref rowhash.Value)
}

func pgColumns() []pgColumn {
	text := func(r *rand.Rand) string {
		// Separators, NULL's own letter, quotes, combining marks, CJK and
		// astral-plane characters, and the empty string.
		alphabet := []string{"a", "Z", "|", "N", ":", "'", "\\", " ", "é", "e\u0301", "ß", "漢", "😀", "\t", "0"}
		n := r.Intn(8)
		var b strings.Builder
		for range n {
			b.WriteString(alphabet[r.Intn(len(alphabet))])
		}
		return b.String()
	}
	decimal := func(scale int) func(r *rand.Rand) (any, rowhash.Value) {
		return func(r *rand.Rand) (any, rowhash.Value) {
			v := new(big.Rat).SetFrac(big.NewInt(r.Int63n(2e12)-1e12), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
			s := v.FloatString(scale)
			return s, s
		}
	}
	wideTS := func(r *rand.Rand) time.Time {
		lo := time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC).Unix()
		hi := time.Date(9999, 12, 30, 0, 0, 0, 0, time.UTC).Unix()
		return time.Unix(lo+r.Int63n(hi-lo), int64(r.Intn(1e6))*1000).UTC()
	}
	ts := func(r *rand.Rand) time.Time {
		// 1900..2100, microsecond precision (what PostgreSQL stores).
		sec := r.Int63n(200*365*86400) - 70*365*86400
		return time.Unix(sec, int64(r.Intn(1e6))*1000).UTC()
	}
	return []pgColumn{
		{"c_int2", "smallint", rowhash.KindInt, func(r *rand.Rand) (any, rowhash.Value) { v := int64(int16(r.Uint32())); return v, v }},
		{"c_int8", "bigint", rowhash.KindInt, func(r *rand.Rand) (any, rowhash.Value) { v := int64(r.Uint64()); return v, v }},
		{"c_num2", "numeric(14,2)", rowhash.KindDecimal, decimal(2)},
		{"c_num0", "numeric(20,0)", rowhash.KindDecimal, decimal(0)},
		{"c_num", "numeric", rowhash.KindDecimal, func(r *rand.Rand) (any, rowhash.Value) {
			// Unconstrained numeric keeps the scale it is given: 1.50 stays
			// 1.50 in PostgreSQL and must still encode as 1.5.
			s := fmt.Sprintf("%d.%d%s", r.Intn(1000)-500, r.Intn(100), strings.Repeat("0", r.Intn(4)))
			return s, s
		}},
		{"c_money", "numeric(19,4)", rowhash.KindDecimal, decimal(4)},
		{"c_bool", "boolean", rowhash.KindBool, func(r *rand.Rand) (any, rowhash.Value) { v := r.Intn(2) == 1; return v, v }},
		{"c_text", "text", rowhash.KindText, func(r *rand.Rand) (any, rowhash.Value) { v := text(r); return v, v }},
		{"c_varchar", "varchar(40)", rowhash.KindText, func(r *rand.Rand) (any, rowhash.Value) { v := text(r); return v, v }},
		{"c_char", "char(6)", rowhash.KindChar, func(r *rand.Rand) (any, rowhash.Value) {
			// At most six characters, then blanks beyond the width, which
			// PostgreSQL drops: the padding must not matter either way.
			var b strings.Builder
			for range r.Intn(4) {
				b.WriteString([]string{"a", "|", " ", "é", "漢", "😀", "N"}[r.Intn(7)])
			}
			b.WriteString(strings.Repeat(" ", r.Intn(8)))
			v := b.String()
			return v, v
		}},
		{"c_ts", "timestamp(6)", rowhash.KindTimestamp, func(r *rand.Rand) (any, rowhash.Value) {
			v := ts(r)
			return v.Format("2006-01-02 15:04:05.999999"), v
		}},
		{"c_tstz", "timestamptz", rowhash.KindTimestampTZ, func(r *rand.Rand) (any, rowhash.Value) { v := ts(r); return v, v }},
		// Years 1..9999: epochs far below zero and beyond 2^53 ns, where
		// float8 epoch arithmetic would lose microseconds.
		{"c_ts_wide", "timestamp(6)", rowhash.KindTimestamp, func(r *rand.Rand) (any, rowhash.Value) {
			v := wideTS(r)
			return v.Format("2006-01-02 15:04:05.999999"), v
		}},
		{"c_tstz_wide", "timestamptz", rowhash.KindTimestampTZ, func(r *rand.Rand) (any, rowhash.Value) { v := wideTS(r); return v, v }},
		{"c_date", "date", rowhash.KindDate, func(r *rand.Rand) (any, rowhash.Value) { v := ts(r); return v.Format("2006-01-02"), v }},
		{"c_time", "time(6)", rowhash.KindTime, func(r *rand.Rand) (any, rowhash.Value) {
			d := time.Duration(r.Int63n(86400e6)) * time.Microsecond
			return fmt.Sprintf("%02d:%02d:%02d.%06d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60, (d%time.Second)/time.Microsecond), d
		}},
		{"c_uuid", "uuid", rowhash.KindUUID, func(r *rand.Rand) (any, rowhash.Value) {
			var u [16]byte
			r.Read(u[:])
			s := strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:]))
			return s, s
		}},
		{"c_bytes", "bytea", rowhash.KindBytes, func(r *rand.Rand) (any, rowhash.Value) { b := make([]byte, r.Intn(6)); r.Read(b); return b, b }},
	}
}

// TestPostgresHashEqualsReference inserts random values of every
// supported type (a fifth of them NULL) into a scratch table and checks
// that the in-database encoding and hash equal the Go reference.
func TestPostgresHashEqualsReference(t *testing.T) {
	p := testenv.Need(t)
	db := p.TargetDB(t)
	ctx := context.Background()
	cols := pgColumns()
	table := fmt.Sprintf("rowhash_prop_%d", time.Now().UnixNano())
	var ddl, params []string
	for i, c := range cols {
		ddl = append(ddl, c.name+" "+c.ddl)
		params = append(params, fmt.Sprintf("$%d::%s", i+2, c.ddl))
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE "+table+" (id int PRIMARY KEY, "+strings.Join(ddl, ", ")+")"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + table) })

	seed := time.Now().UnixNano()
	r := rand.New(rand.NewSource(seed))
	t.Logf("seed %d", seed)
	const rows = 300
	want := map[int]rowhash.Hash{}
	wantEnc := map[int]string{}
	kinds := make([]rowhash.Kind, len(cols))
	for i, c := range cols {
		kinds[i] = c.kind
	}
	insert := "INSERT INTO " + table + " VALUES ($1, " + strings.Join(params, ", ") + ")"
	for id := range rows {
		binds := []any{id}
		refs := make([]rowhash.Value, len(cols))
		for i, c := range cols {
			if r.Intn(5) == 0 {
				binds = append(binds, nil)
				continue
			}
			b, v := c.gen(r)
			binds = append(binds, b)
			refs[i] = v
		}
		if _, err := db.ExecContext(ctx, insert, binds...); err != nil {
			t.Fatalf("row %d: %v", id, err)
		}
		enc, err := rowhashtest.EncodeRow(kinds, refs)
		if err != nil {
			t.Fatal(err)
		}
		want[id] = rowhashtest.HashBytes(enc)
		wantEnc[id] = string(enc)
	}

	dialect := Postgres{}
	rcols := make([]Column, len(cols))
	for i, c := range cols {
		rcols[i] = Column{Name: c.name, Kind: c.kind, Type: c.ddl}
	}
	q := dialect.Hashed(table, rcols, []string{"id AS id", dialect.Encode(rcols) + " AS enc"}, "")
	res, err := db.QueryContext(ctx, q)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	defer res.Close()
	n := 0
	for res.Next() {
		var id int
		var enc string
		var h rowhash.Hash
		if err := res.Scan(&id, &enc, &h.A, &h.B); err != nil {
			t.Fatal(err)
		}
		n++
		if enc != wantEnc[id] {
			t.Errorf("row %d: PostgreSQL encodes\n %q\nGo reference\n %q", id, enc, wantEnc[id])
		} else if h != want[id] {
			t.Errorf("row %d: hash %v, want %v", id, h, want[id])
		}
	}
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	if n != rows {
		t.Fatalf("read %d rows, want %d", n, rows)
	}

	// The key hash must agree too: it places rows into buckets.
	key := []Column{{Name: "c_text", Kind: rowhash.KindText}, {Name: "id", Kind: rowhash.KindInt}}
	var kh int32
	var text sql.NullString
	var id int
	if err := db.QueryRowContext(ctx, "SELECT id, c_text, "+dialect.KeyHash(dialect.Encode(key))+" FROM "+table+" ORDER BY id LIMIT 1").Scan(&id, &text, &kh); err != nil {
		t.Fatal(err)
	}
	var tv rowhash.Value
	if text.Valid {
		tv = text.String
	}
	enc, _ := rowhashtest.EncodeRow([]rowhash.Kind{rowhash.KindText, rowhash.KindInt}, []rowhash.Value{tv, int64(id)})
	if got := rowhashtest.KeyHash(enc); got != kh {
		t.Errorf("key hash: PostgreSQL %d, Go %d", kh, got)
	}
}

// The parts of a chunked scan share one snapshot: rows written after it
// was taken are seen by none of them, and the parts together count every
// row once.
func TestPostgresChunksShareOneSnapshot(t *testing.T) {
	p := testenv.Need(t)
	db := p.TargetDB(t)
	ctx := context.Background()
	table := fmt.Sprintf("rowhash_chunks_%d", time.Now().UnixNano())
	if _, err := db.ExecContext(ctx, "CREATE TABLE "+table+" AS SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, 2000) g"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + table) })
	parts, err := Postgres{}.Chunks(ctx, db, table, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 3 {
		t.Fatalf("%d parts, want 3: %v", len(parts), parts)
	}
	txs, err := Postgres{}.SharedSnapshot(ctx, db, len(parts))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, tx := range txs {
			tx.Rollback()
		}
	}()
	// Written after the snapshot: an insert, and an update that moves a
	// row's new version to the end of the table (the last part).
	if _, err := db.ExecContext(ctx, "INSERT INTO "+table+" VALUES (5000, 'new'); UPDATE "+table+" SET pad = 'moved' WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	var total int
	for i, cond := range parts {
		var n int
		if err := txs[i].QueryRowContext(ctx, "SELECT count(*) FROM "+table+" WHERE "+cond).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("part %q is empty", cond)
		}
		total += n
	}
	if total != 2000 {
		t.Errorf("parts counted %d rows, want the snapshot's 2000", total)
	}
}

// A fixed-length source column's padding is not a change, whatever the
// target column's type: the sinks write char(n)'s padded value into a
// text column, and a varchar value into a character(n) target comes back
// padded.
func TestPostgresCharPaddingIsNotAChange(t *testing.T) {
	ctx := context.Background()
	db, srcT, tgtT := tablePair(t, "id int PRIMARY KEY, c char(6), v varchar(10)", "id int PRIMARY KEY, c text, v char(10)",
		"(1, 'ab', 'x'), (2, '', ''), (3, NULL, NULL), (4, 'ab', 'x'), (5, ' a', 'y ')",
		// The sink's copy: padded to the source width; row 4 really differs.
		"(1, 'ab    ', 'x'), (2, '      ', ''), (3, NULL, NULL), (4, 'abc   ', 'x'), (5, ' a    ', 'y')")
	plan, err := NewPlan(ctx, Side{DB: db, Dialect: Postgres{}, Table: srcT}, Side{DB: db, Dialect: Postgres{}, Table: tgtT}, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range plan.SourceCols[1:] {
		if c.Kind != rowhash.KindChar {
			t.Errorf("column %s compared as %s, want char", c.Name, c.Kind)
		}
		if tc := plan.TargetCols[i+1]; tc.Kind != rowhash.KindChar {
			t.Errorf("target column %s compared as %s, want char", tc.Name, tc.Kind)
		}
	}
	src, tgt := encodedRows(t, plan, 0), encodedRows(t, plan, 1)
	for id := 1; id <= 5; id++ {
		if same := src[id] == tgt[id]; same != (id != 4) {
			t.Errorf("row %d: source %q, target %q: equal %v", id, src[id], tgt[id], same)
		}
	}
	// The Go reference agrees with the source side.
	ref, _ := rowhashtest.EncodeRow([]rowhash.Kind{rowhash.KindInt, rowhash.KindChar, rowhash.KindChar}, []rowhash.Value{int64(5), " a    ", "y "})
	if string(ref) != src[5] {
		t.Errorf("reference %q, PostgreSQL %q", ref, src[5])
	}
}

// TestPostgresTemporalRepresentations: what the sinks leave in
// PostgreSQL for a SQL Server temporal value (an epoch integer in ms, µs
// or ns from the Confluent sink, an ISO-8601 string for a
// datetimeoffset, a millisecond timestamp from the connect mode) encodes
// as the Go reference encodes the SQL Server value under the same rule.
func TestPostgresTemporalRepresentations(t *testing.T) {
	p := testenv.Need(t)
	db := p.TargetDB(t)
	ctx := context.Background()
	values := []time.Time{
		time.Date(2024, 3, 31, 1, 59, 59, 999_999_700, time.UTC), // rounds up across a second
		time.Date(2024, 1, 2, 3, 4, 5, 123_456_400, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999_600_000, time.UTC), // before the epoch
		time.Date(1900, 1, 1, 0, 0, 0, 100, time.UTC),
		time.Date(2262, 4, 11, 23, 47, 16, 854_775_800, time.UTC), // last instant NanoTimestamp holds
	}
	type rep struct {
		ddl  string
		rule TimeRule
		bind func(v time.Time) any
		// src is the source value for the column's precision (a
		// MicroTimestamp comes from a datetime2(4-6), which has no
		// nanoseconds); nil: v itself.
		src func(v time.Time) time.Time
	}
	toMicros := func(v time.Time) time.Time { return time.UnixMicro(rowhashtest.EpochMicros(v)).UTC() }
	toMillis := func(v time.Time) time.Time { return time.UnixMilli(floorDiv(v.UnixNano(), 1e6)).UTC() }
	reps := []rep{
		{"bigint", TimeRule{Stored: StoredEpochNanos}, func(v time.Time) any { return v.UnixNano() }, nil},
		{"bigint", TimeRule{Stored: StoredEpochMicros}, func(v time.Time) any { return rowhashtest.EpochMicros(v) }, toMicros},
		{"bigint", TimeRule{Stored: StoredEpochMillis}, func(v time.Time) any { return floorDiv(v.UnixNano(), 1e6) }, toMillis},
		// ZonedTimestamp: UTC with Z, or with the source's offset.
		{"text", TimeRule{Stored: StoredISOText}, func(v time.Time) any { return v.Format("2006-01-02T15:04:05.9999999Z07:00") }, nil},
		{"text", TimeRule{Stored: StoredISOText}, func(v time.Time) any {
			return v.In(time.FixedZone("", -(9*3600 + 30*60))).Format("2006-01-02T15:04:05.9999999-07:00")
		}, nil},
		// connect mode through the Debezium sink: java.util.Date, whole ms.
		{"timestamp(6)", TimeRule{Millis: true, Floor: true}, func(v time.Time) any {
			return time.UnixMilli(floorDiv(v.UnixNano(), 1e6)).UTC().Format("2006-01-02 15:04:05.000")
		}, nil},
		// A timestamp(3) target rounds what the Debezium sink gives it.
		{"timestamp(3)", TimeRule{Millis: true}, func(v time.Time) any { return v.Format("2006-01-02 15:04:05.9999999") }, nil},
	}
	table := fmt.Sprintf("rowhash_time_%d", time.Now().UnixNano())
	var ddl []string
	for i, r := range reps {
		ddl = append(ddl, fmt.Sprintf("c%d %s", i, r.ddl))
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE "+table+" (id int PRIMARY KEY, "+strings.Join(ddl, ", ")+")"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + table) })
	for id, v := range values {
		args := []any{id}
		ph := []string{"$1"}
		for i, r := range reps {
			args = append(args, r.bind(v))
			ph = append(ph, fmt.Sprintf("$%d", i+2))
		}
		if _, err := db.ExecContext(ctx, "INSERT INTO "+table+" VALUES ("+strings.Join(ph, ", ")+")", args...); err != nil {
			t.Fatalf("%s: %v", v, err)
		}
	}
	d := Postgres{}
	for i, r := range reps {
		col := Column{Name: fmt.Sprintf("c%d", i), Type: r.ddl, Kind: rowhash.KindTimestamp, Time: r.rule}
		if r.rule.Stored == StoredISOText {
			col.Kind = rowhash.KindTimestampTZ
		}
		// The source side: a datetime2(7) value under the same rule.
		ref := Column{Kind: rowhash.KindTimestamp, Time: TimeRule{Millis: r.rule.Millis, Floor: r.rule.Floor}}
		// Milliseconds of a value PostgreSQL first read as microseconds.
		ref.Time.ViaMicros = r.ddl == "timestamp(3)"
		for id, v := range values {
			if r.src != nil {
				v = r.src(v)
			}
			var got string
			if err := db.QueryRowContext(ctx, "SELECT "+d.Field(col)+" FROM "+table+" WHERE id = $1", id).Scan(&got); err != nil {
				t.Fatalf("%s: %v", d.Field(col), err)
			}
			want, _ := AppendColumn(nil, ref, v)
			if got != string(want) {
				t.Errorf("%s (%s) of %s: PostgreSQL %s, reference %s", r.ddl, describeRule(r.rule), v.Format(time.RFC3339Nano), got, want)
			}
			// The key lookup built from the reference field finds the row.
			m, err := d.Match(col, string(want))
			if err != nil {
				t.Fatal(err)
			}
			var n int
			if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+table+" WHERE id = $1 AND "+m.SQL(), id).Scan(&n); err != nil || n != 1 {
				t.Errorf("%s (%s) of %s: lookup %s found %d rows (%v)", r.ddl, describeRule(r.rule), v, m.SQL(), n, err)
			}
		}
	}
}

// A pair that cannot be compared exactly is left out with its reason,
// never compared into a mismatch; the Confluent sink's epoch integers are
// compared as the instants they are.
func TestPostgresPlanReportsWhatCannotBeCompared(t *testing.T) {
	ctx := context.Background()
	db, srcT, tgtT := tablePair(t, "id int PRIMARY KEY, at timestamp(6), seen timestamp(6), amount numeric(10,2)",
		"id int PRIMARY KEY, at bigint, seen text, amount double precision",
		"(1, '2024-01-02 03:04:05.123456', '2024-01-02', 1.10)", "(1, 1704164645123456, 'whatever', 1.1)")
	path := func(context.Context) (Path, error) {
		return Path{Mode: ModeAdaptive}, nil
	}
	plan, err := NewPlan(ctx, Side{DB: db, Dialect: Postgres{}, Table: srcT}, Side{DB: db, Dialect: Postgres{}, Table: tgtT}, PlanOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range plan.SourceCols {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "id,at" {
		t.Errorf("compared %v, want id and at", names)
	}
	if len(plan.NotComparable) != 2 || plan.NotComparable[0].Column != "seen" || plan.NotComparable[1].Column != "amount" ||
		!strings.Contains(plan.NotComparable[0].Reason, "does not arrive as text") || !strings.Contains(plan.NotComparable[1].Reason, "decimal.handling.mode=double") {
		t.Errorf("not comparable: %+v", plan.NotComparable)
	}
	var s, g string
	if err := db.QueryRowContext(ctx, "SELECT "+Postgres{}.Encode(plan.SourceCols)+" FROM "+srcT).Scan(&s); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, "SELECT "+Postgres{}.Encode(plan.TargetCols)+" FROM "+tgtT).Scan(&g); err != nil {
		t.Fatal(err)
	}
	if s != g {
		t.Errorf("source %q, target %q", s, g)
	}
}

// tablePair creates a source and a target scratch table in the target
// database with the given columns and rows (VALUES lists), dropped when
// the test ends.
func tablePair(t *testing.T, srcCols, tgtCols, srcRows, tgtRows string) (db *sql.DB, src, tgt string) {
	t.Helper()
	p := testenv.Need(t)
	db, err := sql.Open("pgx", p.TargetDSN)
	if err != nil {
		t.Fatal(err)
	}
	suffix := time.Now().UnixNano()
	src, tgt = fmt.Sprintf("rowhash_src_%d", suffix), fmt.Sprintf("rowhash_tgt_%d", suffix)
	for _, q := range []string{
		"CREATE TABLE " + src + " (" + srcCols + ")", "CREATE TABLE " + tgt + " (" + tgtCols + ")",
		"INSERT INTO " + src + " VALUES " + srcRows, "INSERT INTO " + tgt + " VALUES " + tgtRows,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		db.Exec("DROP TABLE IF EXISTS " + src + ", " + tgt)
		db.Close()
	})
	return db, src, tgt
}

// TestPostgresRoundsLikeTheSource runs the target's side of the
// rounding tests (TestISOTextRoundsLikeTheSource,
// TestMillisecondsRoundOnceAlongThePath) in PostgreSQL: random
// datetimeoffset(7) values stored as the Confluent sink's ISO text, and
// datetime2(7) values written as pgjdbc writes them (rounded half up to
// microseconds) into a timestamp(3) and a timestamp(6) compared at ms.
// Each must encode as the source's side does under the rules decideTime
// gives the pair.
func TestPostgresRoundsLikeTheSource(t *testing.T) {
	p := testenv.Need(t)
	db := p.TargetDB(t)
	ctx := context.Background()
	seed := time.Now().UnixNano()
	r := rand.New(rand.NewSource(seed))
	t.Logf("seed %d", seed)
	table := fmt.Sprintf("rowhash_round_%d", time.Now().UnixNano())
	if _, err := db.ExecContext(ctx, "CREATE TABLE "+table+" (id int PRIMARY KEY, iso text, ms3 timestamp(3), us6 timestamp(6))"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + table) })
	const rows = 2000
	values := make([]time.Time, rows)
	for id := range values {
		v := randomTicks(r)
		values[id] = v
		off := (r.Intn(29*4) - 14*4) * 15
		// pgjdbc's text for a nanosecond value: microseconds, half up.
		jdbc := time.UnixMicro(rowhashtest.EpochMicros(v)).UTC().Format("2006-01-02 15:04:05.000000")
		if _, err := db.ExecContext(ctx, "INSERT INTO "+table+" VALUES ($1, $2, $3, $3)", id, isoText(v, off), jdbc); err != nil {
			t.Fatal(err)
		}
	}
	ss := func(typ string) Column {
		k, _ := SQLServer{}.KindOf(typ)
		return Column{Name: "c", Type: typ, Scale: 7, Kind: k}
	}
	for _, tc := range []struct {
		src  Column
		tgt  Column
		path Path
	}{
		{ss("datetimeoffset"), Column{Name: "iso", Type: "text", Scale: -1, Kind: rowhash.KindText}, Path{}},
		{ss("datetimeoffset"), Column{Name: "iso", Type: "text", Scale: -1, Kind: rowhash.KindText}, Path{Precision: PrecisionMillis}},
		{ss("datetime2"), Column{Name: "ms3", Type: "timestamp without time zone", Scale: 3, Kind: rowhash.KindTimestamp}, Path{}},
		{ss("datetime2"), Column{Name: "us6", Type: "timestamp without time zone", Scale: 6, Kind: rowhash.KindTimestamp}, Path{Precision: PrecisionMillis}},
	} {
		k, sr, tr, reason := decideTime(tc.src, tc.tgt, tc.path)
		if reason != "" {
			t.Fatal(reason)
		}
		sc, tcol := tc.src, tc.tgt
		sc.Kind, tcol.Kind, sc.Time, tcol.Time = k, k, sr, tr
		rows, err := db.QueryContext(ctx, "SELECT id, "+(Postgres{}).Field(tcol)+" FROM "+table+" ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int
			var got string
			if err := rows.Scan(&id, &got); err != nil {
				t.Fatal(err)
			}
			want, _ := AppendColumn(nil, sc, values[id])
			if got != string(want) {
				t.Errorf("seed %d: %s → %s (%s): %s is %s at the target, %s at the source", seed, tc.src.Type, tc.tgt.Name, describeRule(tr), values[id].Format(time.RFC3339Nano), got, want)
			}
		}
		rows.Close()
	}
}

// Seed 1909 of the differential harness's schema-mismatch workload: a
// numeric(14,0) column the sink keeps in a bigint holds every value, so
// the schema check reports no mismatch; the plan left it out all the
// same ("decimal and int cannot be compared", as schema drift), and a
// real difference in it was never reported. Decimals in integer columns
// and integers in decimal ones are compared by value.
func TestSeed1909ADecimalInAnIntegerColumnIsComparedByValue(t *testing.T) {
	ctx := context.Background()
	db, srcT, tgtT := tablePair(t, "id int PRIMARY KEY, n numeric(14,0), m numeric(14,2), i integer",
		"id int PRIMARY KEY, n bigint, m bigint, i numeric(20,2)",
		"(1, 9840024738, 12.00, 7), (2, 9840024738, 12.50, 7), (3, 9840024738, 0, NULL)",
		"(1, 9840024738, 12, 7.00), (2, -4343467354, 13, 7), (3, 9840024738, 0, NULL)")
	plan, err := NewPlan(ctx, Side{DB: db, Dialect: Postgres{}, Table: srcT}, Side{DB: db, Dialect: Postgres{}, Table: tgtT}, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i, c := range plan.SourceCols {
		names = append(names, c.Name)
		if c.Kind != plan.TargetCols[i].Kind {
			t.Errorf("column %s: source kind %s, target kind %s", c.Name, c.Kind, plan.TargetCols[i].Kind)
		}
	}
	if strings.Join(names, ",") != "id,n,m,i" || len(plan.SchemaDrift)+len(plan.NotComparable) != 0 {
		t.Fatalf("compared %v, left out %+v and %+v; want every column compared", names, plan.SchemaDrift, plan.NotComparable)
	}
	src, tgt := encodedRows(t, plan, 0), encodedRows(t, plan, 1)
	for id, same := range map[int]bool{1: true, 2: false, 3: true} {
		if (src[id] == tgt[id]) != same {
			t.Errorf("row %d: source %q, target %q; equal should be %v", id, src[id], tgt[id], same)
		}
	}
}

// encodedRows is side i's row encodings of plan's columns by the row's
// integer id.
func encodedRows(t *testing.T, plan *Plan, i int) map[int]string {
	t.Helper()
	s, cols := plan.Side(i)
	d := s.Dialect
	rows, err := s.DB.QueryContext(context.Background(), "SELECT id, "+d.Encode(cols)+" FROM "+d.QuoteTable(s.Table))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int]string{}
	for rows.Next() {
		var id int
		var enc string
		if err := rows.Scan(&id, &enc); err != nil {
			t.Fatal(err)
		}
		out[id] = enc
	}
	return out
}

// Seed 1900 of the differential harness's schema-mismatch workload: a
// boolean (or an integer) the sink keeps in a text column loses nothing,
// so the schema check reports no mismatch; the plan listed it as schema
// drift all the same. The comparison has no rule for such a pair: it is
// not comparable along the path, as a date in a text column already was.
func TestSeed1900APairWithoutARuleIsNotComparableNotSchemaDrift(t *testing.T) {
	ctx := context.Background()
	db, srcT, tgtT := tablePair(t, "id int PRIMARY KEY, flag boolean, n integer, d date, v text",
		"id int PRIMARY KEY, flag text, n text, d text, v text",
		"(1, true, 7, '2024-01-02', 'a')", "(1, 'true', '7', '2024-01-02', 'a')")
	plan, err := NewPlan(ctx, Side{DB: db, Dialect: Postgres{}, Table: srcT}, Side{DB: db, Dialect: Postgres{}, Table: tgtT}, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range plan.NotComparable {
		left = append(left, e.Column)
		if strings.HasPrefix(e.Reason, schemaDriftReason) || !strings.Contains(e.Reason, "cannot be compared") && !strings.Contains(e.Reason, "does not arrive as text") {
			t.Errorf("%s left out with reason %q", e.Column, e.Reason)
		}
	}
	if strings.Join(left, ",") != "flag,n,d" || len(plan.SchemaDrift) != 0 || len(plan.SourceCols) != 2 {
		t.Errorf("not comparable %+v, schema drift %+v, %d compared; want flag, n and d not comparable and id, v compared", plan.NotComparable, plan.SchemaDrift, len(plan.SourceCols))
	}
}
