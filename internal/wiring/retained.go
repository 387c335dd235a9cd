package wiring

import (
	"context"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/reconcile"
)

// Retained says, when a repair is about to delete target-only rows of t,
// whether its pipeline keeps the source's deletes by design
// (connectorkind.DeletesRetained), from the live configuration of its
// source connector (through src) and of the sinks writing to its target
// database. When that cannot be known (no source connector found, no
// Connect), it says "": the repair's other checks still hold.
func Retained(cfg *config.Config, t config.Table, dbs map[string]*database.DB, clusters map[string]*connect.Client, src reconcile.SourceConfig) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		name, scfg, err := src(ctx, t)
		if err != nil || name == "" {
			return "", err
		}
		source := connectorkind.New(name, connectorkind.TypeSource, scfg)
		if source.SkipsDeletes() {
			return connectorkind.DeletesRetained(source, nil, "", false), nil
		}
		srcDB, tgtDB := dbs[t.Source.Database], dbs[t.Target.Database]
		if srcDB == nil || tgtDB == nil {
			return "", nil
		}
		sinks := sinksWritingTo(ctx, cfg, clusters, tgtDB)
		return connectorkind.DeletesRetained(source, sinks, source.TableTopic(srcDB, t.Source.Table), t.Target.DeletedColumn != ""), nil
	}
}

// sinksWritingTo are the sinks on the configured clusters that write to
// db, as far as their connection.url tells; a cluster that cannot be
// listed adds none.
func sinksWritingTo(ctx context.Context, cfg *config.Config, clusters map[string]*connect.Client, db *database.DB) []*connectorkind.Connector {
	var sinks []*connectorkind.Connector
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
			k := connectorkind.New(conn.Name(), conn.Type(), conn.Info.Config)
			if k.IsSink() && k.WritesTo(db) {
				sinks = append(sinks, k)
			}
		}
	}
	return sinks
}

// SinkTimeZone says, when a table's plan is made, the zone other than
// UTC its sink writes temporal values in ("" for UTC, or when it cannot
// be known: no source connector found, no Connect), and which sink and
// setting say so: the sinks reading the table's topic and writing to its
// target database, read live.
func SinkTimeZone(cfg *config.Config, t config.Table, dbs map[string]*database.DB, clusters map[string]*connect.Client, src reconcile.SourceConfig) func(ctx context.Context) (zone, from string, err error) {
	return func(ctx context.Context) (string, string, error) {
		name, scfg, err := src(ctx, t)
		srcDB, tgtDB := dbs[t.Source.Database], dbs[t.Target.Database]
		if err != nil || name == "" || srcDB == nil || tgtDB == nil {
			return "", "", err
		}
		source := connectorkind.New(name, connectorkind.TypeSource, scfg)
		topic := source.TableTopic(srcDB, t.Source.Table)
		for _, s := range sinksWritingTo(ctx, cfg, clusters, tgtDB) {
			if s.Consumes(topic) && s.Kind().IsJDBCSink() && !connectorkind.IsUTC(s.SinkTimeZone()) {
				return s.SinkTimeZone(), s.Name + ", " + s.TimeZoneSetting(), nil
			}
		}
		return "", "", nil
	}
}
