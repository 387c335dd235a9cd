package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-sentinel/cdc-sentinel/collector"
	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
)

// fixedCollector sends the metrics it is given under a collector's name.
type fixedCollector struct {
	name    string
	metrics []prometheus.Metric
}

func (c fixedCollector) Name() string { return c.name }
func (c fixedCollector) Collect(_ context.Context, ch chan<- prometheus.Metric) error {
	for _, m := range c.metrics {
		ch <- m
	}
	return nil
}

func gauge(name string, v float64, labels ...string) prometheus.Metric {
	var names, values []string
	for i := 0; i+1 < len(labels); i += 2 {
		names, values = append(names, labels[i]), append(values, labels[i+1])
	}
	return prometheus.MustNewConstMetric(prometheus.NewDesc(name, "h", names, nil), prometheus.GaugeValue, v, values...)
}

// statusServer serves the landing page over a runtime with one failed
// task, two tables behind, a reconcile and a remediation decision.
func statusServer(t *testing.T) *httptest.Server {
	t.Helper()
	cfgFile := filepath.Join(t.TempDir(), "c.yml")
	if err := os.WriteFile(cfgFile, []byte("connect_clusters: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	api := http.NewServeMux()
	api.HandleFunc("GET /api/v1/reconcile", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, `{"jobs":[{"id":"j2","table":"orders","status":"running","started_at":"2026-12-07T11:00:00Z"},
			{"id":"j1","table":"orders","status":"succeeded","started_at":"2026-12-07T10:00:00Z"}]}`)
	})
	api.HandleFunc("GET /api/v1/remediations", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, `[{"finished_at":"2026-12-07T11:01:00Z","rule":"restart-failed-task","action":"restart_task","target":"orders-sink/0","outcome":"success"}]`)
	})
	cs := []collector.Collector{
		fixedCollector{"connect", []prometheus.Metric{
			gauge("cdc_connect_up", 1, "connect_cluster", "prod"),
			gauge("cdc_connect_task_state", 1, "connect_cluster", "prod", "connector", "orders-sink", "task", "0", "state", "FAILED"),
			gauge("cdc_connect_task_state", 0, "connect_cluster", "prod", "connector", "orders-sink", "task", "1", "state", "FAILED"),
		}},
		fixedCollector{"lag", []prometheus.Metric{
			gauge("cdc_table_lag_seconds", 0, "table", "customers"),
			gauge("cdc_table_lag_seconds", 42.5, "table", "orders"),
		}},
	}
	s := New(Options{Logger: slog.New(slog.DiscardHandler), ConfigFile: cfgFile, MetricsPath: "/metrics",
		Landing: Landing{Name: "cdc-sentinel", Version: "test", Links: []Link{{Address: "/metrics", Text: "Metrics"}}},
		Build: func(ctx context.Context, cfg *config.Config) (*Runtime, error) {
			return &Runtime{Config: cfg, API: api, Collectors: cs}, nil
		}})
	if err := s.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
}

func TestLandingPageShowsStatusAtAGlance(t *testing.T) {
	srv := statusServer(t)
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	for _, want := range []string{
		`<section id="failed">`, `<td>orders-sink</td><td>0</td>`, `href="/api/v1/remediations?connector=orders-sink"`,
		`<section id="behind">`, `<td>orders</td><td class="bad">42.5s</td>`, `href="/api/v1/reconcile?table=orders"`,
		`<section id="reconciles">`, `<td>orders</td><td>running</td>`, `href="/api/v1/reconcile/j2"`,
		`<section id="remediations">`, `<td>restart-failed-task</td><td>restart_task</td><td>orders-sink/0</td><td>success</td>`,
		`href="/metrics"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the landing page lacks %s", want)
		}
	}
	// Only the newest job of a table, and no task that is not FAILED.
	if strings.Contains(page, "/api/v1/reconcile/j1") || strings.Contains(page, "<td>orders-sink</td><td>1</td>") {
		t.Errorf("the landing page shows what it should not:\n%s", page)
	}
	// The worst table first.
	if strings.Index(page, "<td>orders</td><td class=\"bad\">") > strings.Index(page, "<td>customers</td>") {
		t.Error("the tables are not listed worst first")
	}
}

func TestLandingPageBeforeAConfigurationIsLoaded(t *testing.T) {
	s := New(Options{Logger: slog.New(slog.DiscardHandler), ConfigFile: "/nonexistent.yml", MetricsPath: "/metrics"})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "No configuration loaded.") {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}
