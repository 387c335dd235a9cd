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

// Each part is quoted whole: a dot, a space or a quote inside a part
// keeps it one part, where QuoteTable would split the dotted name.
func TestQuoteParts(t *testing.T) {
	for _, tc := range []struct {
		d    Dialect
		want string
	}{
		{SQLServer{}, `[odd.schema].[it's]]]`},
		{Postgres{}, `"odd.schema"."it's]"`},
	} {
		if got := QuoteParts(tc.d, "odd.schema", "it's]"); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.d.Name(), got, tc.want)
		}
	}
	p := Postgres{}
	if got, want := QuoteParts(p, "a", `b"c`), p.QuoteTable(`a.b"c`); got != want {
		t.Errorf("parts %s, dotted %s", got, want)
	}
}

// A driver without a dialect is named in the error.
func TestForUnknownDriver(t *testing.T) {
	if _, err := For("mysql"); err == nil || err.Error() != `sqldialect: no dialect for driver "mysql"` {
		t.Errorf("For(mysql): %v", err)
	}
	for _, driver := range []string{"postgres", "sqlserver"} {
		if d, err := For(driver); err != nil || d.Name() != driver {
			t.Errorf("For(%s): %v, %v", driver, d, err)
		}
	}
}
