package sqldialect

import "github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"

import "testing"

func TestPair(t *testing.T) {
	if k, err := Pair(rowhash.KindUUID, rowhash.KindText); err != nil || k != rowhash.KindUUID {
		t.Errorf("uuid/text: %v %v", k, err)
	}
	for _, p := range [][2]rowhash.Kind{{rowhash.KindChar, rowhash.KindText}, {rowhash.KindText, rowhash.KindChar}, {rowhash.KindChar, rowhash.KindChar}} {
		if k, err := Pair(p[0], p[1]); err != nil || k != rowhash.KindChar {
			t.Errorf("%s/%s: %v %v, want char", p[0], p[1], k, err)
		}
	}
	if _, err := Pair(rowhash.KindInt, rowhash.KindText); err == nil {
		t.Error("int/text paired")
	}
}
