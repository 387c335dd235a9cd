package connectorkind

import (
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want string // "" when valid
	}{
		{"inventory-source", ""},
		{"orders.sink", ""},
		{"...", ""},
		{"a..b", ""},
		{"Ünïcode name", ""},
		{"", "empty"},
		{".", "dot segment"},
		{"..", "dot segment"},
		{"a/b", "contains '/'"},
		{"/", "contains '/'"},
		{" padded", "white space"},
		{"padded\t", "white space"},
		{"line\nbreak", "control character U+000A"},
		{"nul\x00", "control character U+0000"},
		{"c1\u0085x", "control character U+0085"},
		{"bad\xffutf8", "not valid UTF-8"},
	} {
		err := ValidateName(tc.name)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("ValidateName(%q) = %v, want nil", tc.name, err)
		case tc.want != "" && err == nil:
			t.Errorf("ValidateName(%q) = nil, want an error with %q", tc.name, tc.want)
		case tc.want != "" && !strings.Contains(err.Error(), tc.want):
			t.Errorf("ValidateName(%q) = %q, want it to contain %q", tc.name, err, tc.want)
		}
	}
}
