package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

func freeAddr(t testing.TB) string { return testenv.FreeAddr(t) }

// eventually polls cond every 100 ms until it holds or deadline passes.
func eventually(deadline time.Duration, cond func() bool) bool {
	end := time.Now().Add(deadline)
	for {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ---- Toxiproxy -------------------------------------------------------

// toxiproxy drives a toxiproxy-server over its HTTP API.
type toxiproxy struct {
	api  string
	proc *exec.Cmd
}

func startToxiproxy(t testing.TB, bin string) *toxiproxy {
	t.Helper()
	addr := freeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "-host", host, "-port", port)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	tp := &toxiproxy{api: "http://" + addr, proc: cmd}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if !eventually(30*time.Second, func() bool {
		resp, err := http.Get(tp.api + "/version")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}) {
		t.Fatal("toxiproxy-server did not answer")
	}
	return tp
}

func (tp *toxiproxy) call(method, path string, body any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, tp.api+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("toxiproxy %s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return nil
}

// proxy creates a proxy to upstream on listen (a free port when empty)
// and returns its listen address.
func (tp *toxiproxy) proxy(t testing.TB, name, listen, upstream string) string {
	t.Helper()
	if listen == "" {
		listen = freeAddr(t)
	}
	if err := tp.call(http.MethodPost, "/proxies", map[string]any{"name": name, "listen": listen, "upstream": upstream, "enabled": true}); err != nil {
		t.Fatal(err)
	}
	return listen
}

// fault is one way of breaking a proxy.
type fault struct {
	name string
	// toxic is the toxic added to the proxy; nil for "down".
	toxic map[string]any
}

var faults = []fault{
	{"latency 2s", map[string]any{"type": "latency", "stream": "downstream", "attributes": map[string]any{"latency": 2000, "jitter": 500}}},
	{"hang (timeout 0)", map[string]any{"type": "timeout", "stream": "upstream", "attributes": map[string]any{"timeout": 0}}},
	{"reset_peer", map[string]any{"type": "reset_peer", "stream": "upstream", "attributes": map[string]any{"timeout": 0}}},
	{"bandwidth 1 KB/s", map[string]any{"type": "bandwidth", "stream": "downstream", "attributes": map[string]any{"rate": 1}}},
	{"down and back", nil},
}

func (tp *toxiproxy) inject(proxy string, f fault) error {
	if f.toxic == nil {
		return tp.call(http.MethodPost, "/proxies/"+proxy, map[string]any{"enabled": false})
	}
	toxic := map[string]any{"name": "fault"}
	for k, v := range f.toxic {
		toxic[k] = v
	}
	return tp.call(http.MethodPost, "/proxies/"+proxy+"/toxics", toxic)
}

func (tp *toxiproxy) heal(proxy string, f fault) error {
	if f.toxic == nil {
		return tp.call(http.MethodPost, "/proxies/"+proxy, map[string]any{"enabled": true})
	}
	return tp.call(http.MethodDelete, "/proxies/"+proxy+"/toxics/fault", nil)
}

// ---- the cdc-sentinel process ----------------------------------------

// buildBinary builds cdc-sentinel once per run; CDC_SENTINEL_BINARY
// names an already built one instead (an older release, say, to compare).
func buildBinary(t testing.TB, dir string) string {
	t.Helper()
	if bin := os.Getenv("CDC_SENTINEL_BINARY"); bin != "" {
		return bin
	}
	bin := filepath.Join(dir, "cdc-sentinel")
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/cdc-sentinel")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building cdc-sentinel: %v\n%s", err, out)
	}
	return bin
}

// sentinel is one running cdc-sentinel.
type sentinel struct {
	bin, config, storage, addr string
	cmd                        *exec.Cmd
	logs                       *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newSentinel(bin, config, storage string) *sentinel {
	return &sentinel{bin: bin, config: config, storage: storage, logs: &lockedBuffer{}}
}

// start runs the binary on a fresh port and waits until it is ready.
func (s *sentinel) start(t testing.TB) {
	t.Helper()
	s.addr = freeAddr(t)
	s.cmd = exec.Command(s.bin, "--config.file="+s.config, "--storage.path="+s.storage,
		"--web.listen-address="+s.addr, "--log.level=debug", "--web.enable-pprof")
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !eventually(60*time.Second, func() bool {
		resp, err := http.Get("http://" + s.addr + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}) {
		t.Fatalf("cdc-sentinel not ready:\n%s", s.logs)
	}
}

// kill sends SIGKILL: no shutdown path runs.
func (s *sentinel) kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		_ = s.cmd.Wait()
	}
}

func (s *sentinel) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			s.kill()
		}
	}
}

// goroutineDump is the process's goroutines grouped by stack, to tell
// what a leak is made of.
func (s *sentinel) goroutineDump() string {
	resp, err := http.Get("http://" + s.addr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return string(b)
}

func (s *sentinel) reload() error {
	resp, err := http.Post("http://"+s.addr+"/-/reload", "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("reload: %d %s", resp.StatusCode, b)
	}
	return nil
}

// scrape is one scrape's answer.
type scrape struct {
	took     time.Duration
	status   int
	families map[string]*dto.MetricFamily
}

// value finds the sample of name whose labels include want; ok is false
// when there is none.
func (s scrape) value(name string, want map[string]string) (float64, bool) {
	mf := s.families[name]
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.Metric {
		have := map[string]string{}
		for _, lp := range m.Label {
			have[lp.GetName()] = lp.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// scrapeWith scrapes as Prometheus does, telling its timeout.
func (s *sentinel) scrapeWith(timeout time.Duration) (scrape, error) {
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.addr+"/metrics", nil)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", fmt.Sprint(timeout.Seconds()))
	client := &http.Client{Timeout: timeout + 30*time.Second}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return scrape{took: time.Since(start)}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil {
		return scrape{took: took}, err
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return scrape{took: took, status: resp.StatusCode}, fmt.Errorf("parsing metrics: %w", err)
	}
	return scrape{took: took, status: resp.StatusCode, families: fams}, nil
}

// self reads the process's own go_goroutines and process_open_fds.
func (s *sentinel) self() (goroutines, fds float64, err error) {
	sc, err := s.scrapeWith(10 * time.Second)
	if err != nil {
		return 0, 0, err
	}
	g, _ := sc.value("go_goroutines", nil)
	f, _ := sc.value("process_open_fds", nil)
	return g, f, nil
}

// alert is an Alertmanager webhook notification for one episode.
func alertBody(alertname, fingerprint string, startsAt time.Time, labels map[string]string) []byte {
	l := map[string]string{"alertname": alertname}
	for k, v := range labels {
		l[k] = v
	}
	b, _ := json.Marshal(map[string]any{
		"version": "4", "groupKey": "{}:{alertname=\"" + alertname + "\"}", "status": "firing", "receiver": "cdc-sentinel",
		"groupLabels": map[string]string{"alertname": alertname}, "commonLabels": l, "commonAnnotations": map[string]string{},
		"externalURL": "http://alertmanager:9093",
		"alerts": []any{map[string]any{
			"status": "firing", "labels": l, "annotations": map[string]string{},
			"startsAt": startsAt.UTC().Format(time.RFC3339Nano), "endsAt": "0001-01-01T00:00:00Z",
			"generatorURL": "http://prometheus:9090", "fingerprint": fingerprint,
		}},
	})
	return b
}

// deliver posts a notification the way Alertmanager does: a 5xx or a
// transport error is retried with backoff until deadline; a 4xx is not.
// It returns the final status and how many tries it took.
func deliver(ctx context.Context, addr func() string, body []byte) (int, int) {
	backoff := 100 * time.Millisecond
	client := &http.Client{Timeout: 10 * time.Second}
	for try := 1; ; try++ {
		resp, err := client.Post("http://"+addr()+"/alerts", "application/json", bytes.NewReader(body))
		status := 0
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			status = resp.StatusCode
			if status < 500 {
				return status, try
			}
		}
		select {
		case <-ctx.Done():
			return status, try
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// auditRecord is the part of an audit entry the suite checks.
type auditRecord struct {
	Alert struct {
		Fingerprint string    `json:"fingerprint"`
		StartsAt    time.Time `json:"starts_at"`
	} `json:"alert"`
	Rule     string `json:"rule"`
	Phase    string `json:"phase"`
	Decision string `json:"decision"`
	Outcome  string `json:"outcome"`
	Replica  string `json:"replica"`
}

func (s *sentinel) audit() ([]auditRecord, error) {
	resp, err := http.Get("http://" + s.addr + "/api/v1/remediations?limit=1000")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var recs []auditRecord
	if err := json.NewDecoder(resp.Body).Decode(&recs); err != nil {
		return nil, err
	}
	return recs, nil
}

// ---- a private PostgreSQL --------------------------------------------

// postgres is a throwaway PostgreSQL cluster (testenv.StartPostgres),
// used when the shared pipeline is not up.
type postgres struct {
	*testenv.Postgres
	addr, bin string
}

func startPostgres(t testing.TB) *postgres {
	t.Helper()
	pg := testenv.StartPostgres(t)
	return &postgres{Postgres: pg, addr: pg.Addr, bin: pg.Bin}
}

func (pg *postgres) psql(t testing.TB, db, sql string) {
	t.Helper()
	pg.Psql(t, db, sql)
}

// dsn names a database through addr (the proxy in front of pg, or pg).
func pgDSN(addr, db string) string { return testenv.PostgresDSN(addr, db) }

func writeFile(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
