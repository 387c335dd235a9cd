package rules

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// A remediation counter's label set appears at 1 with its first action:
// the real Prometheus, scraping it as it goes from absent to 1 to 2, must
// give the recording rule and the remediation dashboard's panels two
// actions, not 0 (increase() alone never sees the first increment of a
// new series).
func TestFirstActionOfANewLabelSetIsCounted(t *testing.T) {
	bin := testenv.Tool(t, "prometheus", "PROMETHEUS")
	var actions atomic.Int64 // 0: the series does not exist yet
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintln(w, "cdc_sentinel_build_info 1")
		if n := actions.Load(); n > 0 {
			fmt.Fprintf(w, "cdc_remediation_actions_total{connect_cluster=\"prod\",connector=\"orders-sink\",table=\"\",rule=\"restart-failed-tasks\",action=\"restart_task\",outcome=\"success\"} %d\n", n)
		}
	}))
	defer exporter.Close()

	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	u, _ := url.Parse(exporter.URL)
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("global: {scrape_interval: 1s}\nscrape_configs:\n  - job_name: cdc-sentinel\n    static_configs: [{targets: [%q]}]\n", u.Host)), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := testenv.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	log, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(log.Name())
			t.Logf("prometheus log:\n%s", b)
		}
	})
	query := func(expr string) (float64, bool) {
		resp, err := http.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(expr))
		if err != nil {
			return 0, false
		}
		defer resp.Body.Close()
		var body struct {
			Status string `json:"status"`
			Error  string `json:"error"`
			Data   struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			return 0, false
		}
		if body.Status != "success" {
			t.Fatalf("query %s: %s", expr, body.Error)
		}
		if len(body.Data.Result) != 1 {
			return 0, false
		}
		v, err := strconv.ParseFloat(body.Data.Result[0].Value[1].(string), 64)
		return v, err == nil
	}
	waitFor := func(expr string, want float64) {
		t.Helper()
		testenv.Eventually(t, time.Minute, func() bool { v, ok := query(expr); return ok && v == want },
			func() string { v, ok := query(expr); return fmt.Sprintf("%s = %v (%v), want %v", expr, v, ok, want) })
	}
	// Scraped without the series, then with it at 1, then at 2.
	waitFor(`count_over_time(up{job="cdc-sentinel"}[1m]) >= bool 2`, 1)
	actions.Store(1)
	waitFor(`cdc_remediation_actions_total`, 1)
	actions.Store(2)
	waitFor(`cdc_remediation_actions_total`, 2)

	var rf ruleFile
	readYAML(t, "cdc-sentinel.recording.yml", &rf)
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Record == "rule_action_outcome:cdc_remediation_actions:rate5m" {
				if v, ok := query(r.Expr); !ok || v*300 < 1.999 || v*300 > 2.001 {
					t.Errorf("%s = %v per second (found %v), want 2 actions in 5m (%v)", r.Record, v, ok, 2.0/300)
				}
			}
		}
	}

	// The remediation dashboard's panels, with Grafana's variables as it
	// would fill them for "All" over the last hour.
	b, err := os.ReadFile("../dashboards/cdc-sentinel-remediation.json")
	if err != nil {
		t.Fatal(err)
	}
	vars := regexp.MustCompile(`"\$[a-z_]+"`)
	found := 0
	for _, m := range regexp.MustCompile(`"expr":\s*("(?:[^"\\]|\\.)*")`).FindAllStringSubmatch(string(b), -1) {
		var expr string
		if err := json.Unmarshal([]byte(m[1]), &expr); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(expr, "cdc_remediation_actions_total") || !strings.Contains(expr, `outcome="success"`) && !strings.Contains(expr, "rule, action, outcome") {
			continue
		}
		found++
		expr = vars.ReplaceAllString(expr, `".*"`)
		expr = strings.NewReplacer("$__range", "1h", "$__rate_interval", "1m").Replace(expr)
		if v, ok := query(expr); !ok || v != 2 {
			t.Errorf("dashboard panel %s = %v (found %v), want the 2 actions", expr, v, ok)
		}
	}
	if found < 2 {
		t.Errorf("found %d remediation panels counting successful actions, want the stat and the timeline", found)
	}
}
