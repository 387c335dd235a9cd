package connectorkind

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
)

// SourceConfig reads the live configuration of a table's source
// connector: the one its signal.connector names (on signal.connect_cluster,
// else the first cluster), else the Debezium source found capturing the
// table on the configured clusters. The found connector is remembered
// per table and looked for again only when it is gone, so a drift sample
// costs one configuration read, as with a named connector.
//
// Finding it is best effort: a table must not lose its drift series
// because Connect is down. When the search or the read fails, the last
// configuration seen for the table is used (for a table that names no
// connector, none, so Debezium's default, before one was seen), and
// Connect is not asked again for that table for a while, so a hung
// cluster does not eat every drift sample's budget.
func SourceConfig(cfg *config.Config, dbs map[string]*database.DB, clusters map[string]*connect.Client) func(ctx context.Context, t config.Table) (connector string, settings map[string]string, err error) {
	f := &sourceFinder{cfg: cfg, dbs: dbs, clusters: clusters, found: map[string]foundSource{}, now: time.Now}
	return f.config
}

// errAmbiguousSource is a configuration problem, not a failure to reach
// Connect: two sources that disagree cannot both describe the table.
var errAmbiguousSource = errors.New("name its source in tables[].signal.connector")

// retrySearchAfter is how long Connect is not asked again for a table's
// source after a failed search or read.
const retrySearchAfter = time.Minute

type foundSource struct {
	cluster, name string
	config        map[string]string
	// failedAt is when asking Connect last failed; zero after a success.
	failedAt time.Time
}

type sourceFinder struct {
	cfg      *config.Config
	dbs      map[string]*database.DB
	clusters map[string]*connect.Client
	now      func() time.Time

	mu    sync.Mutex
	found map[string]foundSource
}

func (f *sourceFinder) config(ctx context.Context, t config.Table) (string, map[string]string, error) {
	f.mu.Lock()
	known := f.found[t.Name]
	f.mu.Unlock()
	if !known.failedAt.IsZero() && f.now().Sub(known.failedAt) < retrySearchAfter {
		return known.name, known.config, nil
	}
	if t.Signal != nil && t.Signal.Connector != "" {
		// A named connector is read every time, and its last
		// configuration kept for when Connect cannot answer; one that
		// was never read, or is gone, is an error.
		c, err := f.read(ctx, t.Signal.ConnectCluster, t.Signal.Connector)
		switch {
		case err == nil:
			f.remember(t.Name, foundSource{cluster: t.Signal.ConnectCluster, name: t.Signal.Connector, config: c})
			return t.Signal.Connector, c, nil
		case known.config != nil && !errors.Is(err, connect.ErrNotFound):
			return f.failed(t.Name, known)
		}
		return "", nil, fmt.Errorf("source connector %s: %w", t.Signal.Connector, err)
	}
	if known.name != "" {
		c, err := f.read(ctx, known.cluster, known.name)
		switch {
		case err == nil:
			known.config, known.failedAt = c, time.Time{}
			f.remember(t.Name, known)
			return known.name, c, nil
		case !errors.Is(err, connect.ErrNotFound):
			return f.failed(t.Name, known)
		}
	}
	src, err := f.find(ctx, t)
	if errors.Is(err, errAmbiguousSource) {
		return "", nil, err
	}
	if err != nil {
		return f.failed(t.Name, known)
	}
	f.remember(t.Name, src)
	return src.name, src.config, nil
}

// failed keeps what was last known of the table's source, asked again
// after retrySearchAfter.
func (f *sourceFinder) failed(table string, known foundSource) (string, map[string]string, error) {
	known.failedAt = f.now()
	f.remember(table, known)
	return known.name, known.config, nil
}

func (f *sourceFinder) remember(table string, s foundSource) {
	f.mu.Lock()
	f.found[table] = s
	f.mu.Unlock()
}

func (f *sourceFinder) read(ctx context.Context, cluster, name string) (map[string]string, error) {
	if cluster == "" && len(f.cfg.ConnectClusters) > 0 {
		cluster = f.cfg.ConnectClusters[0].Name
	}
	c := f.clusters[cluster]
	switch {
	case c == nil && cluster == "":
		return nil, errors.New("its settings are read from Kafka Connect, and no connect_clusters are configured")
	case c == nil:
		return nil, fmt.Errorf("no connect cluster %q configured", cluster)
	}
	return c.Config(ctx, name)
}

// find looks for the sources capturing t on every configured cluster.
// Two that disagree on time.precision.mode cannot both be right about
// the table's values: the user must name one.
func (f *sourceFinder) find(ctx context.Context, t config.Table) (foundSource, error) {
	if f.dbs[t.Source.Database] == nil {
		return foundSource{}, nil // nothing to ask Connect
	}
	var (
		hits  []foundSource
		modes = map[string]bool{}
	)
	for _, cc := range f.cfg.ConnectClusters {
		client := f.clusters[cc.Name]
		if client == nil {
			continue
		}
		conns, err := client.Connectors(ctx)
		if err != nil {
			return foundSource{}, fmt.Errorf("looking for the source connector of table %s: %w", t.Name, err)
		}
		listed := make([]*Connector, len(conns))
		for i, conn := range conns {
			listed[i] = New(conn.Name(), conn.Type(), conn.Info.Config)
		}
		for _, k := range Capturing(f.dbs, t, listed) {
			hits = append(hits, foundSource{cluster: cc.Name, name: k.Name, config: k.Config})
			modes[k.TimePrecisionMode()] = true
		}
	}
	switch {
	case len(hits) == 0:
		return foundSource{}, nil
	case len(modes) > 1:
		names := make([]string, len(hits))
		for i, h := range hits {
			names[i] = h.cluster + "/" + h.name
		}
		return foundSource{}, fmt.Errorf("table %s is captured by %s with different time.precision.mode settings: %w", t.Name, strings.Join(names, ", "), errAmbiguousSource)
	}
	return hits[0], nil
}

// capturer is a connector as its holder keeps it (doctor keeps each one's
// cluster and status beside it).
type capturer interface {
	CapturesTable(dbs []*database.DB, db *database.DB, table string) bool
}

// Capturing are those of conns that capture the configured table t: the
// Debezium sources whose databases and filters select its source table,
// the databases being the configured ones (dbs, by name); none when t's
// source database is not among them. It is the one search of a table's
// source connectors: SourceConfig reads the one it finds with it, doctor
// checks every one.
func Capturing[C capturer](dbs map[string]*database.DB, t config.Table, conns []C) []C {
	db := dbs[t.Source.Database]
	if db == nil {
		return nil
	}
	all := make([]*database.DB, 0, len(dbs))
	for _, name := range slices.Sorted(maps.Keys(dbs)) {
		all = append(all, dbs[name])
	}
	var out []C
	for _, c := range conns {
		if c.CapturesTable(all, db, t.Source.Table) {
			out = append(out, c)
		}
	}
	return out
}

// SinksWritingTo are the sinks on the configured clusters that write to
// db, as far as their connection.url tells; a cluster that cannot be
// listed adds none.
func SinksWritingTo(ctx context.Context, cfg *config.Config, clusters map[string]*connect.Client, db *database.DB) []*Connector {
	var sinks []*Connector
	for _, cc := range cfg.ConnectClusters {
		client := clusters[cc.Name]
		if client == nil {
			continue
		}
		conns, err := client.Connectors(ctx)
		if err != nil {
			continue // this cluster's sinks cannot be known
		}
		for _, conn := range conns {
			k := New(conn.Name(), conn.Type(), conn.Info.Config)
			if k.IsSink() && k.WritesTo(db) {
				sinks = append(sinks, k)
			}
		}
	}
	return sinks
}
