// Package rowhashtest is the Go reference of rowhash's canonical
// encoding: how a Go value becomes a field, a row, its hash and its key's
// bucket hash, exactly as the SQL of every dialect must compute them in
// the database. Tests compare the dialects' SQL against it; the binary
// never imports it (the comparison itself runs in SQL).
package rowhashtest

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
)

// AppendField appends the canonical encoding of v as kind k.
func AppendField(dst []byte, k rowhash.Kind, v rowhash.Value) ([]byte, error) {
	if v == nil {
		return append(dst, rowhash.Null...), nil
	}
	var (
		out []byte
		ok  bool
		err error
	)
	switch k {
	case rowhash.KindInt:
		out, ok = appendInt(dst, v)
	case rowhash.KindDecimal:
		out, ok, err = appendDecimal(dst, v)
	case rowhash.KindBool:
		out, ok = appendBool(dst, v)
	case rowhash.KindText, rowhash.KindChar:
		out, ok = appendText(dst, k, v)
	case rowhash.KindTimestamp, rowhash.KindTimestampTZ, rowhash.KindDate, rowhash.KindTime:
		out, ok = appendTemporal(dst, k, v)
	case rowhash.KindUUID:
		out, ok = appendUUID(dst, v)
	case rowhash.KindBytes:
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

func appendInt(dst []byte, v rowhash.Value) ([]byte, bool) {
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

func appendDecimal(dst []byte, v rowhash.Value) ([]byte, bool, error) {
	var lit string
	switch x := v.(type) {
	case string:
		lit = x
	case *big.Rat:
		if x == nil {
			return append(dst, rowhash.Null...), true, nil
		}
		lit = x.FloatString(40)
	default:
		return dst, false, nil
	}
	s, err := rowhash.CanonicalDecimal(lit)
	if err != nil {
		return dst, true, err
	}
	return append(dst, s...), true, nil
}

func appendBool(dst []byte, v rowhash.Value) ([]byte, bool) {
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
func appendText(dst []byte, k rowhash.Kind, v rowhash.Value) ([]byte, bool) {
	s, ok := v.(string)
	if !ok {
		return dst, false
	}
	if k == rowhash.KindChar {
		s = strings.TrimRight(s, " ")
	}
	dst = strconv.AppendInt(dst, int64(len(s)), 10)
	dst = append(dst, ':')
	return append(dst, s...), true
}

// appendTemporal writes timestamps as epoch microseconds, dates as days
// since the epoch and times of day as microseconds since midnight.
func appendTemporal(dst []byte, k rowhash.Kind, v rowhash.Value) ([]byte, bool) {
	if k == rowhash.KindTime {
		d, ok := v.(time.Duration)
		if !ok {
			return dst, false
		}
		return strconv.AppendInt(dst, roundMicros(d.Nanoseconds())%rowhash.MicrosPerDay, 10), true
	}
	t, ok := v.(time.Time)
	if !ok {
		return dst, false
	}
	if k == rowhash.KindDate {
		y, m, d := t.Date()
		days := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
		return strconv.AppendInt(dst, days, 10), true
	}
	return strconv.AppendInt(dst, EpochMicros(t), 10), true
}

func appendUUID(dst []byte, v rowhash.Value) ([]byte, bool) {
	switch x := v.(type) {
	case [16]byte:
		return append(dst, formatUUID(x)...), true
	case string:
		return append(dst, strings.ToLower(x)...), true
	}
	return dst, false
}

// appendHex writes bytes as lower-case hex.
func appendHex(dst []byte, v rowhash.Value) ([]byte, bool) {
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
// column order, separated by rowhash.Separator.
func EncodeRow(kinds []rowhash.Kind, values []rowhash.Value) ([]byte, error) {
	if len(kinds) != len(values) {
		return nil, fmt.Errorf("rowhash: %d kinds for %d values", len(kinds), len(values))
	}
	var dst []byte
	for i, k := range kinds {
		if i > 0 {
			dst = append(dst, rowhash.Separator)
		}
		var err error
		if dst, err = AppendField(dst, k, values[i]); err != nil {
			return nil, fmt.Errorf("column %d: %w", i, err)
		}
	}
	return dst, nil
}

// HashBytes hashes an encoded row.
func HashBytes(enc []byte) rowhash.Hash {
	sum := md5.Sum(enc)
	return rowhash.Hash{A: int32(binary.BigEndian.Uint32(sum[0:4])), B: int32(binary.BigEndian.Uint32(sum[4:8]))}
}

// KeyHash is the 31-bit bucket hash of an encoded key: the first four
// bytes of its MD5 with the sign bit cleared. It depends on the key's
// bytes only, never on a collation, so both engines put a key in the same
// bucket.
func KeyHash(enc []byte) int32 {
	sum := md5.Sum(enc)
	return int32(binary.BigEndian.Uint32(sum[0:4]) & 0x7fffffff)
}

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
