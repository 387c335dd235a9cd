//go:build reliability

package reliability

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// faultResult is one (proxy, fault) case.
type faultResult struct {
	proxy, fault   string
	scrapes        int
	late           int           // scrapes that overran the deadline or failed
	maxScrape      time.Duration // slowest scrape under the fault
	otherPartsDown []string      // parts other than the faulted one seen down
	blanked        []string      // healthy-time series of other parts missing under the fault
	faultedDown    int           // timely scrapes that saw the faulted part down (-1: it has no up series)
	recovered      bool          // every part back up after healing
	alertStatus    int           // final status of the episode posted during the fault
	alertTries     int
	goroutineDelta float64 // after recovery, against the baseline
	fdDelta        float64
	leakSettled    bool
}

const scrapesPerFault = 3

func runFaults(t *testing.T, e *env, r *report) {
	s := newSentinel(e.bin, e.faultConfig(t), t.TempDir())
	s.start(t)
	defer s.stop()
	parts := partSeries(e.mode)

	// Warm up: every part up, the pools and keep-alive connections made,
	// one episode through the store; then take the baseline.
	if !eventually(60*time.Second, func() bool { return allUp(s, parts, "") }) {
		sc, _ := s.scrapeWith(scrapeTimeout)
		t.Fatalf("not every part is up before any fault:\n%v\n%s", upSummary(sc, parts), s.logs)
	}
	if st, _ := deliver(context.Background(), func() string { return s.addr }, alertBody("ReliabilityProbe", "warmup", time.Now(), probeLabels)); st != 200 {
		t.Fatalf("warm-up alert answered %d", st)
	}
	for range 3 {
		_, _ = s.scrapeWith(scrapeTimeout)
	}
	baseG, baseFD, err := s.self()
	if err != nil {
		t.Fatal(err)
	}
	r.baseGoroutines, r.baseFDs = baseG, baseFD
	healthy, err := s.scrapeWith(scrapeTimeout)
	if err != nil {
		t.Fatal(err)
	}
	baseSeries := seriesOf(healthy)
	r.baseSeries = len(baseSeries)

	proxies := make([]string, 0, len(e.proxies))
	for p := range e.proxies {
		proxies = append(proxies, p)
	}
	sort.Strings(proxies)
	if only := os.Getenv("RELIABILITY_PROXIES"); only != "" {
		// Only the named proxies this mode has (no kafka in private mode).
		var kept []string
		for _, p := range proxies {
			if slices.Contains(strings.Split(only, ","), p) {
				kept = append(kept, p)
			}
		}
		proxies = kept
	}
	var episodes []string
	for _, proxy := range proxies {
		for i, f := range faults {
			fp := fmt.Sprintf("fault-%s-%d", proxy, i)
			episodes = append(episodes, fp)
			res := runFault(t, e, s, parts, baseSeries, proxy, f, fp, baseG, baseFD)
			r.faults = append(r.faults, res)
			if len(res.otherPartsDown) > 0 {
				t.Errorf("%s on %s: other parts went down: %v\nlog:\n%s", f.name, proxy, res.otherPartsDown, errorLines(s.logs.String()))
			}
			if len(res.blanked) > 0 {
				t.Errorf("%s on %s: series of other parts went missing: %v", f.name, proxy, res.blanked)
			}
			if res.late > 0 {
				t.Errorf("%s on %s: %d of %d scrapes overran the %v deadline (slowest %v)", f.name, proxy, res.late, res.scrapes, scrapeTimeout, res.maxScrape)
			}
			if !res.recovered {
				t.Errorf("%s on %s: not every part came back after healing", f.name, proxy)
			}
			if !res.leakSettled {
				t.Errorf("%s on %s: goroutines %+.0f, fds %+.0f over the baseline after recovery", f.name, proxy, res.goroutineDelta, res.fdDelta)
			}
			if res.alertStatus != 200 {
				t.Errorf("%s on %s: the episode posted during the fault ended with %d after %d tries", f.name, proxy, res.alertStatus, res.alertTries)
			}
		}
	}

	// Every episode decided once: none lost, none doubled.
	// A job whose store write failed mid-way stays claimed until its
	// lease (verify_timeout + 2 min) runs out, then runs again: wait that
	// long before calling an episode lost.
	var recs []auditRecord
	waitStart := time.Now()
	eventually(4*time.Minute, func() bool {
		recs, err = s.audit()
		return err == nil && decidedAll(recs, episodes)
	})
	r.faultAuditWait = time.Since(waitStart)
	lost, doubled := tally(recs, episodes)
	r.faultEpisodes, r.faultLost, r.faultDoubled = len(episodes), lost, doubled
	if lost > 0 || doubled > 0 {
		t.Errorf("fault episodes: %d lost, %d decided more than once; audit: %+v\nlog:\n%s", lost, doubled, byEpisode(recs, episodes), errorLines(s.logs.String()))
	}
}

var probeLabels = map[string]string{"connect_cluster": "local", "connector": "orders-sink", "task": "0", "severity": "critical"}

func runFault(t *testing.T, e *env, s *sentinel, parts map[string]func(scrape) (float64, bool), baseSeries map[string]series, proxy string, f fault, fp string, baseG, baseFD float64) faultResult {
	res := faultResult{proxy: proxy, fault: f.name}
	if _, ok := parts[proxy]; !ok {
		res.faultedDown = -1
	}
	if err := e.tp.inject(proxy, f); err != nil {
		t.Fatal(err)
	}
	// The episode is posted while the fault lasts, and retried as
	// Alertmanager would until it is taken.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		res.alertStatus, res.alertTries = deliver(ctx, func() string { return s.addr }, alertBody("ReliabilityProbe", fp, time.Now(), probeLabels))
	}()
	down, blanked := map[string]bool{}, map[string]bool{}
	for range scrapesPerFault {
		sc, err := s.scrapeWith(scrapeTimeout)
		res.scrapes++
		res.maxScrape = max(res.maxScrape, sc.took)
		if err != nil || sc.took > scrapeTimeout {
			res.late++
			continue
		}
		for part, read := range parts {
			v, ok := read(sc)
			if part == proxy {
				if !ok || v != 1 {
					res.faultedDown++
				}
				continue
			}
			if !ok || v != 1 {
				down[part] = true
			}
		}
		have := seriesOf(sc)
		for k, ser := range baseSeries {
			if _, ok := have[k]; !ok && !dependsOn(ser, proxy) {
				blanked[ser.name] = true
			}
		}
	}
	for p := range down {
		res.otherPartsDown = append(res.otherPartsDown, p)
	}
	sort.Strings(res.otherPartsDown)
	for n := range blanked {
		res.blanked = append(res.blanked, n)
	}
	sort.Strings(res.blanked)
	if err := e.tp.heal(proxy, f); err != nil {
		t.Fatal(err)
	}
	res.recovered = eventually(90*time.Second, func() bool { return allUp(s, parts, "") })
	wg.Wait()
	res.leakSettled = eventually(90*time.Second, func() bool {
		g, fd, err := s.self()
		res.goroutineDelta, res.fdDelta = g-baseG, fd-baseFD
		// Pools may settle one connection (and its goroutines) apart.
		return err == nil && g <= baseG+10 && fd <= baseFD+4
	})
	return res
}

func allUp(s *sentinel, parts map[string]func(scrape) (float64, bool), except string) bool {
	sc, err := s.scrapeWith(scrapeTimeout)
	if err != nil {
		return false
	}
	for part, read := range parts {
		if part == except {
			continue
		}
		if v, ok := read(sc); !ok || v != 1 {
			return false
		}
	}
	return true
}

func upSummary(sc scrape, parts map[string]func(scrape) (float64, bool)) map[string]string {
	out := map[string]string{}
	for part, read := range parts {
		v, ok := read(sc)
		out[part] = fmt.Sprint(v, ok)
	}
	return out
}

// decidingRecord says whether a record is a decision to act (or to act
// in a dry run): what must happen at most once per episode and rule.
func decidingRecord(r auditRecord) bool {
	return r.Phase != "resolved" && (r.Decision == "act" || r.Decision == "dry_run")
}

func decidedAll(recs []auditRecord, episodes []string) bool {
	seen := map[string]bool{}
	for _, r := range recs {
		seen[r.Alert.Fingerprint] = true
	}
	for _, e := range episodes {
		if !seen[e] {
			return false
		}
	}
	return true
}

// tally counts the episodes with no audit record (lost) and those with
// more than one deciding record (doubled).
func tally(recs []auditRecord, episodes []string) (lost, doubled int) {
	any, deciding := map[string]int{}, map[string]int{}
	for _, r := range recs {
		any[r.Alert.Fingerprint]++
		if decidingRecord(r) {
			deciding[r.Alert.Fingerprint]++
		}
	}
	for _, e := range episodes {
		if any[e] == 0 {
			lost++
		}
		if deciding[e] > 1 {
			doubled++
		}
	}
	return lost, doubled
}

// byEpisode lists each episode's audit records, for failure messages.
func byEpisode(recs []auditRecord, episodes []string) map[string][]string {
	out := map[string][]string{}
	for _, e := range episodes {
		out[e] = nil
	}
	for _, r := range recs {
		if _, ok := out[r.Alert.Fingerprint]; ok {
			out[r.Alert.Fingerprint] = append(out[r.Alert.Fingerprint], r.Phase+"/"+r.Decision+"/"+r.Outcome)
		}
	}
	return out
}

// errorLines keeps the log lines that report a failure.
func errorLines(log string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=WARN") {
			out = append(out, l)
		}
	}
	if len(out) > 60 {
		out = out[len(out)-60:]
	}
	return strings.Join(out, "\n")
}

// series is one sample's identity in a scrape.
type series struct {
	name   string
	labels map[string]string
}

// seriesOf lists the pipeline series of a scrape (not the process's own
// Go, process and per-collector figures, whose values and presence
// follow the collectors' success by design).
func seriesOf(sc scrape) map[string]series {
	out := map[string]series{}
	for name, mf := range sc.families {
		if !strings.HasPrefix(name, "cdc_") || strings.HasPrefix(name, "cdc_scrape_") || strings.HasPrefix(name, "cdc_sentinel_") || strings.HasPrefix(name, "cdc_remediation_") {
			continue
		}
		for _, m := range mf.Metric {
			l := map[string]string{}
			keys := []string{}
			for _, lp := range m.Label {
				l[lp.GetName()] = lp.GetValue()
				keys = append(keys, lp.GetName()+"="+lp.GetValue())
			}
			sort.Strings(keys)
			out[name+"{"+strings.Join(keys, ",")+"}"] = series{name: name, labels: l}
		}
	}
	return out
}

// dependsOn says whether a series needs the part behind proxy: only
// those may go missing while it is faulted.
func dependsOn(s series, proxy string) bool {
	has := func(prefixes ...string) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(s.name, p) {
				return true
			}
		}
		return false
	}
	switch proxy {
	case "connect":
		// Connector states, and whatever is found through Connect: DLQ
		// topics, committed offsets, the sink's consumer group and its
		// topics' retention, the source's retention against the offset,
		// the topic's schema.
		return has("cdc_connect_", "cdc_dlq_", "cdc_connector_offset_", "cdc_sink_consumer_", "cdc_sink_retention_", "cdc_sink_records_lost", "cdc_source_", "cdc_schema_")
	case "kafka":
		return has("cdc_dlq_", "cdc_sink_consumer_", "cdc_sink_retention_", "cdc_sink_records_lost", "cdc_schema_")
	case "pg-source":
		// The offset lag compares the committed offset with the source's
		// newest change; the source's retention is read from it; the
		// schema check compares its columns.
		return s.labels["database"] == "source" || has("cdc_table_", "cdc_drift_", "cdc_replication_slot_", "cdc_sqlserver_", "cdc_connector_offset_", "cdc_source_", "cdc_schema_")
	case "pg-target":
		return s.labels["database"] == "target" || has("cdc_table_", "cdc_drift_", "cdc_schema_")
	}
	return false
}
