package config

import (
	"fmt"
	"strings"
	"time"
)

// Table is one replicated table: where it comes from, where it lands, and
// how its rows are identified and compared.
type Table struct {
	Name            string   `yaml:"name"`
	Source          TableRef `yaml:"source"`
	Target          TableRef `yaml:"target"`
	Key             []string `yaml:"key,omitempty"`
	Columns         []string `yaml:"columns,omitempty"`
	IgnoreColumns   []string `yaml:"ignore_columns,omitempty"`
	WatermarkColumn string   `yaml:"watermark_column,omitempty"`
	// Filter is a SQL condition scoping the compared rows, applied on
	// both sides unless source.filter or target.filter overrides it.
	Filter                string `yaml:"filter,omitempty"`
	SourceTimestampColumn string `yaml:"source_timestamp_column,omitempty"`
	// Drift overrides the global drift settings for this table.
	Drift *Drift `yaml:"drift,omitempty"`
	// Signal says how repairs reach the source connector.
	Signal *Signal `yaml:"signal,omitempty"`
	// Compare tunes how values are compared.
	Compare *Compare `yaml:"compare,omitempty"`
	// Repair bounds what a repair of the table may delete.
	Repair *Repair `yaml:"repair,omitempty"`

	// driftOverride is the table's own drift section as written, kept so
	// validation blames the table only for what it set itself.
	driftOverride *Drift
}

// TableRef names a table in one of the configured databases.
type TableRef struct {
	Database string `yaml:"database"`
	Table    string `yaml:"table"`
	// Filter overrides the table's filter on this side (in its SQL).
	Filter string `yaml:"filter,omitempty"`
	// DeletedColumn (target only) marks soft-deleted rows, as
	// ExtractNewRecordState with delete.handling.mode=rewrite writes
	// __deleted: true or 'true' counts as absent.
	DeletedColumn string `yaml:"deleted_column,omitempty"`
}

// FilterOf is the filter in force on one side: its own, else the
// table's.
func (t Table) FilterOf(ref TableRef) string {
	if ref.Filter != "" {
		return ref.Filter
	}
	return t.Filter
}

// Signal is the Debezium signalling channel used to re-send rows: the
// source connector's signal table, or its Kafka signal topic.
type Signal struct {
	ConnectCluster string `yaml:"connect_cluster,omitempty"`
	Connector      string `yaml:"connector"`
	// Table is the signal table in the source database (schema.table).
	Table string `yaml:"table,omitempty"`
	// KafkaTopic is the connector's signal.kafka.topic; its messages are
	// keyed by the connector's topic.prefix.
	KafkaTopic  string `yaml:"kafka_topic,omitempty"`
	TopicPrefix string `yaml:"topic_prefix,omitempty"`
	// DataCollection is the table as the connector names it
	// (schema.table, or database.schema.table on SQL Server); empty means
	// the source table named the way the source database's Debezium
	// connector names it (internal/connectorkind), filled in where the
	// database's name is known.
	DataCollection string `yaml:"data_collection,omitempty"`
	// NotificationTopic is the connector's notification.sink.topic.name,
	// where it reports a repair's incremental snapshot; empty means read
	// it from the connector's live configuration when Connect can be
	// asked.
	NotificationTopic string `yaml:"notification_topic,omitempty"`
	// RepairTimeout is how long a repair's incremental snapshot may take
	// before it is reported as never completing (DefaultRepairTimeout).
	RepairTimeout time.Duration `yaml:"repair_timeout,omitempty"`
}

// DefaultRepairTimeout is how long a repair's incremental snapshot may
// run before it is reported as timed out: a repair re-sends only the
// differing rows, so even a large one takes minutes, not hours.
const DefaultRepairTimeout = 30 * time.Minute

// Compare tunes how a table's values are compared.
type Compare struct {
	// TimePrecision is auto (derived from the source connector's
	// time.precision.mode, the sink and the target column types), ms or
	// us.
	TimePrecision string `yaml:"time_precision,omitempty"`
}

// Time precisions of compare.time_precision.
const (
	TimePrecisionAuto   = "auto"
	TimePrecisionMillis = "ms"
	TimePrecisionMicros = "us"
)

// Repair bounds the one repair that cannot be undone by re-sending from
// the source: deleting target-only rows (--delete-extra).
type Repair struct {
	// MaxDeletes is the most target-only rows one repair deletes; a
	// caller may ask for fewer, never more (DefaultMaxDeletes).
	MaxDeletes int `yaml:"max_deletes,omitempty"`
	// MinSourceRatio refuses deleting when the source's compared rows
	// are fewer than this share of the target's: a truncated source, or
	// a DSN naming the wrong database, looks like that
	// (DefaultMinSourceRatio; 0 turns only this check off, an empty
	// source is always refused).
	MinSourceRatio *float64 `yaml:"min_source_ratio,omitempty"`
}

// DefaultMaxDeletes is how many target-only rows one repair deletes at
// most unless the table's repair.max_deletes says otherwise.
const DefaultMaxDeletes = 100

// DefaultMinSourceRatio is the share of the target's rows the source must
// hold before a repair deletes anything: a source with fewer than half
// the target's rows is more likely broken than the target twice too big.
const DefaultMinSourceRatio = 0.5

// DefaultWatermarkColumn is where ExtractNewRecordState with
// add.fields=source.ts_ms puts the source commit time.
const DefaultWatermarkColumn = "__source_ts_ms"

func (t *Table) applyDefaults(global Drift) {
	if t.WatermarkColumn == "" {
		t.WatermarkColumn = DefaultWatermarkColumn
	}
	if t.Signal != nil && t.Signal.RepairTimeout == 0 {
		t.Signal.RepairTimeout = DefaultRepairTimeout
	}
	if t.Repair == nil {
		t.Repair = &Repair{}
	}
	if t.Repair.MaxDeletes == 0 {
		t.Repair.MaxDeletes = DefaultMaxDeletes
	}
	if t.Repair.MinSourceRatio == nil {
		r := DefaultMinSourceRatio
		t.Repair.MinSourceRatio = &r
	}
	eff := global
	if t.Drift != nil {
		own := *t.Drift
		t.driftOverride = &own
		eff = t.Drift.over(global)
	}
	t.Drift = &eff
}

func (t *Table) validate(v *validator, p string, dbs map[string]*Database, c *Config) {
	if t.Name == "" {
		v.fail(p+".name", "required")
	}
	t.Source.validate(v, p+".source", dbs)
	t.Target.validate(v, p+".target", dbs)
	if t.Source.DeletedColumn != "" {
		v.fail(p+".source.deleted_column", "only for the target: the sink writes soft deletes there")
	}
	for _, f := range [][2]string{{"filter", t.Filter}, {"source.filter", t.Source.Filter}, {"target.filter", t.Target.Filter}} {
		if strings.Contains(f[1], ";") {
			v.fail(p+"."+f[0], "a single SQL condition, without ';'")
		}
	}
	if src := dbs[t.Source.Database]; src != nil && src.Driver == DriverSQLServer && t.SourceTimestampColumn != "" {
		v.fail(p+".source_timestamp_column", "only for PostgreSQL sources: SQL Server change times come from the change table")
	}
	for i, col := range t.Columns {
		for _, ig := range t.IgnoreColumns {
			if col == ig {
				v.fail(fmt.Sprintf("%s.columns[%d]", p, i), "column %q is also in ignore_columns", col)
			}
		}
	}
	if t.driftOverride != nil {
		t.driftOverride.validate(v, p+".drift")
	}
	if c := t.Compare; c != nil {
		switch c.TimePrecision {
		case "", TimePrecisionAuto, TimePrecisionMillis, TimePrecisionMicros:
		default:
			v.fail(p+".compare.time_precision", "%q is not one of auto, ms, us", c.TimePrecision)
		}
	}
	if t.Signal != nil {
		t.Signal.validate(v, p+".signal", c)
	}
	if r := t.Repair; r != nil {
		if r.MaxDeletes < 0 {
			v.fail(p+".repair.max_deletes", "must be at least 1, not %d", r.MaxDeletes)
		}
		if m := r.MinSourceRatio; m != nil && (*m < 0 || *m > 1) {
			v.fail(p+".repair.min_source_ratio", "must be between 0 and 1, not %g", *m)
		}
	}
}

// validate checks that the reference names a configured database and a
// table in it.
func (r TableRef) validate(v *validator, p string, dbs map[string]*Database) {
	if r.Database == "" {
		v.fail(p+".database", "required")
	} else if dbs[r.Database] == nil {
		v.fail(p+".database", "unknown database %q", r.Database)
	}
	if r.Table == "" {
		v.fail(p+".table", "required")
	}
}

func (s *Signal) validate(v *validator, p string, c *Config) {
	if s.Connector == "" {
		v.fail(p+".connector", "required")
	}
	if (s.Table == "") == (s.KafkaTopic == "") {
		v.fail(p, "exactly one of table and kafka_topic is required")
	}
	if s.KafkaTopic != "" && s.TopicPrefix == "" {
		v.fail(p+".topic_prefix", "required with kafka_topic: Debezium ignores signals not keyed by topic.prefix")
	}
	if s.KafkaTopic != "" && c.Kafka == nil {
		v.fail(p+".kafka_topic", "needs the kafka section")
	}
	if s.NotificationTopic != "" && c.Kafka == nil {
		v.fail(p+".notification_topic", "needs the kafka section: notifications are read from Kafka")
	}
	if s.RepairTimeout < 0 {
		v.fail(p+".repair_timeout", "must be positive")
	}
	if s.ConnectCluster != "" && c.ConnectCluster(s.ConnectCluster) == nil {
		v.fail(p+".connect_cluster", "unknown connect cluster %q", s.ConnectCluster)
	}
}

// Drift configures sampled drift checks.
type Drift struct {
	// SampleSize is how many keys each side contributes per check.
	SampleSize int `yaml:"sample_size,omitempty"`
	// MinInterval is the least time between two checks of one table;
	// scrapes in between serve the cached result.
	MinInterval time.Duration `yaml:"min_interval,omitempty"`
	// Budget bounds the time one scrape spends on drift across tables.
	Budget time.Duration `yaml:"budget,omitempty"`
	// RecheckMargin is added to the table's lag before a suspect row is
	// checked again, so rows in flight are not reported.
	RecheckMargin time.Duration `yaml:"recheck_margin,omitempty"`
	// Disabled turns sampling off (for all tables, or for one).
	Disabled *bool `yaml:"disabled,omitempty"`
}

func (d *Drift) applyDefaults() {
	if d.SampleSize == 0 {
		d.SampleSize = 100
	}
	if d.MinInterval == 0 {
		d.MinInterval = 5 * time.Minute
	}
	if d.Budget == 0 {
		d.Budget = 2 * time.Second
	}
	if d.RecheckMargin == 0 {
		d.RecheckMargin = 10 * time.Second
	}
}

// over returns d with every unset field taken from global.
func (d Drift) over(global Drift) Drift {
	if d.SampleSize == 0 {
		d.SampleSize = global.SampleSize
	}
	if d.MinInterval == 0 {
		d.MinInterval = global.MinInterval
	}
	if d.Budget == 0 {
		d.Budget = global.Budget
	}
	if d.RecheckMargin == 0 {
		d.RecheckMargin = global.RecheckMargin
	}
	if d.Disabled == nil {
		d.Disabled = global.Disabled
	}
	return d
}

// Enabled reports whether sampling runs.
func (d Drift) Enabled() bool { return d.Disabled == nil || !*d.Disabled }

func (d *Drift) validate(v *validator, p string) {
	if d.SampleSize < 0 || d.SampleSize > 100000 {
		v.fail(p+".sample_size", "must be between 1 and 100000")
	}
	if d.MinInterval < 0 {
		v.fail(p+".min_interval", "must be positive")
	}
	if d.Budget < 0 {
		v.fail(p+".budget", "must be positive")
	}
	if d.RecheckMargin < 0 {
		v.fail(p+".recheck_margin", "must be positive")
	}
}
