package schemadrift

import (
	"flag"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLossyNamesTheLossOfCommonMappings(t *testing.T) {
	col := func(typ string, n ...int) Column {
		c := Column{Type: typ, Length: -1, Precision: -1, Scale: -1, TimePrecision: -1}
		switch {
		case strings.Contains(typ, "char"), strings.Contains(typ, "binary"):
			c.Length = n[0]
		case typ == "money":
			c.Precision, c.Scale = 19, 4 // as SQL Server's catalog gives it
		case typ == "numeric" || typ == "decimal":
			c.Precision, c.Scale = n[0], n[1]
		case len(n) == 1:
			c.TimePrecision = n[0]
		}
		return c
	}
	cases := []struct {
		src, tgt Column
		lossy    bool
	}{
		{col("numeric", 12, 2), col("integer"), true},
		{col("text"), col("character varying", 5), true},
		{col("int"), col("integer"), false},
		{col("bigint"), col("integer"), true},
		{col("nvarchar", 50), col("character varying", 50), false},
		{col("nvarchar", -1), col("text"), false},
		{col("nvarchar", -1), col("character varying", 4000), true},
		{col("datetime2", 7), col("timestamp without time zone", 6), true},
		{col("datetime2", 3), col("timestamp without time zone", 6), false},
		{col("datetime2", 7), col("bigint"), false}, // Confluent sink: NanoTimestamp as BIGINT
		{col("datetimeoffset", 7), col("text"), false},
		{col("datetimeoffset", 3), col("timestamp without time zone", 6), true},
		{col("datetime"), col("timestamp with time zone", 6), false},
		{col("money"), col("numeric", 19, 4), false},
		{col("money"), col("numeric", 19, 2), true},
		{col("varchar", 10), col("integer"), true},
		{col("decimal", 9, 0), col("integer"), false},
		{col("decimal", 10, 0), col("integer"), true},
		{col("uniqueidentifier"), col("uuid"), false},
		{col("uniqueidentifier"), col("character varying", 36), false},
		{col("bit"), col("boolean"), false},
		{col("geography"), col("text"), false}, // unknown: nothing claimed
	}
	for _, c := range cases {
		why := Lossy(c.src, c.tgt)
		if (why != "") != c.lossy {
			t.Errorf("Lossy(%s, %s) = %q, want lossy %v", describe(c.src), describe(c.tgt), why, c.lossy)
		}
	}
}

var lossySeed = flag.Uint64("lossy.seed", 0, "seed of TestLossyAgreesWithStoringExtremeValues (0: from the clock)")

// TestLossyAgreesWithStoringExtremeValues is the oracle: for random
// source and target types it stores the source type's extreme values
// (largest, smallest, longest, finest) into a model of the target type
// written directly in Go, and checks that Lossy reports a loss exactly
// when one of them does not come back unchanged.
func TestLossyAgreesWithStoringExtremeValues(t *testing.T) {
	seed := *lossySeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	for i := 0; i < 20000; i++ {
		src, tgt := randomColumn(rng, true), randomColumn(rng, false)
		want := ""
		for _, v := range extremes(src) {
			if !roundTrips(v, tgt) {
				want = v.String()
				break
			}
		}
		got := Lossy(src, tgt)
		if (got != "") != (want != "") {
			t.Fatalf("seed %d: Lossy(%s, %s) = %q, but storing the extreme values says lossy=%v (first lost: %s); rerun with -lossy.seed=%d",
				seed, describe(src), describe(tgt), got, want != "", want, seed)
		}
	}
}

func randomColumn(rng *rand.Rand, source bool) Column {
	c := Column{Length: -1, Precision: -1, Scale: -1, TimePrecision: -1}
	types := []string{"smallint", "integer", "bigint", "numeric", "real", "double precision", "boolean",
		"character varying", "text", "uuid", "date", "time", "timestamp", "timestamptz"}
	if source {
		types = append(types, "tinyint", "datetime2", "datetimeoffset", "datetime", "smalldatetime", "nvarchar", "money", "float")
	}
	c.Type = types[rng.IntN(len(types))]
	switch c.Type {
	case "numeric":
		if rng.IntN(6) > 0 {
			c.Precision = 1 + rng.IntN(38)
			c.Scale = rng.IntN(c.Precision + 1)
		}
	case "character varying", "nvarchar":
		if rng.IntN(6) > 0 {
			c.Length = 1 + rng.IntN(60)
		}
	case "time", "timestamp", "timestamptz":
		c.TimePrecision = rng.IntN(7)
	case "datetime2", "datetimeoffset":
		c.TimePrecision = rng.IntN(8)
	case "float":
		c.Precision = []int{24, 53}[rng.IntN(2)]
	case "money":
		c.Precision, c.Scale = 19, 4
	}
	return c
}

// value is one source value as a sink would carry it.
type value struct {
	kind string // num, bool, text, uuid, date, time, ts, tstz
	num  *big.Rat
	// float marks a binary float's value: it travels as its shortest
	// decimal text.
	float int // bits of the float's type: 32 or 64; 0 for an exact number
	text  string
	// nanos of the day and frac digits for temporal values.
	frac int
}

func (v value) String() string {
	if v.num != nil {
		return v.kind + " " + v.num.RatString()
	}
	return v.kind + " " + v.text + fmt.Sprintf(" frac=%d", v.frac)
}

// asText is the value as text, the way the engines print it.
func (v value) asText() string {
	switch v.kind {
	case "num":
		if v.float > 0 {
			f, _ := v.num.Float64()
			return strconv.FormatFloat(f, 'g', -1, v.float)
		}
		return decimalText(v.num)
	case "bool":
		return map[bool]string{true: "true", false: "false"}[v.num.Sign() != 0]
	}
	return v.text
}

// decimalText writes an exact decimal with as many decimals as it has.
func decimalText(r *big.Rat) string {
	for s := 0; s < 400; s++ {
		scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(s)), nil)))
		if scaled.IsInt() {
			return r.FloatString(s)
		}
	}
	return r.FloatString(400)
}

func ratPow10(n int) *big.Rat {
	if n >= 0 {
		return new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil))
	}
	return new(big.Rat).Inv(ratPow10(-n))
}

func nines(before, after int) *big.Rat {
	// 10^before - 10^-after: 999.99 for (3, 2).
	return new(big.Rat).Sub(ratPow10(before), ratPow10(-after))
}

func neg(r *big.Rat) *big.Rat { return new(big.Rat).Neg(r) }

func intRange(bits int) (lo, hi *big.Rat) {
	if bits == 9 {
		return big.NewRat(0, 1), big.NewRat(255, 1)
	}
	m := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
	return new(big.Rat).SetInt(new(big.Int).Neg(m)), new(big.Rat).SetInt(new(big.Int).Sub(m, big.NewInt(1)))
}

// extremes are the values of c's type most likely to be lost.
func extremes(c Column) []value {
	s := shapeOf(c)
	num := func(rs ...*big.Rat) []value {
		var out []value
		for _, r := range rs {
			out = append(out, value{kind: "num", num: r})
		}
		return out
	}
	timeText := func(date string, frac int, zone string) string {
		tx := date + "23:59:59"
		if frac > 0 {
			tx += "." + strings.Repeat("9", frac)
		}
		return tx + zone
	}
	switch s.fam {
	case famInt:
		lo, hi := intRange(s.bits)
		return num(lo, hi)
	case famDecimal:
		if s.digits < 0 {
			return num(nines(40, 20), neg(nines(40, 20)))
		}
		return num(nines(s.digits-s.scale, s.scale), neg(nines(s.digits-s.scale, s.scale)), ratPow10(-s.scale))
	case famFloat:
		var fs []float64
		if s.bits == 24 {
			fs = []float64{float64(math.MaxFloat32), -float64(math.SmallestNonzeroFloat32) * (1 << 23), 1 + math.Pow(2, -23), -1.1754944e-38}
		} else {
			fs = []float64{math.MaxFloat64, -2.2250738585072014e-308, 1 + math.Pow(2, -52)}
		}
		var out []value
		for _, f := range fs {
			bits := 64
			if s.bits == 24 {
				f, bits = float64(float32(f)), 32
			}
			r := new(big.Rat)
			r.SetFloat64(f)
			out = append(out, value{kind: "num", num: r, float: bits})
		}
		return out
	case famBool:
		return []value{{kind: "bool", num: big.NewRat(0, 1)}, {kind: "bool", num: big.NewRat(1, 1)}}
	case famText:
		n := s.length
		if n < 0 {
			n = 5000
		}
		return []value{{kind: "text", text: strings.Repeat("x", n)}, {kind: "text", text: "x"}}
	case famUUID:
		return []value{{kind: "uuid", text: "ffffffff-ffff-ffff-ffff-ffffffffffff"}}
	case famDate:
		return []value{{kind: "date", text: "9999-12-31"}}
	case famTime:
		return []value{{kind: "time", text: timeText("", s.frac, ""), frac: s.frac}}
	case famTimestamp:
		return []value{{kind: "ts", text: timeText("9999-12-31 ", s.frac, ""), frac: s.frac}}
	case famTimestampTZ:
		return []value{{kind: "tstz", text: timeText("9999-12-31 ", s.frac, "+05:30"), frac: s.frac}}
	}
	return nil
}

// roundTrips stores v into a column of c's type and reports whether it
// reads back unchanged.
func roundTrips(v value, c Column) bool {
	s := shapeOf(c)
	if s.fam == famText {
		return s.length < 0 || len(v.asText()) <= s.length
	}
	switch v.kind {
	case "num", "bool":
		return numFits(v.num, s)
	case "uuid":
		return s.fam == famUUID
	}
	// Epoch units in a 64-bit integer hold any temporal value.
	if s.fam == famInt && s.bits >= 64 && strings.Contains("date time ts tstz", v.kind) {
		return true
	}
	switch v.kind {
	case "date":
		// Days since 1970 of 9999-12-31 fit 32 bits.
		return s.fam == famDate || s.fam == famInt && s.bits >= 32 || s.fam == famTimestamp || s.fam == famTimestampTZ
	case "time":
		return s.fam == famTime && s.frac >= v.frac
	case "ts":
		return (s.fam == famTimestamp || s.fam == famTimestampTZ) && s.frac >= v.frac
	case "tstz":
		return s.fam == famTimestampTZ && s.frac >= v.frac
	}
	return false
}

func numFits(r *big.Rat, s shape) bool {
	switch s.fam {
	case famInt:
		lo, hi := intRange(s.bits)
		return r.IsInt() && r.Cmp(lo) >= 0 && r.Cmp(hi) <= 0
	case famDecimal:
		if s.digits < 0 {
			return true
		}
		scaled := new(big.Rat).Mul(r, ratPow10(s.scale))
		abs := new(big.Rat).Abs(r)
		return scaled.IsInt() && abs.Cmp(ratPow10(s.digits-s.scale)) < 0
	case famFloat:
		f := new(big.Float).SetPrec(uint(s.bits)).SetMode(big.ToNearestEven)
		f.SetRat(r)
		back, _ := f.Rat(nil)
		if s.bits == 24 {
			f32, _ := f.Float32()
			if math.IsInf(float64(f32), 0) {
				return false
			}
		}
		return back != nil && back.Cmp(r) == 0
	case famBool:
		return r.Sign() == 0 || r.Cmp(big.NewRat(1, 1)) == 0
	}
	return false
}

// What a sink creates for a source column holds every value the source
// column can, but where the target engine cannot: PostgreSQL keeps at
// most 6 fractional digits, SQL Server has no unbounded decimal.
func TestSinkTypesHoldTheSourceValues(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := 0; i < 5000; i++ {
		src := randomColumn(rng, true)
		for _, sink := range []Sink{SinkDebezium, SinkConfluent} {
			for _, driver := range []string{"postgres", "sqlserver"} {
				tgt := parseType(SinkType(src, sink, driver))
				why := Lossy(src, tgt)
				sh := shapeOf(src)
				finer := driver == "postgres" && sink == SinkDebezium && sh.frac > 6
				unbounded := driver == "sqlserver" && sh.fam == famDecimal && sh.digits < 0 // SQL Server has no unbounded decimal
				if why != "" && !finer && !unbounded {
					t.Fatalf("seed %d: the %v sink on %s maps %s to %s, which loses values: %s", seed, sink, driver, describe(src), SinkType(src, sink, driver), why)
				}
			}
		}
	}
}

// parseType reads a declared type back into a catalog column.
func parseType(decl string) Column {
	c := Column{Type: decl, Length: -1, Precision: -1, Scale: -1, TimePrecision: -1}
	name, args, _ := strings.Cut(decl, "(")
	args, rest, _ := strings.Cut(args, ")")
	c.Type = strings.TrimSpace(name + rest)
	if c.Type == "timestamp with time zone" {
		c.Type = "timestamptz"
	}
	var a, b int
	switch n, _ := fmt.Sscanf(args, "%d,%d", &a, &b); {
	case args == "max":
	case n == 2:
		c.Precision, c.Scale = a, b
	case n == 1 && strings.Contains(c.Type, "char"):
		c.Length = a
	case n == 1:
		c.TimePrecision = a
	}
	return c
}
