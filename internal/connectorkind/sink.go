package connectorkind

import (
	"regexp"
	"slices"
	"strings"
)

// Topics are the topics listed in topics.
func (c *Connector) Topics() []string { return SplitList(c.Config[KeyTopics]) }

// TopicsRegex is topics.regex ("" when unset).
func (c *Connector) TopicsRegex() string { return c.Get(KeyTopicsRegex, "") }

// Consumes reports whether a sink reads topic: it is in topics, or
// topics.regex matches all of it (Java's Matcher.matches, case-sensitive).
func (c *Connector) Consumes(topic string) bool {
	for _, t := range c.Topics() {
		if t == topic {
			return true
		}
	}
	if c.TopicsRegex() == "" {
		return false
	}
	ps := c.compiled(KeyTopicsRegex, func(expr string) []pattern {
		// One expression, commas included.
		rx, err := regexp.Compile(`^(?:` + strings.TrimSpace(expr) + `)$`)
		if err != nil {
			return nil
		}
		return []pattern{{rx: rx}}
	})
	return len(ps) == 1 && ps[0].rx.MatchString(topic)
}

// DLQTopic is the sink's dead-letter queue topic ("" when none).
// Connect writes to it only for sinks and only with errors.tolerance=all.
func (c *Connector) DLQTopic() string {
	if !c.IsSink() {
		return ""
	}
	return c.Get(KeyDLQTopic, "")
}

// DLQReplicationFactor is the dead-letter topic's replication factor
// (Connect's default 3).
func (c *Connector) DLQReplicationFactor() string { return c.Get(KeyDLQReplication, "3") }

// ErrorsTolerance is errors.tolerance in lower case (Connect's default
// none).
func (c *Connector) ErrorsTolerance() string { return strings.ToLower(c.Get(KeyTolerance, "none")) }

// Setting names of the JDBC sinks that differ between Debezium's sink and
// the Confluent sink (and its Aiven fork).
const (
	confluentKeyMode   = "pk.mode"
	confluentKeyFields = "pk.fields"
	debeziumKeyMode    = "primary.key.mode"
	debeziumKeyFields  = "primary.key.fields"
	// Debezium 3 renamed table.name.format to collection.name.format and
	// still reads the old name.
	debeziumTableFormat  = "collection.name.format"
	confluentTableFormat = "table.name.format"
	debeziumEvolution    = "schema.evolution"
	confluentAutoCreate  = "auto.create"
	confluentAutoEvolve  = "auto.evolve"
)

// Settings both JDBC sinks share.
const (
	KeyInsertMode    = "insert.mode"
	KeyDeleteEnabled = "delete.enabled"
)

// ForeignSetting is a setting of the other JDBC sink, which this one
// ignores, and what does its job here.
type ForeignSetting struct {
	Key, Use string
}

// ForeignSettings are the settings the sink has that only the other JDBC
// sink reads (pk.mode on Debezium's, primary.key.mode on the Confluent
// sink): silently ignored, so what they were meant to do does not happen.
func (c *Connector) ForeignSettings() []ForeignSetting {
	foreign := []ForeignSetting{
		{confluentKeyMode, debeziumKeyMode},
		{confluentKeyFields, debeziumKeyFields},
		{confluentAutoCreate, debeziumEvolution + "=basic"},
		{confluentAutoEvolve, debeziumEvolution + "=basic"},
	}
	if c.Kind().FlatRecords() {
		foreign = []ForeignSetting{
			{debeziumEvolution, confluentAutoCreate + " and " + confluentAutoEvolve},
			{debeziumKeyMode, confluentKeyMode},
			{debeziumKeyFields, confluentKeyFields},
			{debeziumTableFormat, confluentTableFormat},
		}
	}
	var out []ForeignSetting
	for _, f := range foreign {
		if c.Get(f.Key, "") != "" {
			out = append(out, f)
		}
	}
	return out
}

// EnumSetting is a setting taking one of Values that the worker's
// validation does not check, and what the connector does with any other
// value (Effect).
type EnumSetting struct {
	Key    string
	Values []string
	Effect string
}

// UncheckedEnums are the kind's settings whose values the worker does not
// check, with the values its documentation lists. Only Debezium's JDBC
// sink has them: its parsing is lenient (an unknown insert.mode reads as
// insert, JdbcSinkConnectorConfig.InsertMode.parse, so an upsert pipeline
// silently becomes one failing on existing keys), while the Confluent and
// Aiven sinks declare theirs as enumerations the worker checks.
func (k Kind) UncheckedEnums() []EnumSetting {
	if k != DebeziumJDBCSink {
		return nil
	}
	return []EnumSetting{
		{KeyInsertMode, InsertModes(), "the connector silently treats an unknown value as insert, which fails on rows that already exist"},
		{debeziumKeyMode, []string{"none", "kafka", "record_key", "record_header", "record_value"}, "the worker does not check this value"},
		{debeziumEvolution, []string{"none", "basic"}, "the worker does not check this value"},
	}
}

// KeyModeSetting is the name of the sink's key-mode setting: pk.mode on
// the Confluent and Aiven sinks, primary.key.mode on Debezium's.
func (c *Connector) KeyModeSetting() string {
	if c.Kind().FlatRecords() {
		return confluentKeyMode
	}
	return debeziumKeyMode
}

// KeyFieldsSetting is pk.fields or primary.key.fields.
func (c *Connector) KeyFieldsSetting() string {
	if c.Kind().FlatRecords() {
		return confluentKeyFields
	}
	return debeziumKeyFields
}

// KeyMode is the sink's key mode in lower case (both sinks default to
// none).
func (c *Connector) KeyMode() string {
	return strings.ToLower(c.Get(c.KeyModeSetting(), "none"))
}

// KeyFields are the fields the key mode takes the key from.
func (c *Connector) KeyFields() []string { return SplitList(c.Config[c.KeyFieldsSetting()]) }

// InsertModes are the insert.mode values the JDBC sinks know.
func InsertModes() []string { return []string{"insert", "upsert", "update"} }

// InsertMode is the insert.mode the sink writes with, in lower case
// (default insert on every JDBC sink). The Debezium sink reads a value it
// does not know as insert (JdbcSinkConnectorConfig.InsertMode.parse); the
// Confluent and Aiven sinks refuse it at validation, so for them the
// answer only matters once the value is fixed.
func (c *Connector) InsertMode() string {
	m := strings.ToLower(strings.TrimSpace(c.Get(KeyInsertMode, "insert")))
	if !slices.Contains(InsertModes(), m) {
		return "insert"
	}
	return m
}

// UnknownInsertMode is insert.mode as written when it is none of
// InsertModes, and "" otherwise.
func (c *Connector) UnknownInsertMode() string {
	v := c.Get(KeyInsertMode, "insert")
	if slices.Contains(InsertModes(), strings.ToLower(strings.TrimSpace(v))) {
		return ""
	}
	return v
}

// DeleteEnabled is delete.enabled (default false).
func (c *Connector) DeleteEnabled() bool {
	return strings.EqualFold(c.Get(KeyDeleteEnabled, "false"), "true")
}

// TableFormatSetting is the setting that names the target table:
// table.name.format on the Confluent and Aiven sinks; on Debezium's,
// collection.name.format, or the older table.name.format when only that
// is set.
func (c *Connector) TableFormatSetting() string {
	if c.Kind().FlatRecords() {
		return confluentTableFormat
	}
	if c.Get(debeziumTableFormat, "") == "" && c.Get(confluentTableFormat, "") != "" {
		return confluentTableFormat
	}
	return debeziumTableFormat
}

// TargetTable is the table a JDBC sink writes a topic's records to, with
// ok false when the format depends on record contents (Debezium's
// ${source.*} placeholders). Debezium's sink turns the topic's dots into
// underscores; the Confluent sink keeps them, and the database then reads
// "a.b.c" as catalog a, schema b, table c.
func (c *Connector) TargetTable(topic string) (table string, ok bool) {
	format := c.Get(c.TableFormatSetting(), "${topic}")
	if !c.Kind().FlatRecords() {
		topic = strings.ReplaceAll(topic, ".", "_")
		if strings.Contains(format, "${source.") {
			return "", false
		}
	}
	return strings.ReplaceAll(format, "${topic}", topic), true
}

// SchemaEvolution reports whether the sink creates and alters its target
// tables, and the settings that say so: auto.create and auto.evolve on
// the Confluent and Aiven sinks, schema.evolution=basic on Debezium's.
func (c *Connector) SchemaEvolution() (creates, evolves bool) {
	if c.Kind().FlatRecords() {
		return strings.EqualFold(c.Get(confluentAutoCreate, "false"), "true"), strings.EqualFold(c.Get(confluentAutoEvolve, "false"), "true")
	}
	basic := strings.EqualFold(c.Get(debeziumEvolution, "none"), "basic")
	return basic, basic
}

// SchemaEvolutionAdvice is the setting to give a JDBC sink so it adds a
// column by itself, in its own keys.
func (c *Connector) SchemaEvolutionAdvice() string {
	if c.Kind().FlatRecords() {
		return confluentAutoEvolve + "=true (and " + confluentAutoCreate + "=true for new tables)"
	}
	return debeziumEvolution + "=basic"
}
