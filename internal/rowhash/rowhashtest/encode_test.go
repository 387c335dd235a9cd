package rowhashtest

import (
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
)

func TestAppendField(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC)
	cases := []struct {
		name string
		kind rowhash.Kind
		v    rowhash.Value
		want string
	}{
		{"null", rowhash.KindText, nil, "N"},
		{"empty text is not null", rowhash.KindText, "", "0:"},
		{"text carries its byte length", rowhash.KindText, "héllo|N", "8:héllo|N"},
		{"int", rowhash.KindInt, int64(-42), "-42"},
		{"decimal drops trailing zeros", rowhash.KindDecimal, "1.500", "1.5"},
		{"decimal integral", rowhash.KindDecimal, "100.00", "100"},
		{"decimal negative zero", rowhash.KindDecimal, "-0.000", "0"},
		{"decimal from rat", rowhash.KindDecimal, big.NewRat(-1, 8), "-0.125"},
		{"decimal exponent", rowhash.KindDecimal, "1.2e3", "1200"},
		{"bool", rowhash.KindBool, true, "t"},
		{"timestamp rounds half up to µs", rowhash.KindTimestamp, ts, "1704164645123457"},
		{"timestamp before epoch", rowhash.KindTimestamp, time.Date(1969, 12, 31, 23, 59, 59, 999999500, time.UTC), "0"},
		{"date", rowhash.KindDate, time.Date(1970, 1, 11, 0, 0, 0, 0, time.UTC), "10"},
		{"time", rowhash.KindTime, 90*time.Minute + 1500*time.Nanosecond, "5400000002"},
		{"uuid lower", rowhash.KindUUID, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
		{"bytes hex", rowhash.KindBytes, []byte{0, 0xAB}, "00ab"},
		// char(n) padding is not data, whatever column it lands in.
		{"char drops trailing spaces", rowhash.KindChar, "ab   ", "2:ab"},
		{"char keeps leading spaces and tabs", rowhash.KindChar, " a\t ", "3: a\t"},
		{"char all blanks is empty, not null", rowhash.KindChar, "    ", "0:"},
		// Non-BMP characters are four UTF-8 bytes, not two UTF-16 units.
		{"text outside the BMP", rowhash.KindText, "😀€", "7:😀€"},
		// The slowly-changing-dimension "end of time" rounds half up into
		// year 10000, as pgjdbc writes it into a timestamp(6).
		{"end of time rounds up", rowhash.KindTimestamp, time.Date(9999, 12, 31, 23, 59, 59, 999999900, time.UTC), "253402300800000000"},
		// Debezium's JDBC sink writes it as midnight (seen through the
		// real sink: TestSQLServerEventsThroughTheRealSink).
		{"time rounding up past the day is midnight", rowhash.KindTime, 24*time.Hour - 100*time.Nanosecond, "0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AppendField(nil, tc.kind, tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// Each kind's other accepted Go types, which the table above does not
// reach.
func TestAppendFieldOtherGoTypes(t *testing.T) {
	uuid := [16]byte{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11}
	cases := []struct {
		kind rowhash.Kind
		v    rowhash.Value
		want string
	}{
		{rowhash.KindInt, 7, "7"},
		{rowhash.KindInt, int32(-7), "-7"},
		{rowhash.KindInt, uint32(4000000000), "4000000000"},
		{rowhash.KindDecimal, (*big.Rat)(nil), "N"},
		{rowhash.KindBool, false, "f"},
		{rowhash.KindTimestampTZ, time.Date(1970, 1, 1, 1, 0, 0, 0, time.FixedZone("CET", 3600)), "0"},
		{rowhash.KindUUID, uuid, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
	}
	for _, tc := range cases {
		got, err := AppendField([]byte("x|"), tc.kind, tc.v)
		if err != nil {
			t.Errorf("%s %T: %v", tc.kind, tc.v, err)
			continue
		}
		if string(got) != "x|"+tc.want {
			t.Errorf("%s %T: got %q, want %q after the prefix", tc.kind, tc.v, got, tc.want)
		}
	}
}

func TestAppendFieldRejectsWrongType(t *testing.T) {
	for _, k := range []rowhash.Kind{rowhash.KindInt, rowhash.KindDecimal, rowhash.KindBool, rowhash.KindText, rowhash.KindChar, rowhash.KindTimestamp, rowhash.KindTimestampTZ, rowhash.KindDate, rowhash.KindTime, rowhash.KindUUID, rowhash.KindBytes} {
		got, err := AppendField([]byte("x"), k, struct{}{})
		if err == nil || !strings.Contains(err.Error(), "cannot be encoded as") {
			t.Errorf("a struct{} encoded as %s: err %v, want one naming the kind", k, err)
		}
		if string(got) != "x" {
			t.Errorf("%s: a rejected value changed the buffer to %q", k, got)
		}
	}
	if _, err := AppendField(nil, rowhash.KindDecimal, "1,5"); err == nil {
		t.Fatal("1,5 encoded as a decimal: want an error")
	}
	if _, err := rowhash.CanonicalDecimal("1,5"); err == nil {
		t.Fatal("1,5 accepted as a decimal")
	}
}

// The separator and NULL must not let two different rows share an
// encoding: ("a|b", NULL) vs ("a", "b|N") and (NULL) vs ("N") and (”).
func TestEncodeRowDoesNotCollide(t *testing.T) {
	kinds := []rowhash.Kind{rowhash.KindText, rowhash.KindText}
	rows := [][]rowhash.Value{{"a|b", nil}, {"a", "b|N"}, {"N", nil}, {nil, "N"}, {"", nil}, {nil, ""}, {"", ""}, {nil, nil}}
	seen := map[string][]rowhash.Value{}
	for _, r := range rows {
		enc, err := EncodeRow(kinds, r)
		if err != nil {
			t.Fatal(err)
		}
		if prev, ok := seen[string(enc)]; ok {
			t.Fatalf("%v and %v both encode as %q", prev, r, enc)
		}
		seen[string(enc)] = r
	}
}
