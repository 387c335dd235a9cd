package rowhash

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SplitFields splits the canonical encoding of a row of len(kinds) fields
// into its fields. Text fields are skipped by their length prefix, so a
// '|' inside one does not split it.
func SplitFields(kinds []Kind, enc string) ([]string, error) {
	out := make([]string, 0, len(kinds))
	rest := enc
	for i, k := range kinds {
		if i > 0 {
			if rest == "" || rest[0] != Separator {
				return nil, fmt.Errorf("rowhash: %q: field %d is not preceded by %q", enc, i, Separator)
			}
			rest = rest[1:]
		}
		if rest == Null || strings.HasPrefix(rest, Null+string(Separator)) {
			out = append(out, Null)
			rest = rest[len(Null):]
			continue
		}
		if k == KindText || k == KindChar {
			n, after, ok := strings.Cut(rest, ":")
			l, err := strconv.Atoi(n)
			if !ok || err != nil || l < 0 || l > len(after) {
				return nil, fmt.Errorf("rowhash: %q: field %d is not a length-prefixed text", enc, i)
			}
			out = append(out, rest[:len(n)+1+l])
			rest = after[l:]
			continue
		}
		j := strings.IndexByte(rest, Separator)
		if j < 0 {
			j = len(rest)
		}
		out = append(out, rest[:j])
		rest = rest[j:]
	}
	if rest != "" {
		return nil, fmt.Errorf("rowhash: %q has more than %d fields", enc, len(kinds))
	}
	return out, nil
}

// ParseField turns a canonical field back into the Go value the reference
// encoder takes (see Value); NULL is nil.
func ParseField(k Kind, field string) (Value, error) {
	if field == Null {
		return nil, nil
	}
	v, ok := parseField(k, field)
	if !ok {
		return nil, fmt.Errorf("rowhash: %q is not a canonical %s field", field, k)
	}
	return v, nil
}

func parseField(k Kind, field string) (Value, bool) {
	switch k {
	case KindInt, KindTimestamp, KindTimestampTZ, KindDate, KindTime:
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil {
			return nil, false
		}
		return integerField(k, n)
	case KindDecimal:
		_, err := CanonicalDecimal(field)
		return field, err == nil
	case KindBool:
		return field == "t", field == "t" || field == "f"
	case KindText, KindChar:
		return DecodeText(field)
	case KindUUID:
		return field, len(field) == 36
	case KindBytes:
		b, err := hex.DecodeString(field)
		return b, err == nil
	}
	return nil, false
}

// integerField is the value of a field of kind k written as an integer:
// microseconds since the epoch, days since 1970-01-01, microseconds of
// the day (never negative), or the number itself.
func integerField(k Kind, n int64) (Value, bool) {
	switch k {
	case KindTimestamp, KindTimestampTZ:
		return time.UnixMicro(n).UTC(), true
	case KindDate:
		return time.Unix(n*86400, 0).UTC(), true
	case KindTime:
		return time.Duration(n) * time.Microsecond, n >= 0
	}
	return n, true
}
