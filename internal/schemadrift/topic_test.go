package schemadrift

import (
	"errors"
	"reflect"
	"sort"
	"testing"
)

func sorted(s []string) []string { s = append([]string(nil), s...); sort.Strings(s); return s }

func TestRegistryFieldsReadTheRowOfEachSchemaType(t *testing.T) {
	cases := []struct {
		name, typ, schema string
		want              []string
	}{
		{"avro envelope", "", `{"type":"record","name":"Envelope","namespace":"erp.dbo.customers","fields":[
			{"name":"before","type":["null",{"type":"record","name":"Value","fields":[{"name":"id","type":"int"},{"name":"email","type":["null","string"],"default":null}]}],"default":null},
			{"name":"after","type":["null","Value"],"default":null},
			{"name":"source","type":{"type":"record","name":"Source","fields":[{"name":"db","type":"string"}]}},
			{"name":"op","type":"string"},{"name":"ts_ms","type":["null","long"]}]}`, []string{"email", "id"}},
		{"avro flattened", "AVRO", `{"type":"record","name":"Value","fields":[{"name":"id","type":"int"},{"name":"__deleted","type":["null","string"]}]}`, []string{"__deleted", "id"}},
		{"json schema envelope", "JSON", `{"type":"object","properties":{
			"before":{"oneOf":[{"type":"null"},{"type":"object","properties":{"id":{"type":"integer"},"email":{"type":"string"}}}]},
			"after":{"oneOf":[{"type":"null"},{"type":"object","properties":{"id":{"type":"integer"},"email":{"type":"string"}}}]},
			"source":{"type":"object","properties":{"db":{"type":"string"}}},"op":{"type":"string"}}}`, []string{"email", "id"}},
		{"protobuf envelope", "PROTOBUF", `syntax = "proto3";
package erp.dbo.customers;
message Envelope {
  Value before = 1;
  Value after = 2;
  Source source = 3;
  string op = 4;
  message Value {
    int32 id = 1;
    optional string email = 2;
  }
}
message Source { string db = 1; }`, []string{"email", "id"}},
	}
	for _, c := range cases {
		got, err := RegistryFields(c.typ, c.schema)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !reflect.DeepEqual(sorted(got), c.want) {
			t.Errorf("%s: fields %v, want %v", c.name, got, c.want)
		}
	}
	if _, err := RegistryFields("THRIFT", "{}"); err == nil {
		t.Error("an unknown schema type was accepted")
	}
	if _, err := RegistryFields("AVRO", `"string"`); err == nil {
		t.Error("an avro schema that is not a record was accepted")
	}
}

func TestInlineFieldsNeedAnInlineSchema(t *testing.T) {
	if _, err := InlineFields([]byte(`{"id":1,"email":"a@b"}`)); !errors.Is(err, ErrNoInlineSchema) {
		t.Errorf("a record without schema: err %v, want ErrNoInlineSchema", err)
	}
	got, err := InlineFields([]byte(`{"schema":{"type":"struct","fields":[{"type":"int32","field":"id"},{"type":"string","optional":true,"field":"__deleted"}]},"payload":{"id":1}}`))
	if err != nil || !reflect.DeepEqual(got, []string{"id", "__deleted"}) {
		t.Errorf("flattened record: %v, %v", got, err)
	}
}
