//go:build reliability

package reliability

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// crashResult sums the episodes of one crash phase.
type crashResult struct {
	store       string
	rounds      int
	episodes    int
	kills       int
	actions     int // restarts the worker saw
	doubled     int // episodes the worker saw restarted more than once
	unaudited   int // restarts the worker saw with no audited action
	interrupted int // actions audited as interrupted
	unfinished  int // episodes with no final record in time
}

func crashRounds() int {
	if n, err := strconv.Atoi(os.Getenv("RELIABILITY_CRASH_ROUNDS")); err == nil && n > 0 {
		return n
	}
	return 2
}

const episodesPerRound = 8

// crashConfig acts for real (no dry run) on the stand-in worker: restart
// task 0, at most once per episode.
func crashConfig(t *testing.T, e *env, name, store string) string {
	path := filepath.Join(e.dir, name+".yml")
	writeFile(t, path, fmt.Sprintf(`connect_clusters:
  - {name: local, url: "http://%s", timeout: 3s}
remediation:
  max_actions_per_hour: 100000
  verify_timeout: 3s
%s  rules:
    - name: crash-restart
      match: ['alertname="CrashProbe"']
      action: restart_task
      cooldown: 1h
      max_attempts: 1
`, e.worker.addr, store))
	return path
}

func runCrashBolt(t *testing.T, e *env, r *report) {
	s := newSentinel(e.bin, crashConfig(t, e, "crash-bolt", ""), t.TempDir())
	s.start(t)
	defer s.stop()
	res := crashResult{store: "bbolt (one process, same --storage.path)"}
	for round := range crashRounds() {
		crashRound(t, e, []*sentinel{s}, fmt.Sprintf("bolt-%d", round), &res)
	}
	r.crashes = append(r.crashes, res)
}

func runCrashReplicas(t *testing.T, e *env, r *report) {
	cfg := crashConfig(t, e, "crash-pg", fmt.Sprintf("  store: {type: postgres, dsn: %q}\n", e.storeDirect))
	a, b := newSentinel(e.bin, cfg, t.TempDir()), newSentinel(e.bin, cfg, t.TempDir())
	a.start(t)
	defer a.stop()
	b.start(t)
	defer b.stop()
	res := crashResult{store: "PostgreSQL (two replicas, one killed)"}
	for round := range crashRounds() {
		crashRound(t, e, []*sentinel{a, b}, fmt.Sprintf("pg-%d", round), &res)
	}
	r.crashes = append(r.crashes, res)
}

// crashRound posts episodes to every replica a little apart, kills one
// replica with SIGKILL at a random moment (so episodes are caught at
// every point of their path: queued, before the send, after it, while
// verifying, while auditing), starts it again, lets Alertmanager resend
// everything, waits until every episode has a final record (a killed
// replica's jobs are taken over when their lease runs out) and counts
// the restarts the worker saw per episode.
func crashRound(t *testing.T, e *env, replicas []*sentinel, name string, res *crashResult) {
	res.rounds++
	startsAt := time.Now()
	var mu sync.Mutex
	addrs := make([]string, len(replicas))
	for i, s := range replicas {
		addrs[i] = s.addr
	}
	addrOf := func(i int) func() string {
		return func() string { mu.Lock(); defer mu.Unlock(); return addrs[i] }
	}
	episode := func(i int) (string, []byte) {
		connector := fmt.Sprintf("crash-%s-%d", name, i)
		return connector, alertBody("CrashProbe", connector, startsAt, map[string]string{"connect_cluster": "local", "connector": connector, "task": "0"})
	}
	send := func() *sync.WaitGroup {
		var wg sync.WaitGroup
		for i := range episodesPerRound {
			_, body := episode(i)
			for r := range replicas {
				wg.Add(1)
				go func() {
					defer wg.Done()
					time.Sleep(time.Duration(i) * 150 * time.Millisecond)
					ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
					defer cancel()
					deliver(ctx, addrOf(r), body)
				}()
			}
		}
		return &wg
	}
	first := send()
	victim := rand.IntN(len(replicas))
	time.Sleep(time.Duration(rand.IntN(episodesPerRound*150+2500)) * time.Millisecond)
	replicas[victim].kill()
	res.kills++
	replicas[victim].start(t)
	mu.Lock()
	addrs[victim] = replicas[victim].addr
	mu.Unlock()
	first.Wait()
	send().Wait() // Alertmanager's resend of the whole group

	final := map[string]bool{}
	var recs []auditRecord
	eventually(5*time.Minute, func() bool {
		var err error
		recs, err = replicas[0].audit()
		if err != nil {
			return false
		}
		for _, rec := range recs {
			if rec.Outcome != "" {
				final[rec.Alert.Fingerprint] = true
			}
		}
		for i := range episodesPerRound {
			if c, _ := episode(i); !final[c] {
				return false
			}
		}
		return true
	})
	// Late takeovers would show up as a second restart: look once more
	// after everything is final.
	acted := map[string]int{}
	for _, rec := range recs {
		if rec.Decision == "act" {
			acted[rec.Alert.Fingerprint]++
			if rec.Outcome == "interrupted" {
				res.interrupted++
			}
		}
	}
	for i := range episodesPerRound {
		c, _ := episode(i)
		res.episodes++
		n := e.worker.restartsOf(c)
		res.actions += n
		if n > 1 {
			res.doubled++
			t.Errorf("%s: the worker saw %d restarts in one episode", c, n)
		}
		if n > acted[c] {
			res.unaudited++
			t.Errorf("%s: the worker saw %d restarts, the audit holds %d actions", c, n, acted[c])
		}
		if !final[c] {
			res.unfinished++
			t.Errorf("%s: no final audit record in time", c)
		}
	}
}
