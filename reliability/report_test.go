//go:build reliability

package reliability

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// report gathers the figures of one run and writes them as Markdown.
type report struct {
	mode                    string
	upstream                map[string]string
	started                 time.Time
	baseGoroutines, baseFDs float64
	baseSeries              int
	faults                  []faultResult
	faultEpisodes           int
	faultLost, faultDoubled int
	faultAuditWait          time.Duration
	crashes                 []crashResult
	load                    *loadResult
	soak                    *soakResult
}

func (r *report) write(t *testing.T) {
	var b strings.Builder
	fmt.Fprintf(&b, "Run of %s, %s, %d CPUs (%s/%s), %s mode, took %s.\n\n", r.started.UTC().Format("2006-01-02 15:04 MST"),
		goVersion(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, r.mode, time.Since(r.started).Round(time.Second))
	names := make([]string, 0, len(r.upstream))
	for n := range r.upstream {
		names = append(names, n)
	}
	sort.Strings(names)
	b.WriteString("Proxies: ")
	for i, n := range names {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "`%s` → %s", n, r.upstream[n])
	}
	b.WriteString(".\n\n")

	survived, late, leaks, spill := 0, 0, 0, 0
	for _, f := range r.faults {
		ok := f.late == 0 && len(f.otherPartsDown) == 0 && len(f.blanked) == 0 && f.recovered && f.leakSettled && f.alertStatus == 200
		if ok {
			survived++
		}
		late += f.late
		if !f.leakSettled {
			leaks++
		}
		if len(f.otherPartsDown) > 0 || len(f.blanked) > 0 {
			spill++
		}
	}
	b.WriteString("| figure | value |\n|---|---|\n")
	fmt.Fprintf(&b, "| faults survived (scrapes in time, only the faulted part's series changed, recovered, no leak, alert taken) | %d of %d |\n", survived, len(r.faults))
	fmt.Fprintf(&b, "| scrapes over the %v deadline under faults | %d of %d |\n", scrapeTimeout, late, len(r.faults)*scrapesPerFault)
	fmt.Fprintf(&b, "| faults where another part's series changed (its `*_up` left 1, or one of the %d pipeline series of a healthy scrape that does not need the faulted part went missing) | %d |\n", r.baseSeries, spill)
	fmt.Fprintf(&b, "| faults after which goroutines/fds did not settle back to baseline (%.0f goroutines, %.0f fds) | %d |\n", r.baseGoroutines, r.baseFDs, leaks)
	fmt.Fprintf(&b, "| alert episodes posted during faults: lost / decided twice (all decided %v after the last fault) | %d / %d of %d |\n", r.faultAuditWait.Round(time.Second), r.faultLost, r.faultDoubled, r.faultEpisodes)
	for _, c := range r.crashes {
		fmt.Fprintf(&b, "| kill -9 on %s: episodes, kills | %d episodes, %d kills |\n", c.store, c.episodes, c.kills)
		fmt.Fprintf(&b, "| … restarts the worker saw / episodes restarted twice / restarts not audited / audited interrupted / unfinished | %d / **%d** / %d / %d / %d |\n", c.actions, c.doubled, c.unaudited, c.interrupted, c.unfinished)
	}
	if l := r.load; l != nil {
		fmt.Fprintf(&b, "| load held: webhook posts in %v (8 senders, reload every 1 s, scrape every 1 s) | %d posts (%.0f/s), %d distinct episodes (%.0f%% duplicates), p50 %v, p99 %v |\n",
			l.duration, l.posts, float64(l.posts)/l.duration.Seconds(), l.distinct, 100*(1-float64(l.distinct)/float64(max(l.posts, 1))), l.p50.Round(time.Millisecond), l.p99.Round(time.Millisecond))
		fmt.Fprintf(&b, "| … every episode decided after the load ended | %v |\n", l.drained.Round(time.Second))
		fmt.Fprintf(&b, "| … non-2xx / 5xx answers to good posts | %d / %d |\n", l.non2xx, l.fivexx)
		fmt.Fprintf(&b, "| … reloads (failed) / scrapes (late or failed) | %d (%d) / %d (%d) |\n", l.reloads, l.failedR, l.scrapes, l.lateS)
		fmt.Fprintf(&b, "| … goroutines / fds over the pre-load baseline after the load and its reloads (settled) | %+.0f / %+.0f (%v) |\n", l.goroutineDelta, l.fdDelta, l.settled)
		fmt.Fprintf(&b, "| … episodes lost / decided twice | %d / %d |\n", l.lost, l.doubled)
		fmt.Fprintf(&b, "| bad inputs tried: malformed webhook bodies during load (answered 5xx) | %d (%d) |\n", l.bad, l.bad5xx)
	}
	if s := r.soak; s != nil {
		fmt.Fprintf(&b, "| soak %v (%d scrapes, %d late or failed): goroutines first → last (max); highest in the first → last tenth | %.0f → %.0f (%.0f); %.0f → %.0f |\n", s.duration, s.samples, s.late, s.firstG, s.lastG, s.maxG, s.warmG, s.endG)
		fmt.Fprintf(&b, "| … resident memory first → last (max); highest in the first → last tenth | %.1f → %.1f (%.1f) MiB; %.1f → %.1f MiB, flat: %v |\n", s.firstRSS/(1<<20), s.lastRSS/(1<<20), s.maxRS/(1<<20), s.warmRSS/(1<<20), s.endRSS/(1<<20), s.flat)
	}
	seeds := countSeeds()
	fmt.Fprintf(&b, "| bad inputs tried: committed fuzz seed inputs (run by every `go test`) | %d |\n", seeds)
	b.WriteString("\nPer fault (faulted part down: scrapes that saw its own `*_up` 0, showing the fault reached it):\n\n| proxy | fault | slowest scrape | late | faulted part down | other parts down or blanked | recovered | goroutines/fds after | alert (tries) |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, f := range r.faults {
		faultedDown := "n/a (no up series)"
		if f.faultedDown >= 0 {
			faultedDown = fmt.Sprintf("%d/%d", f.faultedDown, f.scrapes-f.late)
		}
		fmt.Fprintf(&b, "| %s | %s | %v | %d/%d | %s | %s | %v | %+.0f / %+.0f | %d (%d) |\n", f.proxy, f.fault, f.maxScrape.Round(10*time.Millisecond),
			f.late, f.scrapes, faultedDown, orNone(append(append([]string{}, f.otherPartsDown...), f.blanked...)), f.recovered, f.goroutineDelta, f.fdDelta, f.alertStatus, f.alertTries)
	}
	out := os.Getenv("RELIABILITY_REPORT")
	if out == "" {
		out = filepath.Join(os.TempDir(), "cdc-reliability-report.md")
	}
	if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
		t.Errorf("writing the report: %v", err)
	}
	t.Logf("report written to %s:\n%s", out, b.String())
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func goVersion() string { return runtime.Version() }

// countSeeds counts the committed fuzz seed inputs of the module.
func countSeeds() int {
	n := 0
	_ = filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(filepath.ToSlash(path), "/testdata/fuzz/") {
			n++
		}
		return nil
	})
	return n
}
