package schemadrift

import (
	"reflect"
	"testing"
)

func cols(specs ...string) []Column {
	var out []Column
	for i := 0; i+1 < len(specs); i += 2 {
		out = append(out, Column{Name: specs[i], Type: specs[i+1], Length: -1, Precision: -1, Scale: -1, TimePrecision: -1})
	}
	return out
}

func kindsOf(ms []Mismatch) map[string][]string {
	out := map[string][]string{}
	for _, m := range ms {
		out[m.Kind] = append(out[m.Kind], m.Column)
	}
	return out
}

func TestCompareReportsEachColumnWhereItIsLost(t *testing.T) {
	src := cols("id", "int", "name", "nvarchar", "added", "int", "Email", "nvarchar", "skipped", "int")
	src[1].Length, src[3].Length = 50, 100
	tgt := cols("id", "integer", "name", "character varying", "email", "character varying", "legacy", "text",
		"__source_ts_ms", "bigint", "__deleted", "text", "synced_at", "bigint", "is_gone", "boolean", "skipped", "integer")
	tgt[1].Length, tgt[2].Length = 20, 100
	got := Compare(Layers{
		Source: src, Target: tgt,
		Captured: []string{"id", "name", "Email", "skipped"}, CaptureInstance: "dbo_customers",
		Topic: []string{"id", "name"},
	}, Scope{SinkMetadata: []string{"synced_at", "is_gone"}, Ignore: []string{"skipped"}})
	want := map[string][]string{
		MissingInTarget: {"added"},
		MissingInSource: {"legacy"},
		Type:            {"name"},
		NotCaptured:     {"added"},
		NotInTopic:      {"Email"},
	}
	if g := kindsOf(got); !reflect.DeepEqual(g, want) {
		t.Errorf("Compare found %v, want %v", g, want)
	}
	if c := Counts(got); len(c) != len(Kinds) || c[Type] != 1 {
		t.Errorf("Counts = %v, want every kind with type 1", c)
	}
}

func TestCompareWithoutOptionalLayersComparesSourceAndTarget(t *testing.T) {
	got := Compare(Layers{Source: cols("id", "integer", "note", "text"), Target: cols("id", "integer", "note", "text", "__source_ts_ms", "bigint")}, Scope{})
	if len(got) != 0 {
		t.Errorf("identical tables with sink metadata differ: %+v", got)
	}
}

func TestCompareKeepsToTheConfiguredColumns(t *testing.T) {
	got := Compare(Layers{Source: cols("id", "integer", "note", "text", "other", "text"), Target: cols("id", "integer")},
		Scope{Columns: []string{"id", "note"}})
	if g := kindsOf(got); !reflect.DeepEqual(g, map[string][]string{MissingInTarget: {"note"}}) {
		t.Errorf("Compare found %v, want only note missing in the target", g)
	}
}
