// Package server is cdc-sentinel's HTTP side: /metrics with the scrape's
// deadline carried to every collector, health and readiness, and config
// reloads that keep the running configuration when the new one is bad.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cdc-sentinel/cdc-sentinel/collector"
	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/dsn"
	"github.com/cdc-sentinel/cdc-sentinel/internal/lastuser"
	"github.com/cdc-sentinel/cdc-sentinel/internal/promreg"
	"github.com/cdc-sentinel/cdc-sentinel/internal/tracing"
)

// Runtime is everything built from one configuration: the collectors a
// scrape runs and the API routes (webhook receiver, reconcile API, …).
// A reload builds a new Runtime and closes the old one.
type Runtime struct {
	Config     *config.Config
	Collectors []collector.Collector
	// API serves every path the server does not (the webhook, /api/…);
	// nil when nothing is configured there.
	API http.Handler
	// Close releases what the Runtime holds (pools, clients).
	Close func()
	// Tracing starts the traces of scrapes; nil traces nothing.
	Tracing *tracing.Provider

	// A replaced Runtime is closed only once the scrapes and API calls
	// still using it are done, so a reload never pulls a pool out from
	// under a running query.
	users lastuser.Count
	// closing is the Server's count of Runtimes being closed apart,
	// which Server.Close waits for.
	closing *sync.WaitGroup
}

// acquire takes a reference; false once the Runtime has been retired.
func (rt *Runtime) acquire() bool {
	if rt.users.Enter() {
		rt.release()
		return false
	}
	return true
}

func (rt *Runtime) release() {
	if rt.users.Leave() {
		// Closed apart from the request that happened to be the last
		// user: closing waits for the pools' abandoned queries and the
		// Kafka client's requests, and a scrape's answer is only complete
		// when its handler returns, so closing inline made scrapes that
		// overlapped a reload overrun their deadline.
		if rt.closing != nil {
			rt.closing.Go(rt.close)
		} else {
			go rt.close()
		}
	}
}

// retire closes the Runtime now, or when its last user releases it.
// Closing waits for the reconciles it started (they finish under the
// configuration they started with), so a Server closes it apart and
// the reload that retired it does not wait for them.
func (rt *Runtime) retire() {
	if !rt.users.Retire() {
		return
	}
	if rt.closing != nil {
		rt.closing.Go(rt.close)
	} else {
		rt.close()
	}
}

func (rt *Runtime) close() {
	if rt.Close != nil {
		rt.Close()
	}
}

// BuildFunc builds a Runtime from a validated configuration.
type BuildFunc func(ctx context.Context, cfg *config.Config) (*Runtime, error)

// Options configure a Server.
type Options struct {
	Logger     *slog.Logger
	ConfigFile string
	Build      BuildFunc
	// MetricsPath is where metrics are served (--web.telemetry-path).
	MetricsPath string
	// ScrapeTimeoutOffset is taken off Prometheus's scrape timeout so
	// the answer is written before Prometheus gives up.
	ScrapeTimeoutOffset time.Duration
	// DefaultScrapeTimeout applies when the scraper sends no
	// X-Prometheus-Scrape-Timeout-Seconds header.
	DefaultScrapeTimeout time.Duration
	// LandingPage serves "/" when set; otherwise the status page does,
	// saying what Landing says of the process.
	LandingPage http.Handler
	Landing     Landing
	// Timeouts bound each connection; zero fields take the defaults.
	Timeouts Timeouts
	// DisableExporterMetrics leaves out the Go runtime (go_*) and process
	// (process_*) metrics, as node_exporter's flag of the same name does.
	DisableExporterMetrics bool
	// MaxRequests bounds the scrapes served at once; more get 503. Zero
	// or less: no bound.
	MaxRequests int
	// EnablePprof serves Go's profiles under /debug/pprof/ (they reveal
	// internals and cost CPU, so only when asked for).
	EnablePprof bool
}

// Timeouts bound how long a client may hold a connection. A slow or
// stalled client must not keep a connection (and its goroutine) forever,
// yet the largest legitimate request and the longest scrape must fit.
type Timeouts struct {
	// ReadHeader bounds reading a request's headers.
	ReadHeader time.Duration
	// Read bounds reading a whole request, body included: a webhook body
	// is at most remediation.max_body_bytes (1 MiB by default), which any
	// live client sends well within it.
	Read time.Duration
	// Write bounds a request from the end of its headers to the end of
	// its answer. A scrape's deadline is cut to fit inside it.
	Write time.Duration
	// Idle closes a keep-alive connection with no request in flight.
	Idle time.Duration
}

// Default timeouts. Idle is above the usual one-minute scrape interval so
// Prometheus keeps reusing its connection, while abandoned ones are
// closed; Write leaves room for a two-minute scrape timeout.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 2*time.Minute + 10*time.Second
	DefaultIdleTimeout       = 75 * time.Second
)

func (t Timeouts) withDefaults() Timeouts {
	if t.ReadHeader <= 0 {
		t.ReadHeader = DefaultReadHeaderTimeout
	}
	if t.Read <= 0 {
		t.Read = DefaultReadTimeout
	}
	if t.ReadHeader > t.Read {
		t.ReadHeader = t.Read
	}
	if t.Write <= 0 {
		t.Write = DefaultWriteTimeout
	}
	if t.Idle <= 0 {
		t.Idle = DefaultIdleTimeout
	}
	return t
}

// Server owns the current Runtime and swaps it on reload.
type Server struct {
	opts    Options
	logger  *slog.Logger
	current atomic.Pointer[Runtime]
	reload  sync.Mutex
	self    *prometheus.Registry

	// inflight holds a token per scrape in progress, when bounded.
	inflight chan struct{}
	// closing counts retired Runtimes still being closed apart from the
	// request that let go of them last.
	closing sync.WaitGroup

	reloadSuccess   prometheus.Gauge
	reloadTimestamp prometheus.Gauge
	reloadsTotal    *prometheus.CounterVec
}

// New returns a Server with no configuration loaded; call Reload.
func New(opts Options) *Server {
	if opts.MetricsPath == "" {
		opts.MetricsPath = "/metrics"
	}
	if opts.DefaultScrapeTimeout == 0 {
		opts.DefaultScrapeTimeout = 10 * time.Second
	}
	opts.Timeouts = opts.Timeouts.withDefaults()
	s := &Server{opts: opts, logger: opts.Logger, self: prometheus.NewRegistry()}
	s.reloadSuccess = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "cdc_sentinel_config_last_reload_successful",
		Help: "Whether the last configuration load succeeded; on failure the previous configuration stays in force.",
	})
	s.reloadTimestamp = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "cdc_sentinel_config_last_reload_success_timestamp_seconds",
		Help: "When the configuration was last loaded successfully.",
	})
	s.reloadsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cdc_sentinel_config_reloads_total",
		Help: "Configuration loads by outcome.",
	}, []string{"outcome"})
	own := []prometheus.Collector{versioncollector.NewCollector("cdc_sentinel"), s.reloadSuccess, s.reloadTimestamp, s.reloadsTotal}
	if !opts.DisableExporterMetrics {
		own = append(own, promreg.RuntimeCollectors()...)
	}
	for _, c := range own {
		if _, err := promreg.Register(s.self, c); err != nil {
			// A fresh registry and a fixed set of collectors: only a
			// programming error gets here, and every test would show it.
			panic(err)
		}
	}
	if opts.MaxRequests > 0 {
		s.inflight = make(chan struct{}, opts.MaxRequests)
	}
	return s
}

// SetBuild sets how a Runtime is built; it must be called before Reload.
// It is separate from New so the builder can register metrics on the
// server's own registry.
func (s *Server) SetBuild(b BuildFunc) { s.opts.Build = b }

// Config is the configuration in force, nil before the first load.
func (s *Server) Config() *config.Config {
	if rt := s.current.Load(); rt != nil {
		return rt.Config
	}
	return nil
}

// Registry is the registry of process-wide metrics; components that keep
// their own counters across scrapes (the remediator, say) register there.
func (s *Server) Registry() *prometheus.Registry { return s.self }

// Reload loads the config file and swaps in a Runtime built from it. On
// any error the running Runtime stays in force.
func (s *Server) Reload(ctx context.Context) error {
	s.reload.Lock()
	defer s.reload.Unlock()
	err := s.reloadLocked(ctx)
	if err != nil {
		s.reloadSuccess.Set(0)
		s.reloadsTotal.WithLabelValues("failure").Inc()
		if s.current.Load() == nil {
			// At the first load there is no previous one to keep.
			s.logger.Error("configuration not loaded", "file", s.opts.ConfigFile, "err", err)
		} else {
			s.logger.Error("configuration not loaded; keeping the previous one", "file", s.opts.ConfigFile, "err", err)
		}
		return err
	}
	s.reloadSuccess.Set(1)
	s.reloadTimestamp.SetToCurrentTime()
	s.reloadsTotal.WithLabelValues("success").Inc()
	s.logger.Info("configuration loaded", "file", s.opts.ConfigFile)
	return nil
}

func (s *Server) reloadLocked(ctx context.Context) error {
	cfg, err := config.Load(s.opts.ConfigFile)
	if err != nil {
		return err
	}
	rt, err := s.opts.Build(ctx, cfg)
	if err != nil {
		return fmt.Errorf("building from %s: %w", s.opts.ConfigFile, err)
	}
	rt.closing = &s.closing
	if old := s.current.Swap(rt); old != nil {
		old.retire()
	}
	return nil
}

// Close releases the Runtime in force and waits for the retired ones
// still closing (a reload just before shutdown must not leave a
// reconcile or a store half closed).
func (s *Server) Close() {
	if rt := s.current.Swap(nil); rt != nil {
		rt.retire()
	}
	s.closing.Wait()
}

// acquire returns the Runtime in force with a reference taken, or nil.
// A reload may retire the one just loaded; then the new one is taken.
func (s *Server) acquire() *Runtime {
	for {
		rt := s.current.Load()
		if rt == nil || rt.acquire() {
			return rt
		}
	}
}

// HTTPServer is an http.Server for Handler with the connection timeouts.
func (s *Server) HTTPServer() *http.Server {
	t := s.opts.Timeouts
	return &http.Server{
		Handler:           s.Handler(), // guarded by Guard
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
	}
}

// Handler routes every endpoint, behind Guard: every request that acts
// passes it first.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	// "/" is the landing page; with metrics there, the metrics.
	root := s.opts.LandingPage
	if root == nil {
		root = http.HandlerFunc(s.serveStatus)
	}
	if s.opts.MetricsPath == "/" {
		root = http.HandlerFunc(s.serveMetrics)
	} else {
		mux.HandleFunc(s.opts.MetricsPath, s.serveMetrics)
	}
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		fmt.Fprintln(w, "Healthy.")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if s.current.Load() == nil {
			http.Error(w, "Not ready: no configuration loaded.", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "Ready.")
	})
	mux.HandleFunc("/-/reload", s.serveReload)
	// Every other path is the runtime's API (the webhook, the reconcile
	// and audit APIs), which registers its own routes: none is named here.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" && root != nil {
			root.ServeHTTP(w, r)
			return
		}
		s.serveAPI(w, r)
	})
	if s.opts.EnablePprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return Guard(mux)
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	rt := s.acquire()
	if rt == nil {
		http.NotFound(w, r)
		return
	}
	defer rt.release()
	if rt.API == nil {
		http.NotFound(w, r)
		return
	}
	rt.API.ServeHTTP(w, r)
}

func (s *Server) serveReload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		w.Header().Set("Allow", "POST, PUT")
		http.Error(w, "This endpoint requires a POST request.", http.StatusMethodNotAllowed)
		return
	}
	if err := s.Reload(r.Context()); err != nil {
		http.Error(w, "Failed to reload config: "+dsn.Redact(err.Error()), http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "Config reloaded.")
}

// scrapeContext bounds a scrape by Prometheus's own timeout, less the
// offset, so collectors give up before Prometheus does.
func (s *Server) scrapeContext(r *http.Request) (context.Context, context.CancelFunc, error) {
	timeout := s.opts.DefaultScrapeTimeout
	if v := r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"); v != "" {
		secs, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		// NaN and infinities parse, and would convert to a negative
		// Duration: an already-expired scrape.
		if err != nil || !(secs > 0) || math.IsInf(secs, 0) {
			return nil, nil, fmt.Errorf("invalid X-Prometheus-Scrape-Timeout-Seconds %q", v)
		}
		// Bounded before converting, so a huge value cannot overflow; the
		// write deadline below bounds it again.
		timeout = time.Duration(min(secs, 1e6) * float64(time.Second))
	}
	// The answer must be written before the connection's write deadline
	// cuts it off, whatever timeout the scraper asks for.
	if limit := s.opts.Timeouts.Write - s.opts.Timeouts.Write/10; timeout > limit {
		timeout = limit
	}
	if s.opts.ScrapeTimeoutOffset > 0 {
		if timeout > 2*s.opts.ScrapeTimeoutOffset {
			timeout -= s.opts.ScrapeTimeoutOffset
		} else {
			// A short scrape timeout still needs some margin.
			timeout = timeout * 9 / 10
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	return ctx, cancel, nil
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if s.inflight != nil {
		select {
		case s.inflight <- struct{}{}:
			defer func() { <-s.inflight }()
		default:
			http.Error(w, fmt.Sprintf("Limit of concurrent requests reached (%d), try again later.", cap(s.inflight)), http.StatusServiceUnavailable)
			return
		}
	}
	ctx, cancel, err := s.scrapeContext(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	defer cancel()
	gatherers := prometheus.Gatherers{s.self}
	if rt := s.acquire(); rt != nil {
		defer rt.release()
		ctx, span := rt.Tracing.Root(ctx, "scrape")
		defer span.End()
		// A fresh registry per scrape carries this scrape's deadline.
		reg := prometheus.NewRegistry()
		if _, err := promreg.Register(reg, collector.NewExporter(ctx, s.logger, rt.Collectors...)); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		gatherers = append(gatherers, reg)
	}
	promhttp.HandlerFor(gatherers, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(s.logger.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
		// OpenMetrics (when the scraper asks for it) carries the
		// exemplars that link a remediation's duration to its trace.
		EnableOpenMetrics: true,
	}).ServeHTTP(w, r)
}

// ErrNoConfig is returned by components asked to act before a
// configuration is loaded.
var ErrNoConfig = errors.New("no configuration loaded")
