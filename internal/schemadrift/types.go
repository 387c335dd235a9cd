package schemadrift

import (
	"sort"
	"strings"

	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

// Column is one column as its database's catalog describes it, with the
// sizes that decide loss (sqldialect reads it).
type Column sqldialect.CatalogColumn

// Mismatch kinds: the kind label of cdc_schema_mismatched_columns.
const (
	// MissingInTarget is a source column the target table lacks.
	MissingInTarget = "missing_in_target"
	// MissingInSource is a target column that is neither a source column
	// nor sink metadata.
	MissingInSource = "missing_in_source"
	// Type is a column whose target type cannot hold every value of its
	// source type (Lossy).
	Type = "type"
	// NotCaptured is a source column SQL Server's capture instance does
	// not track: its changes never reach the topic.
	NotCaptured = "not_captured"
	// NotInTopic is a captured source column the topic's value schema
	// lacks.
	NotInTopic = "not_in_topic"
)

// Kinds are every mismatch kind, in the order they are reported.
var Kinds = []string{MissingInTarget, MissingInSource, Type, NotCaptured, NotInTopic}

// Mismatch is one column that differs between layers, and how.
type Mismatch struct {
	Kind   string `json:"kind"`
	Column string `json:"column"`
	// Detail says what differs in words (types for a lossy mapping).
	Detail string `json:"detail,omitempty"`
	// Source and Target are the column as each side's catalog has it,
	// when it has it.
	Source *Column `json:"-"`
	Target *Column `json:"-"`
}

// Layers are what one check read of a table. A nil Captured or Topic
// means the layer does not exist or could not be read (a PostgreSQL
// source has no capture instance; a topic without inline schemas and no
// Schema Registry has no readable schema): it is then not compared.
type Layers struct {
	Source, Target []Column
	// Captured are the columns of the capture instance Debezium reads
	// (the newest one of the source table).
	Captured []string
	// CaptureInstance names it, for the fix.
	CaptureInstance string
	// Topic are the fields of the topic's value schema (the row's, for
	// a Debezium envelope).
	Topic []string
}

// Scope says which columns of a table are compared and which target
// columns the sink writes by itself.
type Scope struct {
	// Columns restricts the check to these source columns (the table's
	// columns setting); empty means every column.
	Columns []string
	// Ignore are columns never reported (ignore_columns).
	Ignore []string
	// SinkMetadata are target columns the sink or a transform writes
	// that no source column has: the watermark column, the deleted
	// column, an unwrap transform's add.fields.
	SinkMetadata []string
}

// IsSinkMetadata reports whether target column name is written by the
// sink or a transform rather than copied from a source column: one of
// the scope's named columns, or a name starting with "__", the prefix
// Debezium's ExtractNewRecordState gives every field it adds
// (__source_ts_ms, __op, __deleted) and Kafka Connect's JDBC sinks give
// their own (__connect_topic, __connect_partition, __connect_offset).
func (s Scope) IsSinkMetadata(name string) bool {
	if strings.HasPrefix(name, "__") {
		return true
	}
	return containsFold(s.SinkMetadata, name)
}

// containsFold reports whether names holds name, as sqldialect matches
// column names across sides.
func containsFold(names []string, name string) bool { return sqldialect.HasColumn(names, name) }

// find returns the column named name, as sqldialect matches column names
// across sides.
func find(cols []Column, name string) (Column, bool) {
	return sqldialect.FindColumn(cols, name, func(c Column) string { return c.Name })
}

// Counts are a table's mismatches per kind, every kind present.
func Counts(ms []Mismatch) map[string]int {
	out := make(map[string]int, len(Kinds))
	for _, k := range Kinds {
		out[k] = 0
	}
	for _, m := range ms {
		out[m.Kind]++
	}
	return out
}

// Compare finds the columns of a table that differ between its layers.
// Every source column in scope is looked for in the capture instance
// (when there is one), the topic's schema (when readable) and the
// target; every target column not from the source and not sink metadata
// is reported as missing in the source. A column not captured is not
// also reported as not in the topic: the capture instance is where it is
// lost. The result is sorted by kind, then column.
func Compare(l Layers, s Scope) []Mismatch {
	var out []Mismatch
	for _, sc := range l.Source {
		if len(s.Columns) > 0 && !containsFold(s.Columns, sc.Name) || containsFold(s.Ignore, sc.Name) {
			continue
		}
		src := sc
		captured := l.Captured == nil || containsFold(l.Captured, sc.Name)
		if !captured {
			out = append(out, Mismatch{Kind: NotCaptured, Column: sc.Name, Source: &src,
				Detail: "capture instance " + l.CaptureInstance + " was created before the column existed"})
		}
		if captured && l.Topic != nil && !containsFold(l.Topic, sc.Name) {
			out = append(out, Mismatch{Kind: NotInTopic, Column: sc.Name, Source: &src})
		}
		tc, ok := find(l.Target, sc.Name)
		if !ok {
			out = append(out, Mismatch{Kind: MissingInTarget, Column: sc.Name, Source: &src})
			continue
		}
		if why := Lossy(sc, tc); why != "" {
			tgt := tc
			out = append(out, Mismatch{Kind: Type, Column: sc.Name, Source: &src, Target: &tgt, Detail: why})
		}
	}
	for _, tc := range l.Target {
		if _, ok := find(l.Source, tc.Name); ok || s.IsSinkMetadata(tc.Name) || containsFold(s.Ignore, tc.Name) {
			continue
		}
		tgt := tc
		out = append(out, Mismatch{Kind: MissingInSource, Column: tc.Name, Target: &tgt})
	}
	order := map[string]int{}
	for i, k := range Kinds {
		order[k] = i
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return order[out[i].Kind] < order[out[j].Kind]
		}
		return out[i].Column < out[j].Column
	})
	return out
}
