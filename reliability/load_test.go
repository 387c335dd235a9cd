//go:build reliability

package reliability

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type loadResult struct {
	duration         time.Duration
	posts            int64
	distinct         int
	non2xx, fivexx   int64
	p50, p99         time.Duration
	reloads, failedR int64
	scrapes, lateS   int64
	lost, doubled    int
	bad, bad5xx      int64         // malformed bodies posted, and those answered 5xx
	drained          time.Duration // from the end of the load until every episode was decided
	// goroutines and fds over the pre-load baseline once settled after
	// the load and its reloads, and whether they settled.
	goroutineDelta, fdDelta float64
	settled                 bool
}

type soakResult struct {
	duration                 time.Duration
	samples, late            int
	firstG, lastG, maxG      float64
	firstRSS, lastRSS, maxRS float64
	// warmG/warmRSS and endG/endRSS are the highest values in the first
	// and in the last tenth of the soak: flat means the end is no higher
	// than the warmed-up start, whatever a single sample does.
	warmG, endG, warmRSS, endRSS float64
	flat                         bool
}

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil && d > 0 {
		return d
	}
	return def
}

// runLoad posts webhook notifications from several senders at once,
// drawn from a pool of 200 episodes (so most are duplicates), while the
// configuration is reloaded every second and Prometheus scrapes every
// second.
func runLoad(t *testing.T, e *env, r *report) {
	s := newSentinel(e.bin, e.faultConfig(t), t.TempDir())
	s.start(t)
	defer s.stop()
	dur := envDuration("RELIABILITY_LOAD", 30*time.Second)
	const senders, pool = 8, 200
	for range 3 {
		_, _ = s.scrapeWith(scrapeTimeout)
	}
	baseG, baseFD, err := s.self()
	if err != nil {
		t.Fatal(err)
	}
	startsAt := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()

	var res loadResult
	var mu sync.Mutex
	var lat []time.Duration
	sent := make([]atomic.Bool, pool)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	var wg sync.WaitGroup
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := rand.IntN(pool)
				body := alertBody("ReliabilityProbe", fmt.Sprintf("load-%d", i), startsAt, probeLabels)
				t0 := time.Now()
				resp, err := client.Post("http://"+s.addr+"/alerts", "application/json", bytes.NewReader(body))
				took := time.Since(t0)
				atomic.AddInt64(&res.posts, 1)
				if err != nil {
					atomic.AddInt64(&res.non2xx, 1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode >= 300 {
					atomic.AddInt64(&res.non2xx, 1)
				}
				if resp.StatusCode >= 500 {
					atomic.AddInt64(&res.fivexx, 1)
				} else if resp.StatusCode < 300 {
					sent[i].Store(true)
				}
				mu.Lock()
				lat = append(lat, took)
				mu.Unlock()
			}
		}()
	}
	// One sender posts malformed notifications among the good ones:
	// truncated, bytes flipped, wrong types.
	wg.Add(3)
	go func() {
		defer wg.Done()
		good := alertBody("ReliabilityProbe", "bad", startsAt, probeLabels)
		for ctx.Err() == nil {
			b := append([]byte(nil), good...)
			switch rand.IntN(3) {
			case 0:
				b = b[:rand.IntN(len(b))]
			case 1:
				for range 1 + rand.IntN(8) {
					b[rand.IntN(len(b))] = byte(rand.IntN(256))
				}
			case 2:
				b = bytes.Replace(b, []byte(`"fingerprint":"bad"`), []byte(`"fingerprint":7`), 1)
			}
			resp, err := client.Post("http://"+s.addr+"/alerts", "application/json", bytes.NewReader(b))
			atomic.AddInt64(&res.bad, 1)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode >= 500 {
					atomic.AddInt64(&res.bad5xx, 1)
				}
			}
		}
	}()
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			atomic.AddInt64(&res.reloads, 1)
			if err := s.reload(); err != nil {
				atomic.AddInt64(&res.failedR, 1)
			}
			sleepCtx(ctx, time.Second)
		}
	}()
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			sc, err := s.scrapeWith(scrapeTimeout)
			atomic.AddInt64(&res.scrapes, 1)
			if err != nil || sc.took > scrapeTimeout || sc.status != http.StatusOK {
				atomic.AddInt64(&res.lateS, 1)
				t.Logf("load: scrape at %s late or failed: took %v, status %d, error %v", time.Now().UTC().Format("15:04:05.000"), sc.took, sc.status, err)
			}
			sleepCtx(ctx, time.Second)
		}
	}()
	wg.Wait()
	res.duration = dur
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if n := len(lat); n > 0 {
		res.p50, res.p99 = lat[n/2], lat[n*99/100]
	}
	var episodes []string
	for i := range pool {
		if sent[i].Load() {
			episodes = append(episodes, fmt.Sprintf("load-%d", i))
		}
	}
	res.distinct = len(episodes)
	var recs []auditRecord
	drainStart := time.Now()
	eventually(5*time.Minute, func() bool {
		var err error
		recs, err = s.audit()
		return err == nil && decidedAll(recs, episodes)
	})
	res.drained = time.Since(drainStart)
	res.lost, res.doubled = tally(recs, episodes)
	client.CloseIdleConnections()
	// The live runtime keeps the connections its last busy moments opened
	// to Connect idle, for reuse, until its idle timeout: they are not a
	// leak. One more reload retires it, so what is measured is what every
	// retired runtime left behind.
	if err := s.reload(); err != nil {
		t.Errorf("load: the reload after the load failed: %v", err)
	}
	res.settled = eventually(90*time.Second, func() bool {
		g, fd, err := s.self()
		res.goroutineDelta, res.fdDelta = g-baseG, fd-baseFD
		return err == nil && g <= baseG+10 && fd <= baseFD+4
	})
	r.load = &res
	if !res.settled {
		t.Errorf("load: %d reloads later, goroutines %+.0f and fds %+.0f over the baseline; goroutines:\n%s", res.reloads, res.goroutineDelta, res.fdDelta, s.goroutineDump())
	}
	if res.bad5xx > 0 {
		t.Errorf("load: %d of %d malformed notifications answered 5xx", res.bad5xx, res.bad)
	}
	if res.fivexx > 0 || res.lost > 0 || res.doubled > 0 || res.lateS > 0 || res.failedR > 0 {
		t.Errorf("load: %d 5xx, %d lost, %d doubled, %d late scrapes, %d failed reloads\nlog:\n%s", res.fivexx, res.lost, res.doubled, res.lateS, res.failedR, errorLines(s.logs.String()))
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// runSoak keeps scraping and posting for a while and samples the
// process's goroutines and resident memory: both must stay flat.
func runSoak(t *testing.T, e *env, r *report) {
	s := newSentinel(e.bin, e.faultConfig(t), t.TempDir())
	s.start(t)
	defer s.stop()
	dur := envDuration("RELIABILITY_SOAK", 10*time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	go func() {
		n := 0
		for ctx.Err() == nil {
			n++
			body := alertBody("ReliabilityProbe", fmt.Sprintf("soak-%d", n%50), time.Now().Truncate(time.Hour), probeLabels)
			resp, err := http.Post("http://"+s.addr+"/alerts", "application/json", bytes.NewReader(body))
			if err == nil {
				resp.Body.Close()
			}
			sleepCtx(ctx, 200*time.Millisecond)
		}
	}()
	res := soakResult{duration: dur}
	type sample struct {
		at     time.Duration
		g, rss float64
	}
	var samples []sample
	start := time.Now()
	for ctx.Err() == nil {
		sc, err := s.scrapeWith(scrapeTimeout)
		if err != nil || sc.took > scrapeTimeout {
			res.late++
		}
		if err == nil {
			g, _ := sc.value("go_goroutines", nil)
			rss, _ := sc.value("process_resident_memory_bytes", nil)
			samples = append(samples, sample{time.Since(start), g, rss})
			res.maxG, res.maxRS = max(res.maxG, g), max(res.maxRS, rss)
		}
		sleepCtx(ctx, time.Second)
	}
	res.samples = len(samples)
	if len(samples) == 0 {
		t.Fatal("soak: no scrape answered")
	}
	res.firstG, res.firstRSS = samples[0].g, samples[0].rss
	res.lastG, res.lastRSS = samples[len(samples)-1].g, samples[len(samples)-1].rss
	for _, sm := range samples {
		if sm.at <= dur/10 {
			res.warmG, res.warmRSS = max(res.warmG, sm.g), max(res.warmRSS, sm.rss)
		}
		if sm.at >= dur-dur/10 {
			res.endG, res.endRSS = max(res.endG, sm.g), max(res.endRSS, sm.rss)
		}
	}
	// Flat: no more than a few goroutines and a quarter more memory at the
	// end than once warmed up.
	res.flat = res.endG <= res.warmG+10 && res.endRSS <= res.warmRSS*1.25+8<<20 && res.late == 0
	r.soak = &res
	if !res.flat {
		t.Errorf("soak: goroutines %v → %v, RSS %.1f → %.1f MiB (highest of the first and last tenth), %d scrapes late or failed", res.warmG, res.endG, res.warmRSS/(1<<20), res.endRSS/(1<<20), res.late)
	}
}
