package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	if newProgressBar("auto", &buf) != nil || newProgressBar("never", &buf) != nil {
		t.Error("no bar off a terminal unless --progress=always")
	}
	var none *progressBar
	none.draw("read", 1, 2, "") // nil draws nothing and does not panic
	none.finish()
	b := newProgressBar("always", &buf)
	b.draw("replay", 15, 30, "2 differing")
	b.draw("replay", 30, 30, "")
	b.finish()
	out := buf.String()
	for _, want := range []string{"replay  [###############...............] 15/30  2 differing", "[##############################] 30/30", "\r\033[K"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in %q", want, out)
		}
	}
}
