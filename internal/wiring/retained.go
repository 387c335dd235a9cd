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
		sinks := connectorkind.SinksWritingTo(ctx, cfg, clusters, tgtDB)
		return connectorkind.DeletesRetained(source, sinks, source.TableTopic(srcDB, t.Source.Table), t.Target.DeletedColumn != ""), nil
	}
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
		for _, s := range connectorkind.SinksWritingTo(ctx, cfg, clusters, tgtDB) {
			if s.Consumes(topic) && s.Kind().IsJDBCSink() && !connectorkind.IsUTC(s.SinkTimeZone()) {
				return s.SinkTimeZone(), s.Name + ", " + s.TimeZoneSetting(), nil
			}
		}
		return "", "", nil
	}
}
