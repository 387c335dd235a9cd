package doctor

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
)

// checkJDBCSink: what a JDBC sink (Debezium's, Confluent's or Aiven's)
// must be set to for change events to land right and for lag, drift and
// repair to work, each piece of advice in the sink's own settings.
func (r *run) checkJDBCSink(c *connector) {
	k := c.Kind()
	if !k.IsJDBCSink() {
		return
	}
	add := func(sev Severity, check, msg, fix string) {
		r.add(Finding{Check: check, Severity: sev, Target: c.target(), Message: msg, Fix: fix})
	}
	keyMode, keySetting := c.KeyMode(), c.KeyModeSetting()
	switch keyMode {
	case "none":
		add(Error, CheckSinkConfig,
			fmt.Sprintf("%s is none (the default): the %s writes rows without a key, so an update or a repair's re-sent row cannot replace the row it changes, and deletes cannot be applied", keySetting, k),
			fmt.Sprintf("set %s=record_key (the Debezium key is the source's primary key)", keySetting))
	case "kafka":
		add(Error, CheckSinkConfig,
			fmt.Sprintf("%s=kafka keys rows by topic, partition and offset: every change becomes a new row, and drift compares nothing alike", keySetting),
			fmt.Sprintf("set %s=record_key", keySetting))
	case "record_value":
		if len(c.KeyFields()) == 0 {
			add(Error, CheckSinkConfig,
				fmt.Sprintf("%s=record_value without %s: the sink cannot tell which value fields are the key", keySetting, c.KeyFieldsSetting()),
				fmt.Sprintf("set %s=record_key, or list the key columns in %s", keySetting, c.KeyFieldsSetting()))
		}
	}
	switch mode := c.InsertMode(); mode {
	case "upsert":
	case "insert":
		what := "insert.mode=insert (the default)"
		if v := c.UnknownInsertMode(); v != "" {
			what = fmt.Sprintf("insert.mode=%s is not a mode the sink knows and is read as insert", v)
		}
		add(Error, CheckSinkConfig,
			what+": a change to a row that already exists in the target (every update, and every row a repair re-sends) is an INSERT that fails on the key or duplicates the row",
			"set insert.mode=upsert")
	default:
		add(Warning, CheckSinkConfig,
			fmt.Sprintf("insert.mode=%s: rows that do not exist in the target yet (inserts, and rows a repair re-sends) are never written", mode),
			"set insert.mode=upsert")
	}
	if !c.DeleteEnabled() {
		msg := "delete.enabled is false: rows deleted at the source stay in the target, and drift reports them as extra rows"
		sev := Warning
		if u, ok := c.Unwrap(); ok && u.RewritesDeletes() {
			msg = "delete.enabled is false and the unwrap transform rewrites deletes: deleted rows stay in the target flagged __deleted=true; give the table's target a deleted column so drift counts them as absent"
			sev = Info
		}
		add(sev, CheckSinkConfig, msg, fmt.Sprintf("set delete.enabled=true with %s=record_key", keySetting))
	} else if u, ok := c.Unwrap(); ok && k.FlatRecords() && !u.KeepsTombstones() {
		add(Error, CheckSinkConfig,
			fmt.Sprintf("delete.enabled=true but transform %s (ExtractNewRecordState) drops tombstones: deletes never reach the sink", u.Alias),
			fmt.Sprintf("set transforms.%s.delete.tombstone.handling.mode=tombstone (Debezium 2.5 and later; earlier: transforms.%s.drop.tombstones=false)", u.Alias, u.Alias))
	}
	r.checkSinkEvolution(c)
	r.checkSinkForeignKeys(c)
	r.checkSinkRecords(c)
}

// checkConverters: Avro, Protobuf and JSON Schema converters need their
// Schema Registry; cdc-sentinel itself never reads record payloads, so
// any converter is fine for it.
func (r *run) checkConverters(c *connector) {
	for _, key := range c.SchemaRegistryConverters() {
		r.add(Finding{Check: CheckConverter, Severity: Error, Target: c.target(),
			Message: fmt.Sprintf("%s=%s has no %s.schema.registry.url: a converter set on the connector reads its settings from the connector only, so the task fails to start", key, c.Get(key, ""), key),
			Fix:     fmt.Sprintf("set %s.schema.registry.url=http://<schema-registry>:8081", key)})
	}
}

// checkSinkEvolution: a column added at the source reaches the sink as a
// new field; unless the sink alters the table, every record of it fails.
func (r *run) checkSinkEvolution(c *connector) {
	creates, evolves := c.SchemaEvolution()
	if evolves && creates {
		return
	}
	what := "neither creates missing tables nor adds new columns"
	if creates {
		what = "creates missing tables but does not add new columns"
	} else if evolves {
		what = "adds new columns but does not create missing tables"
	}
	r.add(Finding{Check: CheckSinkConfig, Severity: Info, Target: c.target(),
		Message: fmt.Sprintf("the %s %s: a column added at the source fails every record of its table until the target is altered by hand", c.Kind(), what),
		Fix:     "when the target's schema is not managed by hand, set " + c.SchemaEvolutionAdvice()})
}

// checkSinkForeignKeys: a setting of the other JDBC sink is silently
// ignored, and what it was meant to do does not happen.
func (r *run) checkSinkForeignKeys(c *connector) {
	for _, f := range c.ForeignSettings() {
		r.add(Finding{Check: CheckSinkConfig, Severity: Warning, Target: c.target(),
			Message: fmt.Sprintf("%s is not a setting of the %s, which ignores it", f.Key, c.Kind()),
			Fix:     fmt.Sprintf("use %s instead", f.Use)})
	}
}

// checkSinkRecords: the Confluent and Aiven sinks write flat rows, so the
// change events must be unwrapped, and the unwrap transform is where the
// watermark column lag is read from comes from.
func (r *run) checkSinkRecords(c *connector) {
	u, ok := c.Unwrap()
	if !ok {
		if c.Kind().FlatRecords() {
			r.add(Finding{Check: CheckSinkConfig, Severity: Warning, Target: c.target(),
				Message: fmt.Sprintf("no ExtractNewRecordState transform: the %s cannot write Debezium's change-event envelope (before, after, source) unless the source connector unwraps it", c.Kind()),
				Fix:     "add transforms=unwrap, transforms.unwrap.type=" + connectorkind.TransformUnwrap + ", transforms.unwrap.add.fields=source.ts_ms"})
		}
		return
	}
	if !slices.Contains(u.AddedFields(), config.DefaultWatermarkColumn) {
		r.add(Finding{Check: CheckWatermarkColumn, Severity: Warning, Target: c.target(),
			Message: fmt.Sprintf("transform %s does not add source.ts_ms, so the target has no %s column: replication lag cannot be measured unless tables[].watermark_column names another column holding the source commit time", u.Alias, config.DefaultWatermarkColumn),
			Fix:     fmt.Sprintf("set transforms.%s.add.fields=%s", u.Alias, strings.Join(append(u.Fields(), "source.ts_ms"), ","))})
	}
	if c.Kind().FlatRecords() && !c.RoutesTopics() && strings.Contains(c.Get(c.TableFormatSetting(), "${topic}"), "${topic}") {
		for _, t := range c.Topics() {
			if strings.Count(t, ".") >= 2 {
				table, _ := c.TargetTable(t)
				r.add(Finding{Check: CheckSinkConfig, Severity: Warning, Target: c.target(),
					Message: fmt.Sprintf("table.name.format=%s names the table after the whole topic: topic %s is written to %q, which the database reads as a qualified name (catalog.schema.table), not the table you expect", c.Get(c.TableFormatSetting(), "${topic}"), t, table),
					Fix:     `route the topics to table names (transforms=route, transforms.route.type=` + connectorkind.TransformRegexRouter + `, transforms.route.regex=(?:[^.]+\.)+([^.]+), transforms.route.replacement=$1) or set table.name.format`})
				break
			}
		}
	}
}
