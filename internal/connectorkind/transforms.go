package connectorkind

import "strings"

// Transform classes whose effect on records cdc-sentinel needs to know.
const (
	// TransformUnwrap flattens a Debezium change event to the row after
	// the change, which sinks other than Debezium's need.
	TransformUnwrap = "io.debezium.transforms.ExtractNewRecordState"
	// TransformRegexRouter and TransformTableRouter rename topics, and so
	// the tables a sink writes to.
	TransformRegexRouter = "org.apache.kafka.connect.transforms.RegexRouter"
	TransformTableRouter = "io.debezium.transforms.ByLogicalTableRouter"
)

// Transform is one single message transform of a connector's chain.
type Transform struct {
	Alias string
	Type  string
	c     *Connector
}

// Get reads one of the transform's settings (transforms.<alias>.<key>).
func (t Transform) Get(key, def string) string {
	return t.c.Get("transforms."+t.Alias+"."+key, def)
}

// Transforms are the connector's transforms in the order it applies them.
func (c *Connector) Transforms() []Transform {
	var out []Transform
	for _, alias := range SplitList(c.Config["transforms"]) {
		out = append(out, Transform{Alias: alias, Type: c.Get("transforms."+alias+".type", ""), c: c})
	}
	return out
}

// Unwrap is the connector's ExtractNewRecordState transform, if any.
func (c *Connector) Unwrap() (Transform, bool) {
	for _, t := range c.Transforms() {
		if t.Type == TransformUnwrap {
			return t, true
		}
	}
	return Transform{}, false
}

// RoutesTopics reports whether a transform renames the topics, so the
// tables a sink writes cannot be told from the topic names alone.
func (c *Connector) RoutesTopics() bool {
	for _, t := range c.Transforms() {
		if t.Type == TransformRegexRouter || t.Type == TransformTableRouter {
			return true
		}
	}
	return false
}

// AddedFields are the columns the unwrap transform adds with add.fields:
// source.ts_ms becomes __source_ts_ms (add.fields.prefix, default "__",
// then the field's name with dots as underscores).
func (t Transform) AddedFields() []string {
	prefix := t.c.Config["transforms."+t.Alias+".add.fields.prefix"]
	if _, set := t.c.Config["transforms."+t.Alias+".add.fields.prefix"]; !set {
		prefix = "__"
	}
	var out []string
	for _, f := range SplitList(t.Get("add.fields", "")) {
		out = append(out, prefix+strings.ReplaceAll(f, ".", "_"))
	}
	return out
}

// KeepsTombstones reports whether the unwrap transform passes deletes on
// as tombstones, which a sink's delete.enabled needs: Debezium 2.5 and
// later read delete.tombstone.handling.mode (default drop; tombstone,
// rewrite-with-tombstone and delete-to-tombstone keep them), older ones
// drop.tombstones (default true).
func (t Transform) KeepsTombstones() bool {
	if mode := strings.ToLower(t.Get("delete.tombstone.handling.mode", "")); mode != "" {
		return mode == "tombstone" || mode == "rewrite-with-tombstone" || mode == "delete-to-tombstone"
	}
	return strings.EqualFold(t.Get("drop.tombstones", "true"), "false")
}

// RewritesDeletes reports whether the unwrap transform turns deletes into
// rows flagged __deleted=true (soft deletes in the target).
func (t Transform) RewritesDeletes() bool {
	if mode := strings.ToLower(t.Get("delete.tombstone.handling.mode", "")); mode != "" {
		return strings.HasPrefix(mode, "rewrite")
	}
	return strings.EqualFold(t.Get("delete.handling.mode", "drop"), "rewrite")
}

// SchemaRegistryConverters are the converter settings (key.converter,
// value.converter) whose class needs a Schema Registry but whose
// <setting>.schema.registry.url is not set: a converter set on the
// connector is configured from the connector's own settings only.
func (c *Connector) SchemaRegistryConverters() []string {
	var out []string
	for _, key := range []string{"key.converter", "value.converter"} {
		class := c.Get(key, "")
		if !strings.HasPrefix(class, "io.confluent.connect.") || !strings.HasSuffix(class, "Converter") {
			continue
		}
		if c.Get(key+".schema.registry.url", "") == "" {
			out = append(out, key)
		}
	}
	return out
}

// Fields are the transform's add.fields as written.
func (t Transform) Fields() []string { return SplitList(t.Get("add.fields", "")) }
