package wiring

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/cdc-sentinel/cdc-sentinel/collector"
	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
	"github.com/cdc-sentinel/cdc-sentinel/internal/lag"
	"github.com/cdc-sentinel/cdc-sentinel/internal/vault"
)

// Sources are the databases and the Kafka client one Runtime opens once
// and shares: the lag and health collectors, and drift and reconcile,
// all use the same pools (whose credentials Vault may swap underneath).
type Sources struct {
	// DBs are the configured databases by name.
	DBs map[string]*database.DB
	// Lag reads tables' lag over DBs, for cdc_table_lag_seconds and for
	// the drift recheck alike.
	Lag *lag.Reader
	// Kafka is nil when the config has no kafka section.
	Kafka         *kafka.Client
	vaults        []*vault.Source
	vaultRequests *vault.Requests
}

// OpenSources opens every configured database (pools connect lazily, so
// a dead database does not fail the start) and starts Vault credential
// sources for those that use Vault.
func OpenSources(ctx context.Context, cfg *config.Config, deps Deps) (*Sources, error) {
	logger := deps.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Sources{DBs: map[string]*database.DB{}, vaultRequests: deps.VaultRequests}
	if s.vaultRequests == nil {
		s.vaultRequests = &vault.Requests{}
	}
	for _, dc := range cfg.Databases {
		db, err := database.Open(ctx, dc)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.DBs[dc.Name] = db
		if dc.Vault == nil {
			continue
		}
		src, err := vault.New(dc.Name, *dc.Vault, db.Swap, vault.Options{Logger: logger, Requests: s.vaultRequests})
		if err != nil {
			s.Close()
			return nil, err
		}
		src.Start(ctx)
		s.vaults = append(s.vaults, src)
	}
	s.Lag = lag.NewReader(s.DBs, logger)
	if cfg.Kafka != nil {
		k, err := kafka.New(*cfg.Kafka)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("kafka: %w", err)
		}
		s.Kafka = k
	}
	return s, nil
}

// Collectors builds the lag, SQL Server, replication slot, offset, source
// retention, DLQ,
// DLQ error, sink consumer lag and Vault collectors that the configuration calls for.
func (s *Sources) Collectors(cfg *config.Config, clusters []*connect.Client, logger *slog.Logger) []collector.Collector {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ordered := make([]*database.DB, 0, len(cfg.Databases))
	for _, dc := range cfg.Databases {
		ordered = append(ordered, s.DBs[dc.Name])
	}
	var cs []collector.Collector
	if len(ordered) > 0 {
		cs = append(cs,
			collector.NewLagCollector(cfg.Tables, s.DBs, s.Lag, logger),
			collector.NewSQLServerCollector(sourceDatabases(cfg, ordered, config.DriverSQLServer)...),
			collector.NewSlotsCollector(sourceDatabases(cfg, ordered, config.DriverPostgres)...),
		)
		if len(clusters) > 0 {
			readers := make([]collector.OffsetsReader, len(clusters))
			for i, c := range clusters {
				readers[i] = c
			}
			cs = append(cs,
				collector.NewOffsetsCollector(s.Lag, ordered, cfg.Tables, readers...),
				collector.NewSourceRetentionCollector(ordered, readers...))
		}
	}
	if s.Kafka != nil && len(clusters) > 0 {
		listers := make([]collector.ConnectLister, len(clusters))
		for i, c := range clusters {
			listers[i] = c
		}
		cs = append(cs,
			collector.NewDLQCollector(s.Kafka, listers...),
			collector.NewSinkLagCollector(s.Kafka, listers...),
			collector.NewSinkRetentionCollector(s.Kafka, listers...),
			collector.NewDLQErrorsCollector(s.Kafka, listers...))
	}
	if len(s.vaults) > 0 {
		leases := make([]collector.VaultLeaseReader, len(s.vaults))
		for i, v := range s.vaults {
			leases[i] = v
		}
		cs = append(cs, collector.NewVaultCollector(s.vaultRequests, leases...))
	}
	return cs
}

// sourceDatabases are the databases of driver that are the source of
// some table; with no tables configured, every database of driver (a
// target on SQL Server has no CDC to report on).
func sourceDatabases(cfg *config.Config, dbs []*database.DB, driver string) []*database.DB {
	sources := map[string]bool{}
	for _, t := range cfg.Tables {
		sources[t.Source.Database] = true
	}
	var out []*database.DB
	for _, db := range dbs {
		if db.Driver() == driver && (len(cfg.Tables) == 0 || sources[db.Name()]) {
			out = append(out, db)
		}
	}
	return out
}

// Close stops the Vault sources and closes the pools and the Kafka client.
func (s *Sources) Close() {
	for _, v := range s.vaults {
		v.Close()
	}
	for _, db := range s.DBs {
		_ = db.Close() // a pool's close error leaves nothing to act on
	}
	if s.Kafka != nil {
		s.Kafka.Close()
	}
}
