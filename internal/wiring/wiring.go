// Package wiring builds cdc-sentinel's runtime parts from a validated
// configuration and connects them: the clients, the shared database
// pools, the collectors and the API handlers. The server calls Build on
// start and on every reload; the reconcile and doctor commands open the
// same Sources.
package wiring

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-sentinel/cdc-sentinel/collector"
	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/reconcile"
	"github.com/cdc-sentinel/cdc-sentinel/internal/server"
	"github.com/cdc-sentinel/cdc-sentinel/internal/tracing"
	"github.com/cdc-sentinel/cdc-sentinel/internal/vault"
	"github.com/cdc-sentinel/cdc-sentinel/remediate"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/webhook"
)

// Deps are the process-wide things every Runtime shares.
type Deps struct {
	Logger *slog.Logger
	// StoragePath is the directory for local state (--storage.path).
	StoragePath string
	UserAgent   string
	// Registerer takes metrics that outlive a reload (counters kept
	// across scrapes).
	Registerer prometheus.Registerer
	// Remediation holds the remediator's metrics and open store across
	// reloads; Builder creates it when nil. Without it Build serves no
	// /alerts.
	Remediation *remediate.Host
	// VaultRequests counts the requests made to Vault across reloads;
	// Builder creates it when nil.
	VaultRequests *vault.Requests
	// Reconciles keeps the reconcile jobs across reloads: a run started
	// before a reload finishes under the configuration it started with
	// and stays queryable. Whoever made it closes it at shutdown, which
	// cancels what still runs. When nil each Runtime keeps its own, and
	// a reload cancels its runs.
	Reconciles *reconcile.Jobs
}

// Builder returns a server.BuildFunc closing over deps.
func Builder(deps Deps) server.BuildFunc {
	if deps.Remediation == nil {
		host, err := remediate.NewHost(deps.Registerer, deps.Logger, deps.StoragePath)
		if err != nil && deps.Logger != nil {
			deps.Logger.Error("remediation disabled", "err", err)
		}
		deps.Remediation = host
	}
	if deps.VaultRequests == nil {
		deps.VaultRequests = &vault.Requests{}
	}
	return func(ctx context.Context, cfg *config.Config) (*server.Runtime, error) {
		return Build(ctx, cfg, deps)
	}
}

// ConnectClients builds one client per configured cluster.
func ConnectClients(cfg *config.Config, userAgent string) (map[string]*connect.Client, []*connect.Client, error) {
	byName := map[string]*connect.Client{}
	var ordered []*connect.Client
	for _, cc := range cfg.ConnectClusters {
		c, err := connect.New(cc, connect.WithUserAgent(userAgent))
		if err != nil {
			return nil, nil, err
		}
		byName[cc.Name] = c
		ordered = append(ordered, c)
	}
	return byName, ordered, nil
}

// Build wires a Runtime.
func Build(ctx context.Context, cfg *config.Config, deps Deps) (*server.Runtime, error) {
	connectByName, clients, err := ConnectClients(cfg, deps.UserAgent)
	if err != nil {
		return nil, fmt.Errorf("connect clients: %w", err)
	}
	listers := make([]collector.ConnectLister, len(clients))
	for i, c := range clients {
		listers[i] = c
	}
	rt := &server.Runtime{Config: cfg}
	var closers []func()
	tp, err := tracing.New(ctx, cfg.Tracing)
	if err != nil {
		return nil, err
	}
	rt.Tracing = tp
	// A build that fails half way releases what it already opened (pools,
	// Vault watchers, runners): a bad reload must not leak them.
	built := false
	closers = append(closers, tp.Close)
	defer func() {
		if !built {
			for i := len(closers) - 1; i >= 0; i-- {
				closers[i]()
			}
		}
	}()
	// Closed last: the engine's and reconciler's closers may still be
	// finishing calls to Connect.
	closers = append(closers, func() {
		for _, c := range clients {
			c.Close()
		}
	})
	rt.Collectors = append(rt.Collectors, collector.NewConnectCollector(listers...))

	// Lag, DLQ and source health. The databases are opened once
	// per Runtime; drift and reconcile share the same pools: sources.DBs.
	sources, err := OpenSources(ctx, cfg, deps)
	if err != nil {
		return nil, fmt.Errorf("databases: %w", err)
	}
	closers = append(closers, sources.Close)
	rt.Collectors = append(rt.Collectors, sources.Collectors(cfg, clients, deps.Logger)...)

	// Drift sampling and full reconcile: see drift.go.
	ownJobs := deps.Reconciles == nil
	if ownJobs {
		deps.Reconciles = reconcile.NewJobs()
	}
	driftCollector, reconciler, err := BuildDrift(cfg, sources, connectByName, deps, tp)
	if err != nil {
		return nil, fmt.Errorf("drift: %w", err)
	}
	// Closing waits for the runs started from this configuration, so its
	// pools stay open under them (closed after, in reverse order); runs
	// kept by no one else are cancelled first.
	closers = append(closers, reconciler.Close)
	if ownJobs {
		closers = append(closers, deps.Reconciles.Close)
	}
	rt.Collectors = append(rt.Collectors, driftCollector, collector.NewReconcileCollector(reconciler))

	// Schema checks: each table's columns across its layers.
	schemaCollector, _, err := BuildSchemaCheck(cfg, sources, reconcile.SourceConfig(connectorkind.SourceConfig(cfg, sources.DBs, connectByName)), deps.Logger)
	if err != nil {
		return nil, fmt.Errorf("schema check: %w", err)
	}
	if schemaCollector != nil {
		rt.Collectors = append(rt.Collectors, schemaCollector)
	}

	mux := http.NewServeMux()
	rt.API = mux
	server.RegisterReconcile(mux, reconciler) // POST /api/v1/reconcile, GET /api/v1/reconcile[/{id}]

	// Remediation: the webhook receiver and its audit trail.
	// The engine is per configuration; its store and metrics live in
	// deps.Remediation and survive the reload.
	if deps.Remediation != nil {
		clusters := make(map[string]remediate.Connect, len(connectByName))
		for name, c := range connectByName {
			clusters[name] = c
		}
		// The configured tables are the table label values the
		// remediation metrics keep.
		tables := make([]string, 0, len(cfg.Tables))
		for _, t := range cfg.Tables {
			tables = append(tables, t.Name)
		}
		// The reconcile action starts the drift runner's reconciles.
		// A reconcile without a table (after a data loss) repairs the
		// tables fed through the connector or topic the alert names.
		source := connectorkind.SourceConfig(cfg, sources.DBs, connectByName)
		fed := func(ctx context.Context, connector, topic string) ([]string, error) {
			return connectorkind.TablesFed(ctx, cfg.Tables, sources.DBs, source, connector, topic)
		}
		eng, err := deps.Remediation.Engine(ctx, cfg.Remediation, remediate.Dependencies{Clusters: clusters, Reconciler: reconcile.BoolStarter{Runner: reconciler}, TablesFed: fed, Tracing: tp, Tables: tables})
		if err != nil {
			return nil, fmt.Errorf("remediation: %w", err)
		}
		closers = append(closers, eng.Close)
		rt.Collectors = append(rt.Collectors, collector.NewRemediationCollector(eng))
		logger := slog.New(slog.DiscardHandler)
		if deps.Logger != nil {
			logger = deps.Logger.With("component", "remediation")
		}
		webhook.Register(mux, eng, eng, webhook.Options{ // POST /alerts, GET /api/v1/remediations
			MaxBodyBytes: cfg.Remediation.MaxBodyBytes, Logger: logger, Tracing: tp,
			Outcomes: remediate.Outcomes(),
		})
	}
	rt.Close = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	built = true
	return rt, nil
}
