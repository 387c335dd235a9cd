package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// repoRoot is the module root, where deploy/ and rules/ live.
const repoRoot = ".."

// handedOut remembers the ports freeAddr gave, so two calls never give
// the same one (the kernel may offer a just-closed port again).
var handedOut = struct {
	sync.Mutex
	ports map[string]bool
}{ports: map[string]bool{}}

// freeAddr returns a loopback address nobody listens on, never one it
// returned before in this test binary.
func freeAddr(t *testing.T) string {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		if !handedOut.ports[addr] {
			handedOut.ports[addr] = true
			return addr
		}
	}
}

// process is a child process whose output goes to a log file that the
// test prints when it fails.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

func start(t *testing.T, name, bin string, args ...string) *process {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			p.dumpLog(t)
		}
	})
	return p
}

func (p *process) dumpLog(t *testing.T) {
	b, _ := os.ReadFile(p.log)
	const max = 8000
	if len(b) > max {
		b = append([]byte("…"), b[len(b)-max:]...)
	}
	t.Logf("--- %s log (%s) ---\n%s", p.name, p.log, b)
}

// waitReady polls url until it answers 200, failing early when the process
// has exited.
func (p *process) waitReady(t *testing.T, url string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			p.dumpLog(t)
			t.Fatalf("%s exited before it was ready: %v", p.name, p.err)
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	p.dumpLog(t)
	t.Fatalf("%s not ready at %s after %s", p.name, url, timeout)
}

// buildSentinel builds the cdc-sentinel binary into a temporary directory.
func buildSentinel(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cdc-sentinel")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/cdc-sentinel")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/cdc-sentinel: %v\n%s", err, out)
	}
	return bin
}

// Intervals are the only things the test changes in the example configs,
// besides addresses: short enough that the loop closes in seconds.
type intervals struct {
	scrape, eval                             time.Duration
	groupWait, groupInterval, repeatInterval time.Duration
	// driftFor replaces CDCRowDriftDetected's for:, sized for checks
	// every drift.min_interval of production, not of the test.
	driftFor time.Duration
	// schemaFor replaces CDCSchemaDrift's for:, sized for checks every
	// schema_check.interval of production (15 checks at 1m), not of the test.
	schemaFor time.Duration
}

// shipped keeps the example configs' own intervals: only addresses change.
var shipped = intervals{}

var fast = intervals{
	scrape: 2 * time.Second, eval: 2 * time.Second,
	groupWait: time.Second, groupInterval: 2 * time.Second, repeatInterval: time.Minute,
	// Three of the test's drift checks (min_interval 2s): the rows must
	// still differ at the checks that follow their confirmation.
	driftFor: 6 * time.Second,
}

func readYAMLMap(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

func writeYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// prometheusConfig is deploy/prometheus/prometheus.yml with the test's
// intervals and addresses; everything else (rule files, job name, the
// alerting section's shape) is as users get it. Rule file paths, relative
// to the example's directory, are made absolute.
func prometheusConfig(t *testing.T, dir, sentinelAddr, alertmanagerAddr string, iv intervals) string {
	t.Helper()
	src := filepath.Join(repoRoot, "deploy", "prometheus", "prometheus.yml")
	cfg := readYAMLMap(t, src)
	global, _ := cfg["global"].(map[string]any)
	if global == nil {
		t.Fatalf("%s: no global section", src)
	}
	if iv != shipped {
		global["scrape_interval"] = iv.scrape.String()
		global["evaluation_interval"] = iv.eval.String()
	}
	srcDir, _ := filepath.Abs(filepath.Dir(src))
	files, _ := cfg["rule_files"].([]any)
	if len(files) == 0 {
		t.Fatalf("%s loads no rule files", src)
	}
	for i, f := range files {
		if p := f.(string); !filepath.IsAbs(p) {
			files[i] = filepath.Join(srcDir, p)
		}
		if iv.driftFor > 0 {
			files[i] = withFor(t, dir, files[i].(string), "CDCRowDriftDetected", iv.driftFor)
		}
		if iv.schemaFor > 0 {
			files[i] = withFor(t, dir, files[i].(string), "CDCSchemaDrift", iv.schemaFor)
		}
	}
	setFirstTarget(t, cfg, "alerting.alertmanagers", alertmanagerAddr)
	scrapes, _ := cfg["scrape_configs"].([]any)
	if len(scrapes) == 0 {
		t.Fatalf("%s has no scrape config", src)
	}
	if iv != shipped {
		job := scrapes[0].(map[string]any)
		job["scrape_timeout"] = iv.scrape.String() // may not exceed the interval
	}
	setFirstTarget(t, cfg, "scrape_configs", sentinelAddr)
	out := filepath.Join(dir, "prometheus.yml")
	writeYAML(t, out, cfg)
	return out
}

// withFor is the rule file at path, or when it holds the alert named
// alert, a copy of it in dir with that alert's for: set to d.
func withFor(t *testing.T, dir, path, alert string, d time.Duration) string {
	t.Helper()
	m := readYAMLMap(t, path)
	groups, _ := m["groups"].([]any)
	found := false
	for _, g := range groups {
		rules, _ := g.(map[string]any)["rules"].([]any)
		for _, r := range rules {
			if rule := r.(map[string]any); rule["alert"] == alert {
				rule["for"] = d.String()
				found = true
			}
		}
	}
	if !found {
		return path
	}
	out := filepath.Join(dir, filepath.Base(path))
	writeYAML(t, out, m)
	return out
}

// setFirstTarget points the first static_configs target of the first
// entry of the list at key (alerting.alertmanagers or scrape_configs) to
// addr.
func setFirstTarget(t *testing.T, cfg map[string]any, key, addr string) {
	t.Helper()
	var list []any
	if parent, child, ok := strings.Cut(key, "."); ok {
		m, _ := cfg[parent].(map[string]any)
		list, _ = m[child].([]any)
	} else {
		list, _ = cfg[key].([]any)
	}
	if len(list) == 0 {
		t.Fatalf("prometheus.yml: %s is empty", key)
	}
	statics, _ := list[0].(map[string]any)["static_configs"].([]any)
	if len(statics) == 0 {
		t.Fatalf("prometheus.yml: %s[0] has no static_configs", key)
	}
	statics[0].(map[string]any)["targets"] = []any{addr}
}

// alertmanagerConfig is deploy/alertmanager/alertmanager.yml with the
// test's intervals on every route and the cdc-sentinel receiver pointed at
// the test's cdc-sentinel.
func alertmanagerConfig(t *testing.T, dir, sentinelAddr string, iv intervals) string {
	t.Helper()
	return alertmanagerConfigFrom(t, filepath.Join(repoRoot, "deploy", "alertmanager", "alertmanager.yml"), dir, sentinelAddr, iv)
}

// alertmanagerConfigFrom is alertmanagerConfig for a variant of the
// example config written to src.
func alertmanagerConfigFrom(t *testing.T, src, dir, sentinelAddr string, iv intervals) string {
	t.Helper()
	cfg := readYAMLMap(t, src)
	var setIntervals func(r map[string]any)
	setIntervals = func(r map[string]any) {
		r["group_wait"] = iv.groupWait.String()
		r["group_interval"] = iv.groupInterval.String()
		r["repeat_interval"] = iv.repeatInterval.String()
		children, _ := r["routes"].([]any)
		for _, c := range children {
			setIntervals(c.(map[string]any))
		}
	}
	route, _ := cfg["route"].(map[string]any)
	if route == nil {
		t.Fatalf("%s: no route", src)
	}
	if iv != shipped {
		setIntervals(route)
	}
	found := false
	receivers, _ := cfg["receivers"].([]any)
	for _, r := range receivers {
		r := r.(map[string]any)
		if r["name"] != "cdc-sentinel" {
			continue
		}
		hooks, _ := r["webhook_configs"].([]any)
		if len(hooks) == 0 {
			t.Fatalf("%s: receiver cdc-sentinel has no webhook", src)
		}
		u, err := url.Parse(hooks[0].(map[string]any)["url"].(string))
		if err != nil {
			t.Fatalf("%s: webhook url: %v", src, err)
		}
		u.Host = sentinelAddr
		hooks[0].(map[string]any)["url"] = u.String()
		found = true
	}
	if !found {
		t.Fatalf("%s: no receiver named cdc-sentinel", src)
	}
	out := filepath.Join(dir, "alertmanager.yml")
	writeYAML(t, out, cfg)
	return out
}

// promQuery runs an instant query and returns the result's samples.
type sample struct {
	Labels map[string]string
	Value  float64
}

func promQuery(ctx context.Context, promURL, q string) ([]sample, error) {
	var result []struct {
		Metric map[string]string `json:"metric"`
		Value  [2]any            `json:"value"`
	}
	if err := promAPIQuery(ctx, promURL, q, &result); err != nil {
		return nil, err
	}
	out := make([]sample, 0, len(result))
	for _, r := range result {
		s, _ := r.Value[1].(string)
		v, _ := strconv.ParseFloat(s, 64)
		out = append(out, sample{Labels: r.Metric, Value: v})
	}
	return out, nil
}

// promAPIQuery runs an instant query and decodes data.result into result.
func promAPIQuery(ctx context.Context, promURL, q string, result any) error {
	u := promURL + "/api/v1/query?query=" + url.QueryEscape(q)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("query %q: %w", q, err)
	}
	if body.Status != "success" {
		return fmt.Errorf("query %q: %s", q, body.Error)
	}
	if err := json.Unmarshal(body.Data.Result, result); err != nil {
		return fmt.Errorf("query %q: %w", q, err)
	}
	return nil
}

// amAlerts lists Alertmanager's active alerts matching filter
// (Alertmanager matchers, e.g. alertname="X").
func amAlerts(ctx context.Context, amURL string, filter ...string) ([]map[string]any, error) {
	q := url.Values{}
	for _, f := range filter {
		q.Add("filter", f)
	}
	q.Set("silenced", "false")
	q.Set("inhibited", "true")
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, amURL+"/api/v2/alerts?"+q.Encode(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

// auditRecord is the part of a remediation audit record the test reads.
type auditRecord struct {
	Alert struct {
		Name     string            `json:"name"`
		Labels   map[string]string `json:"labels"`
		StartsAt time.Time         `json:"starts_at"`
	} `json:"alert"`
	Rule       string            `json:"rule"`
	Phase      string            `json:"phase"`
	Action     string            `json:"action"`
	Arguments  map[string]string `json:"arguments"`
	Decision   string            `json:"decision"`
	Outcome    string            `json:"outcome"`
	Detail     string            `json:"detail"`
	Error      string            `json:"error"`
	ReceivedAt time.Time         `json:"received_at"`
	StartedAt  time.Time         `json:"started_at"`
	FinishedAt time.Time         `json:"finished_at"`
	TraceID    string            `json:"trace_id"`
}

func audit(ctx context.Context, sentinelURL, rule string) ([]auditRecord, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, sentinelURL+"/api/v1/remediations?rule="+url.QueryEscape(rule), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/v1/remediations: %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	var out []auditRecord
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return out, nil
}

// eventually polls check every interval until it returns true or the
// timeout passes; the last error explains a timeout.
func eventually(t *testing.T, what string, timeout time.Duration, check func(ctx context.Context) (bool, error)) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		ok, err := check(ctx)
		cancel()
		if ok {
			return time.Now()
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s (last error: %v)", what, timeout, last)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// timeline records when each step of a scenario happened, for the report.
type timeline struct {
	mu    sync.Mutex
	t0    time.Time
	steps []string
}

func (tl *timeline) start() { tl.t0 = time.Now() }

func (tl *timeline) mark(t *testing.T, at time.Time, what string) time.Duration {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	d := at.Sub(tl.t0).Round(100 * time.Millisecond)
	tl.steps = append(tl.steps, fmt.Sprintf("+%-7s %s", d, what))
	t.Logf("+%s %s", d, what)
	return d
}

// needStack is the pipeline for a test that runs cdc-sentinel with real
// Prometheus and Alertmanager; it skips (or fails under make test) before
// the test creates anything when a tool is missing.
func needStack(t *testing.T) *testenv.Pipeline {
	t.Helper()
	env := testenv.Need(t)
	testenv.Tool(t, "prometheus", "PROMETHEUS")
	testenv.Tool(t, "alertmanager", "ALERTMANAGER")
	if env.KafkaBrokers == "" || env.TargetDSN == "" {
		t.Fatal("the pipeline's env file has no Kafka brokers or target DSN")
	}
	return env
}

// stackPipeline is the pipeline handle of a scenario named name that runs
// the whole stack: what it creates carries the prefix name_<random hex>,
// so runs and scenarios never meet.
func stackPipeline(t *testing.T, name string) *pipeline {
	t.Helper()
	return newPipeline(t, needStack(t), name+"_"+randomHex(4))
}

// watchConfig is the head of a cdc-sentinel configuration watching the
// local pipeline: its Connect cluster "local", its Kafka and its source and
// target databases; a scenario adds its tables and rules below it.
func watchConfig(env *testenv.Pipeline) string {
	brokers := strings.Split(env.KafkaBrokers, ",")
	for i, b := range brokers {
		brokers[i] = strconv.Quote(b)
	}
	return fmt.Sprintf(`connect_clusters:
  - name: local
    url: %s
    timeout: 10s
kafka:
  brokers: [%s]
databases:
  - {name: source, driver: postgres, dsn: %q}
  - {name: target, driver: postgres, dsn: %q}
`, env.ConnectURL, strings.Join(brokers, ", "), env.SourceDSN, env.TargetDSN)
}

// itemsTable is a configuration's entry for public.<name> (id, name) at
// the source and the target, as the scenarios create it; a scenario adds
// its own keys of the entry below it.
func itemsTable(name string) string {
	return fmt.Sprintf(`  - name: %[1]s
    source: {database: source, table: %[2]q}
    target: {database: target, table: %[2]q}
    key: [id]
    columns: [id, name]
`, name, "public."+name)
}

// startStack runs cdc-sentinel with sentinelCfg, Alertmanager routing to
// its /alerts and Prometheus scraping it and evaluating rules/, the example
// configs of deploy/ with iv's intervals; it returns once Prometheus has
// scraped cdc-sentinel, so the rules see it before a scenario breaks
// something.
func startStack(t *testing.T, p *pipeline, sentinelCfg string, iv intervals) stack {
	t.Helper()
	dir := t.TempDir()
	sentinelAddr, promAddr, amAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	s := stack{p: p, sentinelURL: "http://" + sentinelAddr, promURL: "http://" + promAddr, amURL: "http://" + amAddr}

	cfgPath := filepath.Join(dir, "cdc-sentinel.yml")
	if err := os.WriteFile(cfgPath, []byte(sentinelCfg), 0o600); err != nil {
		t.Fatal(err)
	}
	sentinel := start(t, "cdc-sentinel", buildSentinel(t),
		"--config.file="+cfgPath, "--web.listen-address="+sentinelAddr,
		"--storage.path="+filepath.Join(dir, "sentinel-data"), "--log.level=debug")
	sentinel.waitReady(t, s.sentinelURL+"/-/ready", 30*time.Second)

	am := start(t, "alertmanager", testenv.Tool(t, "alertmanager", "ALERTMANAGER"),
		"--config.file="+alertmanagerConfig(t, dir, sentinelAddr, iv),
		"--storage.path="+filepath.Join(dir, "am-data"),
		"--web.listen-address="+amAddr,
		"--cluster.listen-address=",
	)
	am.waitReady(t, s.amURL+"/-/ready", 30*time.Second)

	prom := start(t, "prometheus", testenv.Tool(t, "prometheus", "PROMETHEUS"),
		"--config.file="+prometheusConfig(t, dir, sentinelAddr, amAddr, iv),
		"--storage.tsdb.path="+filepath.Join(dir, "prom-data"),
		"--web.listen-address="+promAddr,
	)
	prom.waitReady(t, s.promURL+"/-/ready", 60*time.Second)

	eventually(t, "Prometheus scraping cdc-sentinel", 30*time.Second, func(ctx context.Context) (bool, error) {
		up, err := promQuery(ctx, s.promURL, `up{job="cdc-sentinel"} == 1`)
		return len(up) == 1, err
	})
	return s
}
