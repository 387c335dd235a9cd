package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// These tests build and run the real binary, the way users run it.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cdc-sentinel-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "cdc-sentinel")
	build := exec.Command("go", "build", "-o", binary, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building cdc-sentinel: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func runBinary(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckConfigAcceptsTheExampleConfig(t *testing.T) {
	out, errOut, code := runBinary(t, "check-config", "--config.file=../../cdc-sentinel.example.yml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "valid") {
		t.Errorf("stdout = %q", out)
	}
}

func TestCheckConfigNamesTheBadKeyAndLine(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "bad.yml", "connect_clusters:\n  - name: a\n    url: http://x:8083\n    timout: 5s\n")
	_, errOut, code := runBinary(t, "check-config", "--config.file="+f)
	if code == 0 {
		t.Fatal("a bad config passed")
	}
	if !strings.Contains(errOut, `bad.yml:4: connect_clusters[0]: unknown key "timout" (did you mean "timeout"?)`) {
		t.Errorf("stderr = %q", errOut)
	}
	f = writeFile(t, dir, "bad2.yml", "connect_clusters:\n  - name: a\n    url: ftp://x\n")
	_, errOut, code = runBinary(t, "check-config", "--config.file="+f)
	if code == 0 || !strings.Contains(errOut, `bad2.yml:3: connect_clusters[0].url: "ftp://x" is not an http or https URL`) {
		t.Errorf("exit %d, stderr = %q", code, errOut)
	}
}

// A credential written where its section wants a mapping is never quoted
// back, not even in part: not by check-config, not in the answer to a
// reload, not in the logs.
func TestConfigErrorsNeverShowACredential(t *testing.T) {
	dir := t.TempDir()
	bad := "connect_clusters:\n  - name: local\n    url: http://127.0.0.1:1\n    basic_auth: admin:hunter2\n" +
		"kafka:\n  brokers: [\"k:9092\"]\n  sasl: PLAIN:admin:hunter2\n" +
		"remediation:\n  store: postgres://admin:hunter2@db/cdc\n"
	f := writeFile(t, dir, "bad.yml", bad)
	out, errOut, code := runBinary(t, "check-config", "--config.file="+f)
	if code == 0 || !strings.Contains(errOut, "bad.yml:4: connect_clusters[0].basic_auth: want a mapping") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, part := range []string{"hunt", "unte", "nter", "ter2"} {
		if strings.Contains(out+errOut, part) {
			t.Fatalf("check-config showed part of a password:\n%s%s", out, errOut)
		}
	}

	connect := fakeConnect(t)
	cfg := writeFile(t, dir, "c.yml", "connect_clusters:\n  - name: local\n    url: "+connect.URL+"\n")
	s := startServer(t, "--config.file="+cfg)
	writeFile(t, dir, "c.yml", bad)
	resp, err := http.Post("http://"+s.addr+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || !strings.Contains(string(body), "basic_auth") {
		t.Fatalf("bad reload answered %d %q", resp.StatusCode, body)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()
	for _, part := range []string{"hunt", "unte", "nter", "ter2"} {
		if strings.Contains(string(body)+s.logs.String(), part) {
			t.Fatalf("a reload showed part of a password:\n%s\n%s", body, s.logs)
		}
	}
}

func TestCheckConfigRefusesAnEmptyFile(t *testing.T) {
	f := writeFile(t, t.TempDir(), "empty.yml", "")
	out, errOut, code := runBinary(t, "check-config", "--config.file="+f)
	if code == 0 || !strings.Contains(errOut, "nothing to watch") || strings.Contains(out, "valid") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestCheckConfigMissingFile(t *testing.T) {
	_, errOut, code := runBinary(t, "check-config", "--config.file=/nonexistent/cdc.yml")
	if code == 0 || !strings.Contains(errOut, "/nonexistent/cdc.yml") {
		t.Errorf("exit %d, stderr = %q", code, errOut)
	}
}

func TestVersionFlag(t *testing.T) {
	out, _, code := runBinary(t, "--version")
	if code != 0 || !strings.Contains(out, "cdc-sentinel, version") {
		t.Errorf("exit %d, out = %q", code, out)
	}
}

func TestUnknownFlagIsAUsageError(t *testing.T) {
	_, errOut, code := runBinary(t, "--no-such-flag")
	if code != 2 || !strings.Contains(errOut, "no-such-flag") {
		t.Errorf("exit %d, stderr = %q", code, errOut)
	}
}

func freeAddr(t *testing.T) string { return testenv.FreeAddr(t) }

// fakeConnect answers the expanded listing with one running connector.
func fakeConnect(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"demo":{"status":{"name":"demo","connector":{"state":"RUNNING","worker_id":"w:8083"},"tasks":[{"id":0,"state":"RUNNING","worker_id":"w:8083"}],"type":"sink"},"info":{"name":"demo","config":{"connector.class":"io.debezium.connector.jdbc.JdbcSinkConnector"},"tasks":[],"type":"sink"}}}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

type running struct {
	cmd  *exec.Cmd
	addr string
	logs *bytes.Buffer
}

func startServer(t *testing.T, args ...string) *running {
	t.Helper()
	addr := freeAddr(t)
	logs := &bytes.Buffer{}
	base := []string{"--web.listen-address=" + addr}
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--storage.path=") }) {
		base = append(base, "--storage.path="+t.TempDir())
	}
	cmd := exec.Command(binary, append(base, args...)...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	// A bound for failing, not a timing: a loaded machine starts slowly.
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/-/healthy")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up: %v\n%s", err, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &running{cmd: cmd, addr: addr, logs: logs}
}

func get(t *testing.T, url string, hdr ...string) (int, string) {
	t.Helper()
	return send(t, http.MethodGet, url, "", hdr...)
}

// send makes a request, with body as JSON unless empty, and returns the
// status and body of the answer.
func send(t *testing.T, method, url, body string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeExposesConnectMetricsAndSelfMetrics(t *testing.T) {
	connect := fakeConnect(t)
	cfg := writeFile(t, t.TempDir(), "c.yml", "connect_clusters:\n  - name: local\n    url: "+connect.URL+"\n")
	s := startServer(t, "--config.file="+cfg)
	code, body := get(t, "http://"+s.addr+"/metrics", "X-Prometheus-Scrape-Timeout-Seconds", "5")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`cdc_connect_up{connect_cluster="local"} 1`,
		`cdc_connect_connector_state{connect_cluster="local",connector="demo",state="RUNNING"} 1`,
		`cdc_scrape_collector_success{collector="connect"} 1`,
		`cdc_scrape_collector_duration_seconds{collector="connect"}`,
		`cdc_sentinel_build_info{`,
		`cdc_sentinel_config_last_reload_successful 1`,
		`go_goroutines`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if code, body := get(t, "http://"+s.addr+"/"); code != 200 || !strings.Contains(body, "cdc-sentinel") {
		t.Errorf("landing page = %d", code)
	}
	if code, _ := get(t, "http://"+s.addr+"/-/ready"); code != 200 {
		t.Errorf("/-/ready = %d", code)
	}
	if code, _ := get(t, "http://"+s.addr+"/metrics", "X-Prometheus-Scrape-Timeout-Seconds", "soon"); code != 400 {
		t.Errorf("a bad scrape timeout header gave %d, want 400", code)
	}
}

func TestBadReloadKeepsTheRunningConfig(t *testing.T) {
	connect := fakeConnect(t)
	dir := t.TempDir()
	good := "connect_clusters:\n  - name: local\n    url: " + connect.URL + "\n"
	cfg := writeFile(t, dir, "c.yml", good)
	s := startServer(t, "--config.file="+cfg)

	writeFile(t, dir, "c.yml", "connect_clusters:\n  - name: local\n    url: nonsense\n")
	resp, err := http.Post("http://"+s.addr+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || !strings.Contains(string(body), "connect_clusters[0].url") {
		t.Errorf("bad reload answered %d %q", resp.StatusCode, body)
	}
	_, metrics := get(t, "http://"+s.addr+"/metrics")
	if !strings.Contains(metrics, "cdc_sentinel_config_last_reload_successful 0") {
		t.Error("a failed reload is not reported")
	}
	if !strings.Contains(metrics, `cdc_connect_up{connect_cluster="local"} 1`) {
		t.Error("the running config was dropped by a failed reload")
	}

	// SIGHUP with a good file again restores the success flag.
	writeFile(t, dir, "c.yml", strings.Replace(good, "local", "renamed", 1))
	s.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, metrics = get(t, "http://"+s.addr+"/metrics")
		if strings.Contains(metrics, "cdc_sentinel_config_last_reload_successful 1") &&
			strings.Contains(metrics, `cdc_connect_up{connect_cluster="renamed"} 1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SIGHUP did not reload:\n%s", s.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, _ := get(t, "http://"+s.addr+"/-/reload"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload = %d, want 405", code)
	}
}

func TestServeRefusesToStartWithABadConfig(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "c.yml", "connect_clusters: 3\n")
	_, errOut, code := runBinary(t, "--config.file="+cfg, "--web.listen-address="+freeAddr(t), "--storage.path="+t.TempDir())
	if code == 0 || !strings.Contains(errOut, "c.yml") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	if strings.Contains(errOut, "keeping the previous one") {
		t.Errorf("at the first start there is no previous configuration to keep: %q", errOut)
	}
}

// A second server on the same --storage.path says who holds it.
func TestServeOnAStoragePathInUseNamesItsHolder(t *testing.T) {
	connect := fakeConnect(t)
	dir, storage := t.TempDir(), t.TempDir()
	cfg := writeFile(t, dir, "c.yml", "connect_clusters:\n  - name: local\n    url: "+connect.URL+"\n")
	first := startServer(t, "--config.file="+cfg, "--storage.path="+storage)

	_, errOut, code := runBinary(t, "--config.file="+cfg, "--web.listen-address="+freeAddr(t), "--storage.path="+storage)
	want := fmt.Sprintf("in use by another process: held by another cdc-sentinel (pid %d)", first.cmd.Process.Pid)
	if code == 0 || !strings.Contains(errOut, want) {
		t.Errorf("second server: exit %d, stderr %q, want it to contain %q", code, errOut, want)
	}
}

func TestWebConfigBasicAuthGuardsEveryEndpoint(t *testing.T) {
	connect := fakeConnect(t)
	dir := t.TempDir()
	hash, _ := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	web := writeFile(t, dir, "web.yml", "basic_auth_users:\n  prometheus: "+string(hash)+"\n")
	cfg := writeFile(t, dir, "c.yml", "connect_clusters:\n  - name: local\n    url: "+connect.URL+"\n")
	addr := freeAddr(t)
	cmd := exec.Command(binary, "--config.file="+cfg, "--web.config.file="+web, "--web.listen-address="+addr, "--storage.path="+t.TempDir())
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	var resp *http.Response
	var err error
	for i := 0; i < 100; i++ {
		if resp, err = http.Get("http://" + addr + "/-/healthy"); err == nil {
			resp.Body.Close()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("not up: %v\n%s", err, logs.String())
	}
	for _, path := range []string{"/metrics", "/-/healthy", "/-/ready", "/alerts", "/"} {
		if code, _ := get(t, "http://"+addr+path); code != http.StatusUnauthorized {
			t.Errorf("%s without credentials = %d, want 401", path, code)
		}
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
		req.SetBasicAuth("prometheus", "wrong")
		if r, err := http.DefaultClient.Do(req); err == nil {
			r.Body.Close()
			if r.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s with a wrong password = %d, want 401", path, r.StatusCode)
			}
		}
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
	req.SetBasicAuth("prometheus", "s3cret")
	r, err := http.DefaultClient.Do(req)
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("with credentials: %v %v", err, r)
	}
	r.Body.Close()
}

var hrefRe = regexp.MustCompile(`href="([^"]+)"`)

// landingLinks returns the page's links on this server, absolute ones to
// other sites left out.
func landingLinks(t *testing.T, addr string) []string {
	t.Helper()
	code, page := get(t, "http://"+addr+"/")
	if code != 200 {
		t.Fatalf("/ answered %d", code)
	}
	var links []string
	for _, m := range hrefRe.FindAllStringSubmatch(page, -1) {
		if strings.HasPrefix(m[1], "http://") || strings.HasPrefix(m[1], "https://") {
			continue
		}
		links = append(links, m[1])
	}
	if len(links) == 0 {
		t.Fatalf("no links on the landing page:\n%s", page)
	}
	return links
}

// Every link on the landing page leads somewhere.
func TestLandingPageHasNoDeadLinks(t *testing.T) {
	connect := fakeConnect(t)
	cfg := writeFile(t, t.TempDir(), "c.yml", "connect_clusters:\n  - name: local\n    url: "+connect.URL+"\n")
	s := startServer(t, "--config.file="+cfg)
	for _, link := range landingLinks(t, s.addr) {
		if strings.Contains(link, "pprof") {
			t.Errorf("the landing page links %s without --web.enable-pprof", link)
		}
		if code, body := get(t, "http://"+s.addr+link); code != 200 {
			t.Errorf("link %s answered %d: %.200s", link, code, body)
		}
	}
	if code, _ := get(t, "http://"+s.addr+"/debug/pprof/heap"); code != 404 {
		t.Errorf("pprof served without --web.enable-pprof: %d", code)
	}

	s = startServer(t, "--config.file="+cfg, "--web.enable-pprof")
	pprofLinks := 0
	for _, link := range landingLinks(t, s.addr) {
		if strings.Contains(link, "pprof") {
			pprofLinks++
		}
		// The CPU profile link asks for 60 s; one proves it is served.
		link = strings.Replace(link, "seconds=60", "seconds=1", 1)
		if code, body := get(t, "http://"+s.addr+link); code != 200 {
			t.Errorf("link %s answered %d: %.200s", link, code, body)
		}
	}
	if pprofLinks == 0 {
		t.Error("--web.enable-pprof does not link the profiles")
	}
}

// Serving the endpoints that act without authentication beyond loopback
// is logged loudly at start, naming them; on loopback it is not, unless
// reconcile.http_delete_extra lets the API delete rows.
func TestServeWarnsOfUnauthenticatedAlerts(t *testing.T) {
	connect := fakeConnect(t)
	dir := t.TempDir()
	plain := writeFile(t, dir, "c.yml", "connect_clusters:\n  - name: local\n    url: "+connect.URL+"\n")
	deletes := writeFile(t, dir, "d.yml", "connect_clusters:\n  - name: local\n    url: "+connect.URL+"\nreconcile: {http_delete_extra: true}\n")
	for _, c := range []struct {
		cfg  string
		all  bool
		warn bool
		want string
	}{
		{plain, false, false, ""},
		{plain, true, true, "INSECURE: POST /alerts, POST /api/v1/reconcile and POST /-/reload act on the pipeline"},
		// Deleting over HTTP is open to any local process.
		{deletes, false, true, "INSECURE: reconcile.http_delete_extra lets POST /api/v1/reconcile delete target rows"},
	} {
		cfg := c.cfg
		addr := freeAddr(t)
		if c.all {
			addr = addr[strings.LastIndex(addr, ":"):] // every interface
		}
		logs := &bytes.Buffer{}
		cmd := exec.Command(binary, "--config.file="+cfg, "--web.listen-address="+addr, "--storage.path="+t.TempDir())
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			resp, err := http.Get("http://127.0.0.1" + addr[strings.LastIndex(addr, ":"):] + "/-/ready")
			if err == nil {
				resp.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("server did not come up: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if got := strings.Contains(logs.String(), "INSECURE") && strings.Contains(logs.String(), c.want) && strings.Contains(logs.String(), "WITHOUT AUTHENTICATION"); got != c.warn {
			t.Errorf("listening on %s: warning logged=%v, want %v\n%s", addr, got, c.warn, logs)
		}
	}
}
