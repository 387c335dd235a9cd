package schemadrift

import (
	"fmt"
	"strings"
)

// family is what a type holds, whatever the engine calls it.
type family int

const (
	famUnknown family = iota
	famInt
	famDecimal
	famFloat
	famBool
	famText
	famBinary
	famUUID
	famDate
	famTime
	famTimestamp
	famTimestampTZ
)

var familyNames = [...]string{"unknown", "integer", "decimal", "float", "boolean", "text", "binary", "uuid", "date", "time", "timestamp", "timestamp with time zone"}

func (f family) String() string { return familyNames[f] }

// shape is a column's type reduced to what decides loss.
type shape struct {
	fam family
	// bits of an integer or float; the sign takes one of an integer's
	// (tinyint is 8 unsigned bits, so 9 here).
	bits int
	// digits and scale of a decimal: -1 digits for unbounded.
	digits, scale int
	// length of text or binary: -1 for unbounded.
	length int
	// frac is a temporal type's fractional-second digits.
	frac int
}

// fixedShapes are the types whose shape their name alone decides.
var fixedShapes = map[string]shape{
	"tinyint":  {fam: famInt, bits: 9},
	"smallint": {fam: famInt, bits: 16}, "int2": {fam: famInt, bits: 16}, "smallserial": {fam: famInt, bits: 16},
	"integer": {fam: famInt, bits: 32}, "int": {fam: famInt, bits: 32}, "int4": {fam: famInt, bits: 32}, "serial": {fam: famInt, bits: 32},
	"bigint": {fam: famInt, bits: 64}, "int8": {fam: famInt, bits: 64}, "bigserial": {fam: famInt, bits: 64},
	"smallmoney": {fam: famDecimal, digits: 10, scale: 4},
	"real":       {fam: famFloat, bits: 24}, "float4": {fam: famFloat, bits: 24},
	"double precision": {fam: famFloat, bits: 53}, "float8": {fam: famFloat, bits: 53},
	"bit": {fam: famBool}, "boolean": {fam: famBool}, "bool": {fam: famBool},
	"text": {fam: famText, length: -1}, "ntext": {fam: famText, length: -1}, "citext": {fam: famText, length: -1},
	"xml": {fam: famText, length: -1}, "json": {fam: famText, length: -1}, "jsonb": {fam: famText, length: -1}, "name": {fam: famText, length: -1},
	"bytea": {fam: famBinary, length: -1}, "image": {fam: famBinary, length: -1},
	"uuid": {fam: famUUID}, "uniqueidentifier": {fam: famUUID},
	"date": {fam: famDate},
	// 1/300 s ticks: three digits are needed to hold it.
	"datetime":      {fam: famTimestamp, frac: 3},
	"smalldatetime": {fam: famTimestamp, frac: 0},
}

// shapeOf reads a catalog column of either engine (PostgreSQL and SQL
// Server type names do not collide in meaning where they are shared).
func shapeOf(c Column) shape {
	t := strings.ToLower(strings.TrimSpace(c.Type))
	if s, ok := fixedShapes[t]; ok {
		return s
	}
	frac := 6
	if c.TimePrecision >= 0 {
		frac = c.TimePrecision
	}
	switch t {
	case "numeric", "decimal":
		if c.Precision <= 0 {
			return shape{fam: famDecimal, digits: -1, scale: -1}
		}
		return shape{fam: famDecimal, digits: c.Precision, scale: max(c.Scale, 0)}
	case "money":
		// SQL Server's money is decimal(19,4); PostgreSQL's is a 64-bit
		// count of cents, 2 decimals.
		if c.Precision == 19 || c.Scale == 4 {
			return shape{fam: famDecimal, digits: 19, scale: 4}
		}
		return shape{fam: famDecimal, digits: 19, scale: 2}
	case "float":
		// SQL Server float(n): n ≤ 24 is real, else 53 bits.
		if c.Precision > 0 && c.Precision <= 24 {
			return shape{fam: famFloat, bits: 24}
		}
		return shape{fam: famFloat, bits: 53}
	case "char", "nchar", "character", "bpchar", "varchar", "nvarchar", "character varying", "sysname":
		return shape{fam: famText, length: c.Length}
	case "binary", "varbinary":
		return shape{fam: famBinary, length: c.Length}
	case "time", "time without time zone":
		return shape{fam: famTime, frac: frac}
	case "datetime2", "timestamp", "timestamp without time zone":
		return shape{fam: famTimestamp, frac: frac}
	case "datetimeoffset", "timestamp with time zone", "timestamptz":
		return shape{fam: famTimestampTZ, frac: frac}
	}
	return shape{fam: famUnknown}
}

// intDigits is how many decimal digits an integer of bits needs.
func intDigits(bits int) int {
	switch {
	case bits <= 9:
		return 3
	case bits <= 16:
		return 5
	case bits <= 32:
		return 10
	}
	return 19
}

// textWidth is how many characters a value of s needs as text; -1 when
// unbounded.
func textWidth(s shape) int {
	switch s.fam {
	case famInt:
		if s.bits == 9 {
			return 3 // unsigned
		}
		return intDigits(s.bits) + 1
	case famDecimal:
		if s.digits < 0 {
			return -1
		}
		// Sign, at least one digit before the point, the point and the
		// decimals: -0.99 for decimal(2,2).
		w := 1 + max(s.digits-s.scale, 1)
		if s.scale > 0 {
			w += 1 + s.scale
		}
		return w
	case famFloat:
		// The shortest text that reads back as the same float:
		// -1.1754944e-38, -2.2250738585072014e-308.
		if s.bits <= 24 {
			return 14
		}
		return 24
	case famBool:
		return 5
	case famUUID:
		return 36
	case famDate:
		return 10
	case famTime:
		return 8 + fracWidth(s.frac)
	case famTimestamp:
		return 19 + fracWidth(s.frac)
	case famTimestampTZ:
		return 25 + fracWidth(s.frac)
	case famText, famBinary:
		return s.length
	}
	return -1
}

// floatDigits is how many decimal digits every whole number of that
// many digits keeps exactly in a float of bits mantissa bits.
func floatDigits(bits int) int {
	if bits <= 24 {
		return 7
	}
	return 15
}

func fracWidth(frac int) int {
	if frac > 0 {
		return frac + 1
	}
	return 0
}

// Lossy says why a target column of tgt's type cannot hold every value
// of a source column of src's type as the sink writes it, or "" when it
// can (or when a type is unknown, so nothing is claimed): a narrower
// integer, decimal, float, string or binary; fewer fractional seconds; a
// number into text too short for it; text, a float or a decimal with
// a fraction into an integer; a zoned timestamp without its zone. An
// integer target of 64 bits holds any temporal value, as the Confluent
// sink writes Debezium's io.debezium.time types (epoch units), and one of
// 32 bits a date (days).
func Lossy(src, tgt Column) string {
	s, t := shapeOf(src), shapeOf(tgt)
	if s.fam == famUnknown || t.fam == famUnknown {
		return ""
	}
	what := fmt.Sprintf("%s into %s: ", describe(src), describe(tgt))
	if why := lossyShape(s, t); why != "" {
		return what + why
	}
	return ""
}

func lossyShape(s, t shape) string {
	switch {
	case t.fam == famText && s.fam != famText && s.fam != famBinary:
		if w := textWidth(s); t.length >= 0 && (w < 0 || w > t.length) {
			return fmt.Sprintf("values need up to %s characters, the target holds %d", widthWords(w), t.length)
		}
		return ""
	case s.fam == famText && t.fam != famText:
		return "text into a " + t.fam.String() + " fails or changes every value that is not one"
	}
	switch s.fam {
	case famInt:
		return lossyInt(s, t)
	case famDecimal:
		return lossyDecimal(s, t)
	case famFloat:
		return lossyFloat(s, t)
	case famText, famBinary:
		return lossyBytes(s, t)
	case famBool:
		return lossyBool(s, t)
	case famUUID:
		if t.fam == famUUID {
			return ""
		}
	case famDate, famTime, famTimestamp, famTimestampTZ:
		return lossyTime(s, t)
	}
	return "a " + s.fam.String() + " into a " + t.fam.String()
}

func lossyFloat(s, t shape) string {
	switch {
	case t.fam == famFloat && t.bits >= s.bits, t.fam == famDecimal && t.digits < 0:
		return ""
	case t.fam == famFloat:
		return "a narrower float"
	}
	return "a binary float into a " + t.fam.String()
}

// lossyBytes judges text into text and binary into binary.
func lossyBytes(s, t shape) string {
	if t.fam != s.fam {
		return "a " + s.fam.String() + " into a " + t.fam.String()
	}
	if t.length >= 0 && (s.length < 0 || s.length > t.length) {
		return fmt.Sprintf("values up to %s long, the target holds %d", widthWords(s.length), t.length)
	}
	return ""
}

func lossyBool(s, t shape) string {
	switch {
	case t.fam == famDecimal && t.digits >= 0 && t.digits-t.scale < 1:
		return "a boolean into a decimal without a digit before the point"
	case t.fam == famBool || t.fam == famInt || t.fam == famDecimal || t.fam == famFloat:
		return ""
	}
	return "a " + s.fam.String() + " into a " + t.fam.String()
}

func lossyInt(s, t shape) string {
	switch t.fam {
	case famInt:
		if t.bits < s.bits {
			return "a narrower integer"
		}
		return ""
	case famDecimal:
		if t.digits >= 0 && t.digits-t.scale < intDigits(s.bits) {
			return fmt.Sprintf("%d-digit integers, the target holds %d digits before the point", intDigits(s.bits), t.digits-t.scale)
		}
		return ""
	case famFloat:
		if s.bits > t.bits+1 {
			return "integers beyond the float's exact range"
		}
		return ""
	}
	return "an integer into a " + t.fam.String()
}

func lossyDecimal(s, t shape) string {
	switch t.fam {
	case famDecimal:
		switch {
		case t.digits < 0:
			return ""
		case s.digits < 0:
			return "an unbounded decimal into a bounded one"
		case t.scale < s.scale:
			return fmt.Sprintf("%d decimals, the target keeps %d", s.scale, t.scale)
		case t.digits-t.scale < s.digits-s.scale:
			return fmt.Sprintf("%d digits before the point, the target holds %d", s.digits-s.scale, t.digits-t.scale)
		}
		return ""
	case famInt:
		switch {
		case s.digits < 0 || s.scale > 0:
			return "the fraction is lost"
		case s.digits > intDigits(t.bits)-1:
			return fmt.Sprintf("%d digits, the integer holds %d", s.digits, intDigits(t.bits)-1)
		}
		return ""
	case famFloat:
		// A whole number of fewer digits than the mantissa holds is
		// exact; a fraction or a longer number is rounded.
		if s.digits >= 0 && s.scale == 0 && s.digits <= floatDigits(t.bits) {
			return ""
		}
		return "a decimal into a binary float, which rounds it"
	}
	return "a decimal into a " + t.fam.String()
}

func lossyTime(s, t shape) string {
	if t.fam == famInt {
		// Epoch units: days of a date fit 32 bits, the rest need 64.
		if t.bits >= 64 || s.fam == famDate && t.bits >= 32 {
			return ""
		}
		return "a temporal value into an integer too narrow for its epoch units"
	}
	switch {
	case s.fam == t.fam, s.fam == famTimestamp && t.fam == famTimestampTZ, s.fam == famDate && (t.fam == famTimestamp || t.fam == famTimestampTZ):
		if (s.fam == famTime || s.fam == famTimestamp || s.fam == famTimestampTZ) && t.frac < s.frac {
			return fmt.Sprintf("%d fractional-second digits, the target keeps %d", s.frac, t.frac)
		}
		return ""
	case s.fam == famTimestampTZ && t.fam == famTimestamp:
		return "the offset from UTC is lost"
	}
	return "a " + s.fam.String() + " into a " + t.fam.String()
}

func widthWords(w int) string {
	if w < 0 {
		return "unbounded"
	}
	return fmt.Sprint(w)
}

// describe writes a column's type the way its engine declares it.
func describe(c Column) string {
	s := shapeOf(c)
	switch {
	case (s.fam == famText || s.fam == famBinary) && c.Length > 0 && !strings.Contains(c.Type, "text"):
		return fmt.Sprintf("%s(%d)", c.Type, c.Length)
	case s.fam == famText && c.Length == -1 && (c.Type == "varchar" || c.Type == "nvarchar" || c.Type == "varbinary"):
		return c.Type + "(max)"
	case s.fam == famDecimal && c.Precision > 0 && (c.Type == "numeric" || c.Type == "decimal"):
		return fmt.Sprintf("%s(%d,%d)", c.Type, c.Precision, max(c.Scale, 0))
	case (s.fam == famTime || s.fam == famTimestamp || s.fam == famTimestampTZ) && c.TimePrecision >= 0 && c.Type != "datetime" && c.Type != "smalldatetime":
		return fmt.Sprintf("%s(%d)", c.Type, c.TimePrecision)
	}
	return c.Type
}
