// Package rowhash is cdc-sentinel's canonical row encoding (docs/drift.md):
// how one row of a replicated table becomes bytes and a hash, identically
// in Go and inside SQL Server and PostgreSQL. Comparing rows across the two
// engines only works if both sides agree byte for byte; the SQL that
// computes it in each engine is internal/sqldialect's, checked against the
// Go reference encoder.
package rowhash

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
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

// Value is one column value in Go, as ParseField returns it and the
// reference encoder (rowhashtest) takes it. Go types per kind:
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

// Hash is a row's hash: the first 8 bytes of the MD5 of its encoding, as
// two signed big-endian 32-bit halves. Both engines can sum 32-bit
// integers into a 64-bit total without overflow, which is how a bucket of
// rows is summarised (see Sum).
type Hash struct{ A, B int32 }

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
