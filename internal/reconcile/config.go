package reconcile

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

// TableFromConfig builds the runner's view of one configured table from
// the opened databases (by name) and, for a Kafka signal channel, the
// Kafka client (nil when none is configured).
func TableFromConfig(t config.Table, dbs map[string]*database.DB, kafka *kgo.Client) (Table, error) {
	srcDB, tgtDB := dbs[t.Source.Database], dbs[t.Target.Database]
	if srcDB == nil || tgtDB == nil {
		return Table{}, fmt.Errorf("table %s: database %q or %q is not open", t.Name, t.Source.Database, t.Target.Database)
	}
	sd, err := sqldialect.For(srcDB.Driver())
	if err != nil {
		return Table{}, err
	}
	td, err := sqldialect.For(tgtDB.Driver())
	if err != nil {
		return Table{}, err
	}
	out := Table{
		Name: t.Name,
		Sides: func() (sqldialect.Side, sqldialect.Side, error) {
			sp, err := srcDB.Pool()
			if err != nil {
				return sqldialect.Side{}, sqldialect.Side{}, err
			}
			tp, err := tgtDB.Pool()
			if err != nil {
				return sqldialect.Side{}, sqldialect.Side{}, err
			}
			return sqldialect.Side{DB: sp, Dialect: sd, Table: t.Source.Table, Filter: t.FilterOf(t.Source)},
				sqldialect.Side{DB: tp, Dialect: td, Table: t.Target.Table, Filter: t.FilterOf(t.Target), DeletedColumn: t.Target.DeletedColumn}, nil
		},
		PlanOptions: PlanOptions(t),
		Ping: func(ctx context.Context) error {
			if err := srcDB.Ping(ctx); err != nil {
				return fmt.Errorf("source: %w", err)
			}
			if err := tgtDB.Ping(ctx); err != nil {
				return fmt.Errorf("target: %w", err)
			}
			return nil
		},
	}
	if t.Repair != nil {
		out.Limits = *t.Repair
	}
	if s := t.Signal; s != nil {
		// SQL Server data collections carry the database name:
		// database.schema.table, not the schema.table a PostgreSQL
		// source uses.
		coll := func() (string, error) {
			return connectorkind.SignalDataCollection(srcDB.Driver(), srcDB.Endpoint().Database, t.Source.Table, s.DataCollection)
		}
		if srcDB.Endpoint().Host != "" {
			// The DSN is read: decided, or refused, now.
			c, err := coll()
			if err != nil {
				return Table{}, err
			}
			out.DataCollection = c
		} else {
			// Credentials (and so the DSN) arrive later, from Vault.
			out.DataCollectionOf = coll
		}
		switch {
		case s.Table != "":
			out.Signaler = lazyTableSignaler{db: srcDB, dialect: sd, table: s.Table}
		case s.KafkaTopic != "":
			if kafka == nil {
				return Table{}, fmt.Errorf("table %s: signal.kafka_topic needs the kafka section", t.Name)
			}
			out.Signaler = KafkaSignaler{Client: kafka, Topic: s.KafkaTopic, TopicPrefix: s.TopicPrefix}
		}
		out.RepairTimeout = s.RepairTimeout
	}
	return out, nil
}

// NotificationsOf finds, when a repair starts, the topic the table's
// source connector reports its incremental snapshots on:
// signal.notification_topic, else the connector's own sink notification
// settings read live through src (connectorkind knows them). kc is nil
// when the config has no kafka section.
func NotificationsOf(t config.Table, kc *kafka.Client, src SourceConfig) func(ctx context.Context) (NotificationSource, error) {
	return func(ctx context.Context) (NotificationSource, error) {
		if kc == nil {
			return nil, errors.New("no kafka section: the connector's notifications are read from Kafka")
		}
		var topic string
		if t.Signal != nil {
			topic = t.Signal.NotificationTopic
		}
		if topic == "" {
			if src == nil {
				return nil, errors.New("no signal.notification_topic and no source connector to read it from")
			}
			name, cfg, err := src(ctx, t)
			if err != nil {
				return nil, fmt.Errorf("reading the source connector's notification settings: %w", err)
			}
			if name == "" {
				return nil, errors.New("no source connector found capturing the table: set signal.notification_topic")
			}
			if topic = connectorkind.New(name, "", cfg).NotificationTopic(); topic == "" {
				return nil, fmt.Errorf("source connector %s does not send notifications to Kafka: set notification.enabled.channels=sink and notification.sink.topic.name", name)
			}
		}
		return KafkaNotifications{Client: kc, Name: topic}, nil
	}
}

// PlanOptions are the compared columns a table's config asks for. The
// watermark and soft-delete columns are the sink's own and never
// compared.
func PlanOptions(t config.Table) sqldialect.PlanOptions {
	ignore := append([]string{}, t.IgnoreColumns...)
	if t.WatermarkColumn != "" {
		ignore = append(ignore, t.WatermarkColumn)
	}
	if t.Target.DeletedColumn != "" {
		ignore = append(ignore, t.Target.DeletedColumn)
	}
	return sqldialect.PlanOptions{Key: t.Key, Columns: t.Columns, Ignore: ignore, Path: TimePath(t, nil)}
}

// SourceConfig gives the live configuration of the Debezium source
// connector that captures a table, and its name; name is "" when no
// configured Connect cluster runs one.
type SourceConfig func(ctx context.Context, t config.Table) (name string, cfg map[string]string, err error)

// TimePath says how a table's temporal values travel: compare.time_precision,
// and the time.precision.mode (and message.key.columns, the key of a
// table without a primary key) of its source connector, read live through
// src (the connector named in signal.connector, else the one found
// capturing the table). Without a source the mode is unknown and
// Debezium's default, adaptive, is assumed; the sink's representation is
// read from the target column types.
func TimePath(t config.Table, src SourceConfig) func(ctx context.Context) (sqldialect.Path, error) {
	return func(ctx context.Context) (sqldialect.Path, error) {
		var p sqldialect.Path
		if t.Compare != nil {
			p.Precision = t.Compare.TimePrecision
		}
		if src == nil {
			return p, nil
		}
		name, c, err := src(ctx, t)
		if err != nil {
			return p, err
		}
		if name == "" {
			return p, nil
		}
		k := connectorkind.New(name, "", c)
		p.Mode = k.TimePrecisionMode()
		p.MessageKey = k.MessageKeyFor(t.Source.Table)
		return p, nil
	}
}

// lazyTableSignaler fetches the source pool per signal (Vault may have
// swapped it since the runner was built).
type lazyTableSignaler struct {
	db      *database.DB
	dialect sqldialect.Dialect
	table   string
}

func (s lazyTableSignaler) Signal(ctx context.Context, id, typ string, data []byte) error {
	p, err := s.db.Pool()
	if err != nil {
		return err
	}
	return TableSignaler{DB: p, Dialect: s.dialect, Table: s.table}.Signal(ctx, id, typ, data)
}

func (s lazyTableSignaler) Describe() string { return TableSignaler{Table: s.table}.Describe() }

// BoolStarter adapts a Runner to the remediator's Reconciler interface
// (Start(ctx, table, repair)).
type BoolStarter struct{ *Runner }

// Start starts a reconcile, repairing when repair is set (target-only
// rows are never deleted from the remediator).
func (b BoolStarter) Start(ctx context.Context, table string, repair bool) (string, error) {
	return b.Runner.Start(ctx, table, StartOptions{Repair: repair})
}
