// Package rowhash is cdc-sentinel's canonical row encoding (docs/drift.md):
// how one row of a replicated table becomes bytes and a hash, identically
// in Go and inside SQL Server and PostgreSQL. Comparing rows across the two
// engines only works if both sides agree byte for byte; the SQL that
// computes it in each engine is internal/sqldialect's, checked against the
// Go reference encoder.
package rowhash

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Kind is the canonical type a column is compared as. It is decided by
// the source column's type; the target column must be compatible.
type Kind int

// The supported kinds. Floating-point columns are not supported: their
// text forms differ between engines (and so would every hash); ignore such
// columns with ignore_columns.
const (
	KindInvalid     Kind = iota
	KindInt              // tinyint, smallint, int, bigint, integer
	KindDecimal          // decimal, numeric, money, smallmoney
	KindBool             // bit, boolean
	KindText             // varchar, nvarchar, text
	KindTimestamp        // datetime, datetime2, smalldatetime, timestamp
	KindTimestampTZ      // datetimeoffset, timestamptz
	KindDate             // date
	KindTime             // time
	KindUUID             // uniqueidentifier, uuid
	KindBytes            // binary, varbinary, bytea
	// KindChar is text whose trailing spaces are padding, not data: a
	// fixed-length source column (char(n), nchar(n), PostgreSQL
	// character(n)). Both sides are compared without trailing spaces,
	// whatever the target column's type, because the sinks write the
	// padded value into whatever column they find.
	KindChar
)

var kindNames = [...]string{"invalid", "int", "decimal", "bool", "text", "timestamp", "timestamptz", "date", "time", "uuid", "bytes", "char"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Separator separates the fields of a row. No field can contain it
// unescaped: non-text fields are drawn from [0-9a-z.:-] and text fields
// carry their byte length in front, so the bytes after it are skipped
// rather than scanned.
const Separator = '|'

// Null is the encoding of SQL NULL. Every non-NULL field is either a
// length-prefixed text ("0:" for the empty string) or a form that never
// equals "N", so NULL and ” never collide.
const Null = "N"

// Value is one column value as the Go reference takes it. Supported Go
// types per kind:
//
//	KindInt: int, int32, int64, uint32
//	KindDecimal: string (a decimal literal) or *big.Rat
//	KindBool: bool
//	KindText: string (UTF-8)
//	KindChar: string (UTF-8; trailing spaces are dropped)
//	KindTimestamp, KindTimestampTZ: time.Time
//	KindDate: time.Time (its calendar date in its location)
//	KindTime: time.Duration since midnight
//	KindUUID: [16]byte or string
//	KindBytes: []byte
//
// nil is NULL for every kind.
type Value = any

// AppendField appends the canonical encoding of v as kind k.
func AppendField(dst []byte, k Kind, v Value) ([]byte, error) {
	if v == nil {
		return append(dst, Null...), nil
	}
	var (
		out []byte
		ok  bool
		err error
	)
	switch k {
	case KindInt:
		out, ok = appendInt(dst, v)
	case KindDecimal:
		out, ok, err = appendDecimal(dst, v)
	case KindBool:
		out, ok = appendBool(dst, v)
	case KindText, KindChar:
		out, ok = appendText(dst, k, v)
	case KindTimestamp, KindTimestampTZ, KindDate, KindTime:
		out, ok = appendTemporal(dst, k, v)
	case KindUUID:
		out, ok = appendUUID(dst, v)
	case KindBytes:
		out, ok = appendHex(dst, v)
	}
	switch {
	case err != nil:
		return dst, err
	case !ok:
		return dst, fmt.Errorf("rowhash: a %T cannot be encoded as %s", v, k)
	}
	return out, nil
}

// The append* functions below encode one kind; ok is false for a Go type
// the kind does not take.

func appendInt(dst []byte, v Value) ([]byte, bool) {
	switch x := v.(type) {
	case int:
		return strconv.AppendInt(dst, int64(x), 10), true
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), true
	case int64:
		return strconv.AppendInt(dst, x, 10), true
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), true
	}
	return dst, false
}

func appendDecimal(dst []byte, v Value) ([]byte, bool, error) {
	var lit string
	switch x := v.(type) {
	case string:
		lit = x
	case *big.Rat:
		if x == nil {
			return append(dst, Null...), true, nil
		}
		lit = x.FloatString(40)
	default:
		return dst, false, nil
	}
	s, err := CanonicalDecimal(lit)
	if err != nil {
		return dst, true, err
	}
	return append(dst, s...), true, nil
}

func appendBool(dst []byte, v Value) ([]byte, bool) {
	b, ok := v.(bool)
	switch {
	case !ok:
		return dst, false
	case b:
		return append(dst, 't'), true
	}
	return append(dst, 'f'), true
}

// appendText writes the length in bytes, a colon and the text; a CHAR
// loses its trailing padding first.
func appendText(dst []byte, k Kind, v Value) ([]byte, bool) {
	s, ok := v.(string)
	if !ok {
		return dst, false
	}
	if k == KindChar {
		s = strings.TrimRight(s, " ")
	}
	dst = strconv.AppendInt(dst, int64(len(s)), 10)
	dst = append(dst, ':')
	return append(dst, s...), true
}

// appendTemporal writes timestamps as epoch microseconds, dates as days
// since the epoch and times of day as microseconds since midnight.
func appendTemporal(dst []byte, k Kind, v Value) ([]byte, bool) {
	if k == KindTime {
		d, ok := v.(time.Duration)
		if !ok {
			return dst, false
		}
		return strconv.AppendInt(dst, roundMicros(d.Nanoseconds())%MicrosPerDay, 10), true
	}
	t, ok := v.(time.Time)
	if !ok {
		return dst, false
	}
	if k == KindDate {
		y, m, d := t.Date()
		days := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
		return strconv.AppendInt(dst, days, 10), true
	}
	return strconv.AppendInt(dst, EpochMicros(t), 10), true
}

func appendUUID(dst []byte, v Value) ([]byte, bool) {
	switch x := v.(type) {
	case [16]byte:
		return append(dst, formatUUID(x)...), true
	case string:
		return append(dst, strings.ToLower(x)...), true
	}
	return dst, false
}

// appendHex writes bytes as lower-case hex.
func appendHex(dst []byte, v Value) ([]byte, bool) {
	b, ok := v.([]byte)
	if !ok {
		return dst, false
	}
	const hexdigits = "0123456789abcdef"
	for _, c := range b {
		dst = append(dst, hexdigits[c>>4], hexdigits[c&15])
	}
	return dst, true
}

// EncodeRow is the canonical encoding of a whole row: the fields in
// column order, separated by Separator.
func EncodeRow(kinds []Kind, values []Value) ([]byte, error) {
	if len(kinds) != len(values) {
		return nil, fmt.Errorf("rowhash: %d kinds for %d values", len(kinds), len(values))
	}
	var dst []byte
	for i, k := range kinds {
		if i > 0 {
			dst = append(dst, Separator)
		}
		var err error
		if dst, err = AppendField(dst, k, values[i]); err != nil {
			return nil, fmt.Errorf("column %d: %w", i, err)
		}
	}
	return dst, nil
}

// Hash is a row's hash: the first 8 bytes of the MD5 of its encoding, as
// two signed big-endian 32-bit halves. Both engines can sum 32-bit
// integers into a 64-bit total without overflow, which is how a bucket of
// rows is summarised (see Sum).
type Hash struct{ A, B int32 }

// HashBytes hashes an encoded row.
func HashBytes(enc []byte) Hash {
	sum := md5.Sum(enc)
	return Hash{A: int32(binary.BigEndian.Uint32(sum[0:4])), B: int32(binary.BigEndian.Uint32(sum[4:8]))}
}

// KeyHash is the 31-bit bucket hash of an encoded key: the first four
// bytes of its MD5 with the sign bit cleared. It depends on the key's
// bytes only, never on a collation, so both engines put a key in the same
// bucket.
func KeyHash(enc []byte) int32 {
	sum := md5.Sum(enc)
	return int32(binary.BigEndian.Uint32(sum[0:4]) & 0x7fffffff)
}

// Sum summarises a set of rows: their number and the sums of their hash
// halves. Equal sets give equal sums; a difference in any row changes
// them with overwhelming probability.
type Sum struct {
	Count int64
	A, B  int64
}

// MicrosPerDay wraps times of day: a time(7) of 23:59:59.9999995 or later
// rounds to midnight, which is what Debezium's JDBC sink writes (a
// java.time.LocalTime cannot be 24:00), so both sides encode it as 0.
const MicrosPerDay = 86_400_000_000

// EpochMicros is t as microseconds since 1970-01-01 00:00 UTC, rounded
// half up (towards +inf) the way PostgreSQL rounds a timestamp given more
// than six fractional digits.
func EpochMicros(t time.Time) int64 {
	sec := t.Unix()
	return sec*1_000_000 + roundMicros(int64(t.Nanosecond()))
}

// roundMicros rounds nanoseconds to microseconds, halves up.
func roundMicros(ns int64) int64 {
	q, r := ns/1000, ns%1000
	if r < 0 {
		q, r = q-1, r+1000
	}
	if r >= 500 {
		q++
	}
	return q
}

// CanonicalDecimal normalises a decimal literal: no exponent, no leading
// '+', no leading zeros, no trailing fractional zeros, no '-0'. 1.50 and
// 1.5 are the same value and encode the same; a value rounded to a smaller
// scale (1.25 → 1.3) does not.
func CanonicalDecimal(s string) (string, error) {
	r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
	if !ok {
		return "", fmt.Errorf("rowhash: %q is not a decimal", s)
	}
	return formatRat(r), nil
}

func formatRat(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	// The denominator of a finite decimal is 2^a·5^b: scale = max(a, b).
	d := new(big.Int).Set(r.Denom())
	scale := 0
	ten := big.NewInt(10)
	for d.Cmp(big.NewInt(1)) != 0 && scale < 1000 {
		scale++
		m := new(big.Int).Exp(ten, big.NewInt(int64(scale)), nil)
		if new(big.Int).Mod(m, r.Denom()).Sign() == 0 {
			break
		}
	}
	s := r.FloatString(scale)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

func formatUUID(u [16]byte) string {
	const hexdigits = "0123456789abcdef"
	var b [36]byte
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hexdigits[c>>4], hexdigits[c&15]
		j += 2
	}
	return string(b[:])
}

// DecodeText splits a length-prefixed text field ("5:héllo" has byte
// length 6, so "6:héllo") back into its string; ok is false for anything
// else.
func DecodeText(field string) (string, bool) {
	n, rest, ok := strings.Cut(field, ":")
	if !ok {
		return "", false
	}
	l, err := strconv.Atoi(n)
	if err != nil || l != len(rest) {
		return "", false
	}
	return rest, true
}
