package wiring

import (
	"context"
	"fmt"
	"log/slog"

	promcfg "github.com/prometheus/common/config"

	"github.com/cdc-sentinel/cdc-sentinel/collector"
	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/reconcile"
	"github.com/cdc-sentinel/cdc-sentinel/internal/schemadrift"
)

// SchemaTables are the configured tables as schema checks read them:
// the topic through src (the table's source connector) and, where it
// can be read, the topic's value schema through topics.
func SchemaTables(cfg *config.Config, sources *Sources, src reconcile.SourceConfig, topics schemadrift.TopicReader) []schemadrift.Table {
	var out []schemadrift.Table
	for _, tc := range cfg.Tables {
		srcDB, tgtDB := sources.DBs[tc.Source.Database], sources.DBs[tc.Target.Database]
		if srcDB == nil || tgtDB == nil {
			continue
		}
		t := schemadrift.Table{
			Name: tc.Name, Source: srcDB, Target: tgtDB, SourceTable: tc.Source.Table, TargetTable: tc.Target.Table,
			Scope: schemaScope(tc),
		}
		t.Stream = func(ctx context.Context) (schemadrift.Stream, error) {
			name, scfg, err := src(ctx, tc)
			if err != nil || name == "" {
				// Without its source connector the topic is unknown: the
				// topic layer is not compared.
				return schemadrift.Stream{}, err
			}
			kc := connectorkind.New(name, connectorkind.TypeSource, scfg)
			s := schemadrift.Stream{Topic: kc.TableTopic(srcDB, tc.Source.Table)}
			if u, ok := kc.Unwrap(); ok {
				s.SinkMetadata = u.AddedFields()
			}
			s.Fields, s.HasSchema, err = topics.Fields(ctx, s.Topic)
			return s, err
		}
		out = append(out, t)
	}
	return out
}

// BuildSchemaCheck builds the schema collector over the Runtime's pools
// and Kafka client, or nil when schema checks are disabled.
func BuildSchemaCheck(cfg *config.Config, sources *Sources, src reconcile.SourceConfig, logger *slog.Logger) (*collector.SchemaCollector, *schemadrift.Checker, error) {
	if cfg.SchemaCheck.Disabled || len(cfg.Tables) == 0 {
		return nil, nil, nil
	}
	topics, err := TopicReader(cfg, sources)
	if err != nil {
		return nil, nil, err
	}
	checker := schemadrift.NewChecker(SchemaTables(cfg, sources, src, topics), schemadrift.Options{Interval: cfg.SchemaCheck.Interval, Logger: logger})
	return collector.NewSchemaCollector(checker), checker, nil
}

// schemaScope is the part of a table's configuration a schema check
// keeps to: its columns, those it ignores, and the target columns the
// sink writes itself (the watermark and the deleted column).
func schemaScope(tc config.Table) schemadrift.Scope {
	return schemadrift.Scope{Columns: tc.Columns, Ignore: tc.IgnoreColumns, SinkMetadata: []string{tc.WatermarkColumn, tc.Target.DeletedColumn}}
}

// TopicReader reads topics' value schemas from the configured Schema
// Registry, else from the newest record through sources' Kafka client;
// the zero reader when there is neither.
func TopicReader(cfg *config.Config, sources *Sources) (schemadrift.TopicReader, error) {
	var topics schemadrift.TopicReader
	if sources.Kafka != nil {
		topics.Newest = sources.Kafka.NewestValue
	}
	if cfg.Kafka != nil && cfg.Kafka.SchemaRegistry != nil {
		hc, err := promcfg.NewClientFromConfig(cfg.Kafka.SchemaRegistry.HTTPClientConfig(), "schema_registry")
		if err != nil {
			return topics, fmt.Errorf("schema registry: %w", err)
		}
		hc.Timeout = cfg.Kafka.Timeout
		topics.Registry = &schemadrift.Registry{URL: cfg.Kafka.SchemaRegistry.URL, HTTP: hc}
	}
	return topics, nil
}
