package connectorkind

import (
	"reflect"
	"testing"
)

// Each JDBC sink ignores the other's key, table and evolution settings;
// only those set are named, each with the setting doing its job here.
func TestForeignSettings(t *testing.T) {
	all := map[string]string{"pk.mode": "record_key", "pk.fields": "id", "auto.create": "true", "auto.evolve": "true",
		"primary.key.mode": "record_key", "primary.key.fields": "id", "collection.name.format": "${topic}", "schema.evolution": "basic",
		"table.name.format": "${topic}"}
	for _, tc := range []struct {
		class string
		want  []ForeignSetting
	}{
		{ClassDebeziumJDBC, []ForeignSetting{{"pk.mode", "primary.key.mode"}, {"pk.fields", "primary.key.fields"},
			{"auto.create", "schema.evolution=basic"}, {"auto.evolve", "schema.evolution=basic"}}},
		{ClassConfluentJDBC, []ForeignSetting{{"schema.evolution", "auto.create and auto.evolve"}, {"primary.key.mode", "pk.mode"},
			{"primary.key.fields", "pk.fields"}, {"collection.name.format", "table.name.format"}}},
	} {
		cfg := map[string]string{KeyClass: tc.class, KeyTopics: "t"}
		for k, v := range all {
			cfg[k] = v
		}
		if got := New("sink", TypeSink, cfg).ForeignSettings(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.class, got, tc.want)
		}
		if got := New("sink", TypeSink, map[string]string{KeyClass: tc.class, KeyTopics: "t"}).ForeignSettings(); len(got) != 0 {
			t.Errorf("%s without foreign settings: %v", tc.class, got)
		}
	}
}

// Only Debezium's sink leaves enumerations unchecked by the worker.
func TestUncheckedEnums(t *testing.T) {
	var keys []string
	for _, e := range DebeziumJDBCSink.UncheckedEnums() {
		keys = append(keys, e.Key)
	}
	if want := []string{KeyInsertMode, "primary.key.mode", "schema.evolution"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("Debezium sink: %v, want %v", keys, want)
	}
	if got := ConfluentJDBCSink.UncheckedEnums(); got != nil {
		t.Errorf("Confluent sink: %v", got)
	}
}
