package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/reconcile"
	"github.com/cdc-sentinel/cdc-sentinel/internal/server"
	"github.com/cdc-sentinel/cdc-sentinel/internal/wiring"
)

type serveFlags struct {
	storagePath         string
	web                 *web.FlagConfig
	metricsPath         string
	scrapeTimeoutOffset time.Duration
	defaultTimeout      time.Duration
	enablePprof         bool
	disableExporter     bool
	maxRequests         int
}

func addServe(a *kingpin.Application, g *globals) {
	f := &serveFlags{}
	cmd := a.Command("serve", "Run the exporter and the webhook receiver (the default command). Exit status: 0 after a clean shutdown, 1 when serving fails, 2 on usage or configuration errors.").Default()
	// The server's flags belong to serve alone, so other commands' help
	// does not list them; serve being the default command, a bare
	// `cdc-sentinel --web.listen-address=…` still works as with every
	// other exporter.
	g.logFlags(cmd)
	cmd.Flag("storage.path", "Directory for local state (remediation episodes, audit log).").Default("data/").StringVar(&f.storagePath)
	f.web = kingpinflag.AddFlags(cmd, DefaultListenAddress)
	cmd.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").StringVar(&f.metricsPath)
	cmd.Flag("scrape.timeout-offset", "Taken off Prometheus's scrape timeout so the answer arrives in time.").Default("500ms").DurationVar(&f.scrapeTimeoutOffset)
	cmd.Flag("web.enable-pprof", "Serve Go profiling endpoints under /debug/pprof/ and link them from the landing page.").Default("false").BoolVar(&f.enablePprof)
	cmd.Flag("web.disable-exporter-metrics", "Exclude the Go runtime (go_*) and process (process_*) metrics, as node_exporter's flag does.").BoolVar(&f.disableExporter)
	cmd.Flag("web.max-requests", "Maximum number of scrapes served at once; more get 503. 0 disables the limit.").Default("40").IntVar(&f.maxRequests)
	cmd.Flag("scrape.default-timeout", "Scrape deadline when the scraper sends no X-Prometheus-Scrape-Timeout-Seconds header.").Default("10s").DurationVar(&f.defaultTimeout)
	g.handle(cmd, func() int { return serve(g, f) })
}

func serve(g *globals, f *serveFlags) int {
	logger := g.logger()
	logger.Info("starting cdc-sentinel", "version", version.Info(), "build_context", version.BuildContext())
	if err := os.MkdirAll(f.storagePath, 0o750); err != nil {
		logger.Error("cannot create storage directory", "path", f.storagePath, "err", err)
		return exitFailed
	}
	landing := server.Landing{
		Name:        "cdc-sentinel",
		Description: "Watches and heals a Debezium CDC pipeline",
		Version:     version.Info(),
		Links: []server.Link{
			{Address: f.metricsPath, Text: "Metrics"},
			{Address: "/api/v1/remediations", Text: "Remediation audit log"},
			{Address: "/api/v1/reconcile", Text: "Reconcile jobs"},
			{Address: "/-/healthy", Text: "Health"},
			{Address: "/-/ready", Text: "Readiness"},
		},
	}
	if f.enablePprof {
		// The page links the profiles only where they are served.
		landing.Links = append(landing.Links, server.Link{Address: "/debug/pprof/", Text: "Profiles"})
	}
	srv := server.New(server.Options{
		Logger:               logger,
		ConfigFile:           g.configFile,
		MetricsPath:          f.metricsPath,
		ScrapeTimeoutOffset:  f.scrapeTimeoutOffset,
		DefaultScrapeTimeout: f.defaultTimeout,
		Landing:              landing,
		EnablePprof:          f.enablePprof,

		DisableExporterMetrics: f.disableExporter,
		MaxRequests:            f.maxRequests,
	})
	deps := wiring.Deps{
		Logger:      logger,
		StoragePath: f.storagePath,
		UserAgent:   "cdc-sentinel/" + version.Version,
		Registerer:  srv.Registry(),
		Reconciles:  reconcile.NewJobs(),
	}
	srv.SetBuild(wiring.Builder(deps))
	listen := server.Listen{Addresses: *f.web.WebListenAddresses, SystemdSocket: *f.web.WebSystemdSocket, WebConfigFile: *f.web.WebConfigFile}
	if _, err := server.AlertsExposureWarning(listen); err != nil {
		fmt.Fprintf(g.stderr, "cdc-sentinel: %v\n", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := srv.Reload(ctx); err != nil {
		// Exporters conventionally refuse to start on a bad config:
		// a typo should fail the deploy, not serve empty metrics.
		fmt.Fprintf(g.stderr, "cdc-sentinel: %v\n", err)
		if errors.Is(err, config.ErrInvalid) {
			return exitUsage
		}
		return exitFailed
	}
	defer srv.Close()
	// Deferred after srv.Close, so it runs first: the reconciles still
	// running are cancelled, which closing the Runtime waits for.
	defer deps.Reconciles.Close()
	if cfg := srv.Config(); cfg != nil {
		listen.DeleteOverHTTP = cfg.Reconcile.HTTPDeleteExtra
	}
	if warning, _ := server.AlertsExposureWarning(listen); warning != "" {
		// Loud on purpose: the default listens on every interface.
		logger.Warn("INSECURE: " + warning)
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-hup:
				_ = srv.Reload(ctx)
			case <-ctx.Done():
				return
			}
		}
	}()

	httpServer := srv.HTTPServer()
	errc := make(chan error, 1)
	go func() { errc <- web.ListenAndServe(httpServer, f.web, logger) }()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			logger.Error("serving HTTP", "err", err)
			return exitFailed
		}
	case <-ctx.Done():
		logger.Info("shutting down")
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = httpServer.Shutdown(shutdown)
	}
	return exitOK
}
