package difftest

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// kind is how the oracle reads a column's text form: the semantics of
// docs/drift.md ("The canonical row encoding"), written again here from
// the documentation, never by calling internal/rowhash.
type kind int

const (
	kInt kind = iota
	kDecimal
	kText
	kChar
	kTimestamp
	kTimestampTZ
	kDate
	kTime
	kBool
	kBytes
	kUUID
	kJSONB
)

// column is one column of a generated table, as the source has it and as
// the simulated sink writes it into the target.
type column struct {
	Name    string // source name, often mixed case
	TgtName string // the sink may fold it to lower case
	Src     string // source SQL type
	Tgt     string // target SQL type
	Kind    kind
	Digits  int // fractional second digits of a timestamp or time
	Width   int // n of char(n)
	Key     bool
	// TruncMillis: the sink writes this temporal column at whole
	// milliseconds, truncated (time.precision.mode=connect).
	TruncMillis bool
	// PadChar: the source is char(n) and the target text, written padded.
	PadChar bool
	// Region is the filter column.
	Region bool
	// Schema mismatches (TestSchemaMismatchKeepsVerdictsOnCommonColumns):
	// Absent, the target lacks the column; Lossy, why its target type
	// cannot hold every source value (schemadrift.Lossy), "" when it can;
	// NoRule, its target type loses nothing but the comparison has no
	// rule for the pair (not comparable).
	Absent bool
	Lossy  string
	NoRule bool
}

// leftOut tells whether the comparison leaves c out: the target lacks
// it, loses its values or holds it in a type it cannot be compared with.
func (c column) leftOut() bool { return c.Absent || c.Lossy != "" || c.NoRule }

// table is a generated table and the sink behaviours applied to it.
type table struct {
	Name    string // source table, schema-qualified, mixed case
	TgtName string
	Cols    []column
	// Sink behaviours.
	CaseFold   bool // the sink folded column and table names to lower case
	Keyless    bool // the target has no primary key (pk.mode=none/kafka)
	SoftDelete bool // deletes arrive as __deleted = 'true'
	Filter     bool // tables[].filter on the Region column
	Connect    bool // time.precision.mode=connect: ms, truncated
	Millis3    bool // timestamp columns of the target are timestamp(3)
	// Stamp is the source column holding each row's change time (the
	// lag's source_timestamp_column), kept by a trigger; the sink writes
	// it and the watermark (__source_ts_ms). Left out of the comparison:
	// it is the pipeline's, not the workload's.
	Stamp string
	// TgtOnly are target columns the source lacks (missing_in_source):
	// the sink never writes them.
	TgtOnly []column
	keySeq  int
}

func (tb *table) keyCols() []column {
	var out []column
	for _, c := range tb.Cols {
		if c.Key {
			out = append(out, c)
		}
	}
	return out
}

// qi quotes an identifier for PostgreSQL.
func qi(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// qt quotes a schema-qualified table name.
func qt(s string) string {
	schema, name, _ := strings.Cut(s, ".")
	return qi(schema) + "." + qi(name)
}

var namePool = []string{"OrderID", "Amount", "Note", "createdAt", "Region", "Code", "flag", "Payload", "When", "Ref", "Blob", "Day", "At", "Total", "Label", "Doc"}

// newTable draws a table: a key, a dozen columns from the catalogue and
// the sink behaviours.
func newTable(r *rand.Rand, seed uint64) *table {
	tb := &table{
		Name:       fmt.Sprintf("public.Diff_%d_%s", seed, []string{"Orders", "Ledger", "Events"}[r.IntN(3)]),
		CaseFold:   r.IntN(10) < 4,
		Keyless:    r.IntN(10) < 3,
		SoftDelete: r.IntN(10) < 3,
		Filter:     r.IntN(10) < 4,
	}
	switch r.IntN(3) {
	case 1:
		tb.Connect = true
	case 2:
		tb.Millis3 = true
	}
	name := namer()
	// The key.
	tb.Cols = keyColumns(r.IntN(6), name)
	if tb.Filter {
		tb.Cols = append(tb.Cols, column{Name: name("Region"), Src: "text", Kind: kText, Region: true})
	}
	for n := 4 + r.IntN(8); n > 0; n-- {
		tb.Cols = append(tb.Cols, randomColumn(r, name))
	}
	for i := range tb.Cols {
		c := &tb.Cols[i]
		c.Tgt = c.Src
		switch {
		case c.Kind == kChar && r.IntN(2) == 0:
			c.Tgt, c.PadChar = "text", true
		case c.Kind == kDecimal && strings.HasPrefix(c.Src, "numeric(") && r.IntN(2) == 0:
			// A wider scale in the sink's column is the same value.
			c.Tgt = "numeric(20,6)"
		case (c.Kind == kTimestamp || c.Kind == kTime) && tb.Connect && c.Digits > 3:
			c.TruncMillis = true
			c.Tgt = strings.Split(c.Src, "(")[0] + "(6)"
		case c.Kind == kTimestamp && tb.Millis3 && c.Digits > 3:
			c.Tgt = "timestamp(3)"
		}
		c.TgtName = c.Name
		if tb.CaseFold {
			c.TgtName = strings.ToLower(c.Name)
		}
	}
	tb.TgtName = tb.Name
	if tb.CaseFold {
		tb.TgtName = strings.ToLower(tb.Name)
	}
	return tb
}

// keyColumns are the key columns of the catalogue's choice-th kind of
// key: integer, bigint, uuid, text, and two compound keys.
func keyColumns(choice int, name func(string) string) []column {
	switch choice {
	case 0:
		return []column{{Name: name("ID"), Src: "integer", Kind: kInt, Key: true}}
	case 1:
		return []column{{Name: name("OrderID"), Src: "bigint", Kind: kInt, Key: true}}
	case 2:
		return []column{{Name: name("Uid"), Src: "uuid", Kind: kUUID, Key: true}}
	case 3:
		return []column{{Name: name("Code"), Src: "varchar(40)", Kind: kText, Key: true}}
	case 4:
		return []column{{Name: name("Tenant"), Src: "text", Kind: kText, Key: true}, {Name: name("Seq"), Src: "integer", Kind: kInt, Key: true}}
	}
	return []column{{Name: name("Shard"), Src: "bigint", Kind: kInt, Key: true}, {Name: name("Uid"), Src: "uuid", Kind: kUUID, Key: true}}
}

// namer gives column names from a base, numbered past the first use,
// unique even once folded to lower case.
func namer() func(base string) string {
	used := map[string]bool{}
	return func(base string) string {
		n := base
		for i := 2; used[strings.ToLower(n)]; i++ {
			n = fmt.Sprintf("%s%d", base, i)
		}
		used[strings.ToLower(n)] = true
		return n
	}
}

func randomColumn(r *rand.Rand, name func(string) string) column {
	base := namePool[r.IntN(len(namePool))]
	switch r.IntN(14) {
	case 0:
		return column{Name: name(base), Src: "integer", Kind: kInt}
	case 1:
		return column{Name: name(base), Src: "bigint", Kind: kInt}
	case 2:
		s := []int{0, 2, 4}[r.IntN(3)]
		return column{Name: name(base), Src: fmt.Sprintf("numeric(14,%d)", s), Kind: kDecimal}
	case 3:
		return column{Name: name(base), Src: "numeric", Kind: kDecimal}
	case 4:
		return column{Name: name(base), Src: "text", Kind: kText}
	case 5:
		return column{Name: name(base), Src: "varchar(30)", Kind: kText}
	case 6:
		w := 1 + r.IntN(8)
		return column{Name: name(base), Src: fmt.Sprintf("char(%d)", w), Kind: kChar, Width: w}
	case 7:
		d := r.IntN(7)
		return column{Name: name(base), Src: fmt.Sprintf("timestamp(%d)", d), Kind: kTimestamp, Digits: d}
	case 8:
		d := r.IntN(7)
		return column{Name: name(base), Src: fmt.Sprintf("timestamptz(%d)", d), Kind: kTimestampTZ, Digits: d}
	case 9:
		return column{Name: name(base), Src: "date", Kind: kDate}
	case 10:
		d := r.IntN(7)
		return column{Name: name(base), Src: fmt.Sprintf("time(%d)", d), Kind: kTime, Digits: d}
	case 11:
		return column{Name: name(base), Src: "boolean", Kind: kBool}
	case 12:
		return column{Name: name(base), Src: "bytea", Kind: kBytes}
	default:
		return column{Name: name(base), Src: "jsonb", Kind: kJSONB}
	}
}

// ddl is the CREATE TABLE of one side.
func (tb *table) ddl(target bool) string {
	var defs, key []string
	for _, c := range tb.Cols {
		n, typ := c.Name, c.Src
		if target {
			n, typ = c.TgtName, c.Tgt
		}
		if c.Key {
			key = append(key, qi(n))
		}
		if target && c.Absent {
			continue
		}
		defs = append(defs, qi(n)+" "+typ)
	}
	if target {
		for _, c := range tb.TgtOnly {
			defs = append(defs, qi(c.TgtName)+" "+c.Tgt)
		}
	}
	name := tb.Name
	if tb.Stamp != "" {
		if target {
			defs = append(defs, qi(strings.ToLower(tb.Stamp))+" timestamptz", "__source_ts_ms bigint")
		} else {
			defs = append(defs, qi(tb.Stamp)+" timestamptz NOT NULL DEFAULT clock_timestamp()")
		}
	}
	if target {
		name = tb.TgtName
		if tb.SoftDelete {
			defs = append(defs, "__deleted text")
		}
	}
	if !target || !tb.Keyless {
		defs = append(defs, "PRIMARY KEY ("+strings.Join(key, ", ")+")")
	}
	return "CREATE TABLE " + qt(name) + " (" + strings.Join(defs, ", ") + ")"
}

// value draws a value of c in its PostgreSQL text form; ok false is NULL.
func (tb *table) value(r *rand.Rand, c column) (string, bool) {
	if c.Region {
		return []string{"eu", "us"}[r.IntN(2)], true
	}
	if !c.Key && r.IntN(10) == 0 {
		return "", false
	}
	if c.Key {
		tb.keySeq++
		switch c.Kind {
		case kInt:
			return fmt.Sprint(int64(r.IntN(2_000_000)) - 1_000_000), true
		case kText:
			return randomText(r, 8) + fmt.Sprintf("·%d", tb.keySeq), true
		}
	}
	switch c.Kind {
	case kInt:
		if c.Src == "bigint" && r.IntN(4) == 0 {
			return fmt.Sprint([]int64{-1 << 63, 1<<63 - 1, 0}[r.IntN(3)]), true
		}
		return fmt.Sprint(r.Int32() - 1<<30), true
	case kDecimal:
		scale := 4
		if strings.HasPrefix(c.Src, "numeric(") {
			fmt.Sscanf(c.Src, "numeric(14,%d)", &scale)
		}
		whole := r.Int64N(10_000_000_000)
		s := fmt.Sprint(whole)
		if r.IntN(3) == 0 {
			s = "-" + s
		}
		if scale > 0 {
			frac := fmt.Sprintf("%0*d", scale, r.IntN(pow10(scale)))
			if r.IntN(3) == 0 {
				frac = strings.Repeat("0", scale) // 12.00: equal to 12 by value
			}
			s += "." + frac
		}
		return s, true
	case kText:
		return randomText(r, 12), true
	case kChar:
		n := r.IntN(c.Width + 1)
		return randomWord(r, n), true
	case kTimestamp, kTimestampTZ:
		// 1900..2100, so values before and after PostgreSQL's epoch of
		// 2000 and Unix's of 1970; microseconds that sit on a
		// millisecond's half sometimes.
		sec := r.Int64N(200*365*86400) - 70*365*86400
		t := time.Unix(sec, 0).UTC()
		s := t.Format("2006-01-02 15:04:05") + "." + micros(r)
		if c.Kind == kTimestampTZ {
			s += []string{"+00", "+05:30", "-03", "+14"}[r.IntN(4)]
		}
		return s, true
	case kDate:
		return time.Unix(r.Int64N(200*365*86400)-70*365*86400, 0).UTC().Format("2006-01-02"), true
	case kTime:
		if r.IntN(8) == 0 {
			return "23:59:59.999999", true
		}
		return fmt.Sprintf("%02d:%02d:%02d.%s", r.IntN(24), r.IntN(60), r.IntN(60), micros(r)), true
	case kBool:
		return []string{"true", "false"}[r.IntN(2)], true
	case kBytes:
		b := make([]byte, r.IntN(10))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return fmt.Sprintf(`\x%x`, b), true
	case kUUID:
		var b [16]byte
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), true
	case kJSONB:
		return fmt.Sprintf(`{"n": %d, "s": %q}`, r.IntN(1000), randomWord(r, 4)), true
	}
	panic("unknown kind")
}

func pow10(n int) int {
	p := 1
	for range n {
		p *= 10
	}
	return p
}

func micros(r *rand.Rand) string {
	switch r.IntN(5) {
	case 0:
		return fmt.Sprintf("%03d500", r.IntN(1000)) // a millisecond's half
	case 1:
		return "999999"
	default:
		return fmt.Sprintf("%06d", r.IntN(1_000_000))
	}
}

var runes = []rune("abcXYZ019 |'\"éÅЖук€😀\\%_")

func randomText(r *rand.Rand, max int) string {
	n := r.IntN(max + 1)
	var b strings.Builder
	for range n {
		b.WriteRune(runes[r.IntN(len(runes))])
	}
	return b.String()
}

// randomWord is n characters without trailing blanks (char(n) pads them).
func randomWord(r *rand.Rand, n int) string {
	var b strings.Builder
	for i := range n {
		c := runes[r.IntN(len(runes))]
		if i == n-1 && c == ' ' {
			c = 'q'
		}
		b.WriteRune(c)
	}
	return b.String()
}

// padTo pads s with blanks to n characters.
func padTo(s string, n int) string {
	if k := n - len([]rune(s)); k > 0 {
		return s + strings.Repeat(" ", k)
	}
	return s
}
