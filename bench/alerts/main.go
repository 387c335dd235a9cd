// Command alerts load-tests the remediator's webhook on loopback: N
// notifications per second of 10 alerts each, half of them re-sends of
// earlier notifications (as Alertmanager's repeats and HA pairs produce),
// against the real handler, engine and bbolt store. Connect is an
// in-memory cluster whose every task starts FAILED and runs once
// restarted, so each unique alert should cause exactly one restart.
//
// It reports the response-time percentiles, and checks that no alert was
// lost (one audit record per unique alert) and no action duplicated.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	amtemplate "github.com/prometheus/alertmanager/template"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/remediate"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/webhook"
)

type memConnect struct {
	mu       sync.Mutex
	restarts map[string]int
}

func (m *memConnect) Status(_ context.Context, name string) (*connect.Status, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	state := connect.StateFailed
	if m.restarts[name] > 0 {
		state = connect.StateRunning
	}
	return &connect.Status{Name: name, Connector: connect.Instance{State: connect.StateRunning},
		Tasks: []connect.TaskInfo{{ID: 0, State: state, Trace: "java.net.SocketException: Connection reset"}}}, nil
}
func (m *memConnect) RestartTask(_ context.Context, name string, _ int) error {
	m.mu.Lock()
	m.restarts[name]++
	m.mu.Unlock()
	return nil
}
func (m *memConnect) RestartConnector(context.Context, string, connect.RestartOptions) (*connect.Status, error) {
	return nil, nil
}
func (m *memConnect) Pause(context.Context, string) error  { return nil }
func (m *memConnect) Resume(context.Context, string) error { return nil }
func (m *memConnect) Stop(context.Context, string) error   { return nil }

const rules = `
connect_clusters:
  - name: main
    url: http://127.0.0.1:1
remediation:
  max_actions_per_hour: 100000000
  verify_timeout: 10s
  rules:
    - name: restart-failed-task
      match: ['alertname="CDCConnectorTaskFailed"']
      action: restart_task
`

func main() {
	rate := flag.Int("rate", 1000, "notifications per second")
	perNote := flag.Int("alerts", 10, "alerts per notification")
	dur := flag.Duration("duration", 30*time.Second, "how long to send")
	dupRatio := flag.Float64("duplicates", 0.5, "share of notifications that re-send an earlier one")
	workers := flag.Int("workers", 32, "remediation workers; 0 measures the receiver alone (nothing drains)")
	baseline := flag.Bool("baseline", false, "serve a handler that only decodes the payload and answers 200: the cost of HTTP and JSON without recording or acting")
	flag.Parse()

	dir, err := os.MkdirTemp("", "cdc-bench-alerts")
	must(err)
	defer os.RemoveAll(dir)
	cfg, err := config.Parse("bench.yml", []byte(rules))
	must(err)
	st, err := store.OpenBolt(filepath.Join(dir, remediate.BoltFile))
	must(err)
	conn := &memConnect{restarts: map[string]int{}}
	eng, err := remediate.NewEngine(remediate.Options{
		Config: cfg.Remediation, Clusters: map[string]remediate.Connect{"main": conn},
		Store: st, Replica: "bench", Workers: *workers, VerifyInterval: time.Millisecond,
	})
	must(err)
	if *workers > 0 && !*baseline {
		eng.Start()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	var handler = webhook.Handler(eng, eng, webhook.Options{MaxBodyBytes: cfg.Remediation.MaxBodyBytes, Outcomes: remediate.Outcomes()})
	if *baseline {
		*workers = 0
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := webhook.DecodeMessage(r.Body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
			}
		})
	}
	srv := &http.Server{Handler: handler}
	go srv.Serve(ln)
	url := "http://" + ln.Addr().String() + webhook.AlertsPath
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 1000, MaxIdleConnsPerHost: 1000}, Timeout: 10 * time.Second}

	now := time.Now()
	var sentBodies [][]byte
	var bodiesMu sync.Mutex
	unique := 0
	newBody := func() []byte {
		d := &amtemplate.Data{Receiver: "cdc-sentinel", Status: "firing", NotificationReason: "new_alerts",
			GroupLabels: amtemplate.KV{"alertname": "CDCConnectorTaskFailed"}, ExternalURL: "http://alertmanager:9093"}
		for i := 0; i < *perNote; i++ {
			unique++
			d.Alerts = append(d.Alerts, amtemplate.Alert{Status: "firing",
				Labels:   amtemplate.KV{"alertname": "CDCConnectorTaskFailed", "connector": fmt.Sprintf("sink-%d", unique), "task": "0", "severity": "critical"},
				StartsAt: now.Add(-time.Minute), Fingerprint: fmt.Sprintf("%016x", unique)})
		}
		b, err := json.Marshal(webhook.Message{Data: d, Version: "4", GroupKey: fmt.Sprintf("{}:{n=%d}", unique)})
		must(err)
		return b
	}

	var lat []time.Duration
	var latMu sync.Mutex
	var errs, non200 atomic.Int64
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(*rate)
	total := int(dur.Seconds() * float64(*rate))
	start := time.Now()
	dups := 0
	for i := 0; i < total; i++ {
		// Open loop: send on schedule whatever the previous answers did.
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		var body []byte
		bodiesMu.Lock()
		if len(sentBodies) > 0 && rand.Float64() < *dupRatio {
			body = sentBodies[rand.IntN(len(sentBodies))]
			dups++
		} else {
			body = newBody()
			sentBodies = append(sentBodies, body)
		}
		bodiesMu.Unlock()
		wg.Add(1)
		go func(body []byte) {
			defer wg.Done()
			t0 := time.Now()
			resp, err := client.Post(url, "application/json", bytes.NewReader(body))
			el := time.Since(t0)
			if err != nil {
				errs.Add(1)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				non200.Add(1)
			}
			latMu.Lock()
			lat = append(lat, el)
			latMu.Unlock()
		}(body)
	}
	wg.Wait()
	sendTime := time.Since(start)

	// Drain: every unique alert must end with exactly one audit record.
	drainStart := time.Now()
	var recs []store.Record
	for *workers > 0 && time.Since(drainStart) < 5*time.Minute {
		recs, err = st.Audit(context.Background(), store.AuditQuery{Limit: unique + 1})
		must(err)
		if len(recs) >= unique {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	drain := time.Since(drainStart)
	time.Sleep(500 * time.Millisecond)
	recs, _ = st.Audit(context.Background(), store.AuditQuery{Limit: unique + 10})
	eng.Close()
	srv.Close()

	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	outcomes := map[string]int{}
	for _, r := range recs {
		outcomes[r.Outcome]++
	}
	conn.mu.Lock()
	dupActions, restarted := 0, len(conn.restarts)
	for _, n := range conn.restarts {
		if n > 1 {
			dupActions++
		}
	}
	conn.mu.Unlock()
	fmt.Printf("sent %d notifications (%d duplicates) of %d alerts in %s (%.0f/s); unique alerts %d\n",
		total, dups, *perNote, sendTime.Round(time.Millisecond), float64(total)/sendTime.Seconds(), unique)
	fmt.Printf("response: p50 %s  p90 %s  p99 %s  max %s; transport errors %d, non-200 %d\n",
		pct(0.50), pct(0.90), pct(0.99), lat[len(lat)-1], errs.Load(), non200.Load())
	fmt.Printf("audit records %d (outcomes %v); targets restarted %d; targets restarted more than once %d; queue drained %s after the last send\n",
		len(recs), outcomes, restarted, dupActions, drain.Round(time.Millisecond))
	if *workers == 0 {
		fmt.Println("receiver only: nothing acted on")
		return
	}
	lost := unique - restarted
	fmt.Printf("lost alerts %d, duplicate actions %d\n", lost, dupActions)
	if lost != 0 || dupActions != 0 || errs.Load() != 0 || non200.Load() != 0 || pct(0.99) > 50*time.Millisecond {
		fmt.Println("FAIL")
		os.RemoveAll(dir) // os.Exit skips the deferred removal
		os.Exit(1)
	}
	fmt.Println("PASS")
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
