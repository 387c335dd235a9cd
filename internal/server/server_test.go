package server

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-sentinel/cdc-sentinel/collector"
	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
)

// blockingCollector holds its scrape until released, like a slow query.
type blockingCollector struct {
	started, release chan struct{}
	closed           *atomic.Bool
	sawClosed        atomic.Bool
}

func (b *blockingCollector) Name() string { return "blocking" }
func (b *blockingCollector) Collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	close(b.started)
	<-b.release
	b.sawClosed.Store(b.closed.Load())
	return nil
}

// scrapeAcrossReload loads a first runtime holding first and closing
// with closeFirst, starts a scrape, and reloads once the scrape is inside
// first; done closes when the scrape's handler has returned.
func scrapeAcrossReload(t *testing.T, first *blockingCollector, closeFirst func()) (s *Server, done chan struct{}) {
	t.Helper()
	cfgFile := filepath.Join(t.TempDir(), "c.yml")
	os.WriteFile(cfgFile, []byte("connect_clusters: []\n"), 0o600)
	builds := 0
	s = New(Options{Logger: slog.New(slog.DiscardHandler), ConfigFile: cfgFile, Build: func(ctx context.Context, cfg *config.Config) (*Runtime, error) {
		builds++
		if builds == 1 {
			return &Runtime{Config: cfg, Collectors: []collector.Collector{first}, Close: closeFirst}, nil
		}
		return &Runtime{Config: cfg}, nil
	}})
	if err := s.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	done = make(chan struct{})
	go func() {
		defer close(done)
		s.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/metrics", nil))
	}()
	<-first.started
	if err := s.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, done
}

func TestReloadWaitsForScrapesOfTheOldRuntime(t *testing.T) {
	var closed atomic.Bool
	first := &blockingCollector{started: make(chan struct{}), release: make(chan struct{}), closed: &closed}
	_, done := scrapeAcrossReload(t, first, func() { closed.Store(true) })
	if closed.Load() {
		t.Fatal("the old runtime was closed while a scrape was still using it")
	}
	close(first.release)
	<-done
	if first.sawClosed.Load() {
		t.Error("the scrape saw its runtime closed")
	}
	deadline := time.Now().Add(30 * time.Second)
	for !closed.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the old runtime was never closed after its last scrape")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A scrape that was the last user of a runtime a reload retired must not
// wait for that runtime to close: its answer is complete only when the
// handler returns, and closing waits for pools and clients to drain.
func TestScrapeDoesNotWaitForItsRetiredRuntimeToClose(t *testing.T) {
	var closed atomic.Bool
	first := &blockingCollector{started: make(chan struct{}), release: make(chan struct{}), closed: &closed}
	closing, unblock := make(chan struct{}), make(chan struct{})
	defer close(unblock)
	_, done := scrapeAcrossReload(t, first, func() {
		close(closing)
		<-unblock // a pool still draining an abandoned query
		closed.Store(true)
	})
	close(first.release)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the scrape did not answer while its retired runtime was still closing")
	}
	select {
	case <-closing:
	case <-time.After(30 * time.Second):
		t.Fatal("the retired runtime was never closed after its last scrape")
	}
}

// Shutting down waits for a retired runtime still closing apart: a
// reload just before SIGTERM must not leave a reconcile or a store half
// closed when the process exits.
func TestCloseWaitsForRetiredRuntimesStillClosing(t *testing.T) {
	var closed atomic.Bool
	first := &blockingCollector{started: make(chan struct{}), release: make(chan struct{}), closed: &closed}
	closing, unblock := make(chan struct{}), make(chan struct{})
	s, done := scrapeAcrossReload(t, first, func() {
		close(closing)
		<-unblock
		closed.Store(true)
	})
	close(first.release)
	<-done
	<-closing
	returned := make(chan struct{})
	go func() {
		s.Close()
		close(returned)
	}()
	close(unblock)
	select {
	case <-returned:
	case <-time.After(30 * time.Second):
		t.Fatal("Close never returned")
	}
	if !closed.Load() {
		t.Fatal("Close returned before the retired runtime had closed")
	}
}
