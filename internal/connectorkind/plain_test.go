package connectorkind

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// A plain list entry matches exactly what its regular expression
// (case-insensitive, anchored) matches: the oracle is Go's regexp on
// random entries and names drawn from letters that fold in odd ways,
// dots escaped and not, and a newline.
func TestPlainEntriesMatchAsTheirRegularExpressionOracle(t *testing.T) {
	seed := rand.Uint64()
	r := rand.New(rand.NewPCG(seed, 0))
	entryParts := []string{"a", "A", "b", "k", "K", "\u212a", "s", "ß", "ẞ", "é", "É", "_", "1", ".", `\.`, "-"}
	idParts := []string{"a", "A", "b", "k", "K", "\u212a", "s", "ß", "ẞ", "é", "É", "_", "1", ".", "-", "\n", "x"}
	draw := func(parts []string, n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(parts[r.IntN(len(parts))])
		}
		return b.String()
	}
	for i := 0; i < 20000; i++ {
		e := draw(entryParts, 1+r.IntN(5))
		p, ok := plainEntry(e)
		if !ok {
			t.Fatalf("seed %d: %q is plain but was not read as such", seed, e)
		}
		rx := regexp.MustCompile(`(?i)^(?:` + e + `)$`)
		for range 5 {
			id := draw(idParts, r.IntN(6))
			if r.IntN(3) == 0 { // often a near miss of the entry itself
				id = strings.ReplaceAll(strings.ReplaceAll(e, `\.`, "."), "a", draw(idParts, 1))
			}
			if got, want := p.match(id), rx.MatchString(id); got != want {
				t.Fatalf("seed %d: entry %q on %q: plain match %v, regexp %v", seed, e, id, got, want)
			}
		}
	}
}

func TestEntriesWithRegularExpressionSyntaxAreNotPlain(t *testing.T) {
	for _, e := range []string{"dbo.t.*", "dbo.(a|b)", "dbo.t[0-9]", `dbo\.t\d`, "^dbo.t$", "dbo.t+", "dbo.t?", "dbo.t{2}", `dbo.t\`} {
		if _, ok := plainEntry(e); ok {
			t.Errorf("%q was read as plain", e)
		}
	}
}
