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
	bad := func() (Value, error) { return nil, fmt.Errorf("rowhash: %q is not a canonical %s field", field, k) }
	switch k {
	case KindInt:
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil {
			return bad()
		}
		return n, nil
	case KindDecimal:
		if _, err := CanonicalDecimal(field); err != nil {
			return bad()
		}
		return field, nil
	case KindBool:
		switch field {
		case "t":
			return true, nil
		case "f":
			return false, nil
		}
		return bad()
	case KindText, KindChar:
		s, ok := DecodeText(field)
		if !ok {
			return bad()
		}
		return s, nil
	case KindTimestamp, KindTimestampTZ:
		us, err := strconv.ParseInt(field, 10, 64)
		if err != nil {
			return bad()
		}
		return time.UnixMicro(us).UTC(), nil
	case KindDate:
		days, err := strconv.ParseInt(field, 10, 64)
		if err != nil {
			return bad()
		}
		return time.Unix(days*86400, 0).UTC(), nil
	case KindTime:
		us, err := strconv.ParseInt(field, 10, 64)
		if err != nil || us < 0 {
			return bad()
		}
		return time.Duration(us) * time.Microsecond, nil
	case KindUUID:
		if len(field) != 36 {
			return bad()
		}
		return field, nil
	case KindBytes:
		b, err := hex.DecodeString(field)
		if err != nil {
			return bad()
		}
		return b, nil
	}
	return bad()
}
