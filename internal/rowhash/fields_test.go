package rowhash_test

import (
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash/rowhashtest"
)

func TestSplitFieldsInvertsEncodeRow(t *testing.T) {
	kinds := []rowhash.Kind{rowhash.KindText, rowhash.KindInt, rowhash.KindChar, rowhash.KindUUID, rowhash.KindTimestamp}
	rows := [][]rowhash.Value{
		{"a|b", int64(-7), "x  ", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", time.Date(2024, 1, 2, 3, 4, 5, 123456700, time.UTC)},
		{nil, nil, nil, nil, nil},
		{"", int64(0), "", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", time.Date(9999, 12, 31, 23, 59, 59, 999999900, time.UTC)},
		{"N", int64(1), "N|", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"😀|3:x", int64(1), "é", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", time.Unix(0, 0)},
	}
	for _, r := range rows {
		enc, err := rowhashtest.EncodeRow(kinds, r)
		if err != nil {
			t.Fatal(err)
		}
		fields, err := rowhash.SplitFields(kinds, string(enc))
		if err != nil {
			t.Fatalf("%q: %v", enc, err)
		}
		var again []rowhash.Value
		for i, f := range fields {
			v, err := rowhash.ParseField(kinds[i], f)
			if err != nil {
				t.Fatal(err)
			}
			again = append(again, v)
		}
		enc2, err := rowhashtest.EncodeRow(kinds, again)
		if err != nil {
			t.Fatal(err)
		}
		if string(enc2) != string(enc) {
			t.Errorf("%q split and parsed re-encodes as %q", enc, enc2)
		}
	}
	for _, bad := range []string{"", "5:ab|1|N|N|N", "N|1|N|N|N|N", "N|1|N|N"} {
		if _, err := rowhash.SplitFields(kinds, bad); err == nil {
			t.Errorf("%q split without error", bad)
		}
	}
}
