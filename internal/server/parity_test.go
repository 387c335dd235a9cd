package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/collector"
	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
)

func scrape(s *Server) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec
}

func TestDisableExporterMetrics(t *testing.T) {
	for _, disable := range []bool{false, true} {
		body := scrape(New(Options{Logger: slog.New(slog.DiscardHandler), DisableExporterMetrics: disable})).Body.String()
		if has := strings.Contains(body, "go_goroutines") && strings.Contains(body, "process_"); has == disable {
			t.Errorf("disable=%v: Go and process metrics present=%v", disable, has)
		}
		if !strings.Contains(body, "cdc_sentinel_build_info") {
			t.Errorf("disable=%v: build info missing", disable)
		}
	}
}

// A scrape beyond --web.max-requests gets 503 at once, not a queue.
func TestMaxRequests(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "c.yml")
	os.WriteFile(cfgFile, []byte("connect_clusters: []\n"), 0o600)
	var closed atomic.Bool
	block := &blockingCollector{started: make(chan struct{}), release: make(chan struct{}), closed: &closed}
	s := New(Options{Logger: slog.New(slog.DiscardHandler), ConfigFile: cfgFile, MaxRequests: 1,
		Build: func(ctx context.Context, cfg *config.Config) (*Runtime, error) {
			return &Runtime{Config: cfg, Collectors: []collector.Collector{block}}, nil
		}})
	if err := s.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	done := make(chan int)
	go func() { done <- scrape(s).Code }()
	<-block.started
	if code := scrape(s).Code; code != http.StatusServiceUnavailable {
		t.Errorf("second scrape at once: %d, want 503", code)
	}
	close(block.release)
	if code := <-done; code != 200 {
		t.Errorf("first scrape: %d", code)
	}
}
