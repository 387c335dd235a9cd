package remediate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/tracing"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

// Host holds what outlives a configuration reload: the metrics and the
// open stores. The server builds one per process and an Engine from it on
// every (re)load; engines built from the same store settings share one
// open store, which is closed when the last of them closes.
type Host struct {
	metrics     *Metrics
	logger      *slog.Logger
	storagePath string
	replica     string
	// openTimeout bounds connecting to a PostgreSQL store, so that an
	// unreachable database fails a (re)load instead of hanging it.
	openTimeout time.Duration

	// gate bounds the HTTP endpoints' waits on the store for every
	// engine this process builds, across reloads.
	gate *store.Gate

	mu     sync.Mutex
	stores map[string]*heldStore
}

type heldStore struct {
	store store.Store
	refs  int
}

// BoltFile is the embedded store's file name under --storage.path.
const BoltFile = "remediation.db"

// NewHost registers the metrics on reg (the server's process-wide
// registry) and returns a Host.
func NewHost(reg prometheus.Registerer, logger *slog.Logger, storagePath string) (*Host, error) {
	m, err := NewMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("remediation metrics: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &Host{
		metrics: m, logger: logger, storagePath: storagePath,
		replica: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:])),
		stores:  map[string]*heldStore{}, openTimeout: 15 * time.Second,
		gate: store.NewGate(0, 0),
	}, nil
}

// Dependencies an Engine needs besides its configuration.
type Dependencies struct {
	Clusters   map[string]Connect
	Reconciler Reconciler
	// TablesFed finds the tables a reconcile without a table repairs.
	TablesFed TablesFed
	// Tracing traces notifications and decisions; nil traces nothing.
	Tracing *tracing.Provider
	// Tables are the configured tables' names (see Options.Tables).
	Tables []string
}

// Engine builds and starts an engine for cfg. Close it to release the store.
func (h *Host) Engine(ctx context.Context, cfg config.Remediation, deps Dependencies) (*Engine, error) {
	key, st, err := h.acquire(ctx, cfg.Store)
	if err != nil {
		return nil, err
	}
	e, err := NewEngine(Options{
		Config: cfg, Clusters: deps.Clusters, Reconciler: deps.Reconciler, TablesFed: deps.TablesFed,
		Store: st, Metrics: h.metrics, Logger: h.logger.With("component", "remediation"),
		Replica: h.replica, OnClose: func() { h.release(key) }, Tracing: deps.Tracing, Tables: deps.Tables,
		Gate: h.gate,
	})
	if err != nil {
		h.release(key)
		return nil, err
	}
	e.Start()
	return e, nil
}

func (h *Host) acquire(ctx context.Context, sc config.RemediationStore) (string, store.Store, error) {
	var key string
	var open func() (store.Store, error)
	switch sc.Type {
	case "", "bolt":
		path := filepath.Join(h.storagePath, BoltFile)
		key = "bolt:" + path
		open = func() (store.Store, error) {
			if err := os.MkdirAll(h.storagePath, 0o750); err != nil {
				return nil, fmt.Errorf("remediation store: %w", err)
			}
			return store.OpenBolt(path)
		}
	case "postgres":
		dsn := sc.DSN.Reveal()
		if sc.DSNFile != "" {
			b, err := os.ReadFile(sc.DSNFile)
			if err != nil {
				return "", nil, fmt.Errorf("remediation store: reading dsn_file: %w", err)
			}
			dsn = strings.TrimSpace(string(b))
		}
		key = "postgres:" + dsn
		return h.acquirePostgres(ctx, key, dsn)
	default:
		return "", nil, fmt.Errorf("remediation store: unknown type %q", sc.Type)
	}
	// bbolt opens under the lock: a second open of the file in this
	// process would wait for the first one's file lock.
	h.mu.Lock()
	defer h.mu.Unlock()
	if held := h.stores[key]; held != nil {
		held.refs++
		return key, held.store, nil
	}
	s, err := open()
	if err != nil {
		return "", nil, err
	}
	h.stores[key] = &heldStore{store: s, refs: 1}
	return key, s, nil
}

// acquirePostgres connects outside the lock, under openTimeout: a slow
// database must not hold up other engines' stores or their release.
func (h *Host) acquirePostgres(ctx context.Context, key, dsn string) (string, store.Store, error) {
	if s := h.hold(key); s != nil {
		return key, s, nil
	}
	octx, cancel := context.WithTimeout(ctx, h.openTimeout)
	defer cancel()
	s, err := store.OpenPostgres(octx, dsn)
	if err != nil {
		return "", nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if held := h.stores[key]; held != nil {
		// Another engine opened it meanwhile: share that one.
		held.refs++
		_ = s.Close()
		return key, held.store, nil
	}
	h.stores[key] = &heldStore{store: s, refs: 1}
	return key, s, nil
}

// hold takes one more reference to an open store, or returns nil.
func (h *Host) hold(key string) store.Store {
	h.mu.Lock()
	defer h.mu.Unlock()
	if held := h.stores[key]; held != nil {
		held.refs++
		return held.store
	}
	return nil
}

func (h *Host) release(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	held := h.stores[key]
	if held == nil {
		return
	}
	if held.refs--; held.refs > 0 {
		return
	}
	delete(h.stores, key)
	if err := held.store.Close(); err != nil {
		h.logger.Error("closing the remediation store", "err", err)
	}
}
