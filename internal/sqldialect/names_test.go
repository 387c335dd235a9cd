package sqldialect

import "testing"

func TestFindColumnPrefersTheExactNameThenIgnoresCase(t *testing.T) {
	cols := []Column{{Name: "id"}, {Name: "Amount"}, {Name: "amount"}, {Name: "Note"}}
	name := func(c Column) string { return c.Name }
	for _, tc := range []struct {
		want, got string
		found     bool
	}{
		{"Amount", "Amount", true},
		{"amount", "amount", true},
		{"AMOUNT", "Amount", true}, // the first one equal ignoring case
		{"note", "Note", true},     // a sink that folded the name to lower case
		{"added", "", false},
	} {
		c, ok := FindColumn(cols, tc.want, name)
		if ok != tc.found || c.Name != tc.got {
			t.Errorf("FindColumn(%q) = %q, %v; want %q, %v", tc.want, c.Name, ok, tc.got, tc.found)
		}
	}
	if !HasColumn([]string{"UpdatedAt"}, "updatedat") || HasColumn([]string{"UpdatedAt"}, "Updated") {
		t.Error("HasColumn does not match names as FindColumn does")
	}
}
