package schemadrift

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ErrNoInlineSchema is a record value that carries no schema: the JSON
// converter with schemas.enable=false, or another converter's bytes.
// The topic layer is then not compared unless a Schema Registry is
// configured.
var ErrNoInlineSchema = errors.New("the record carries no inline schema (JSON converter with schemas.enable=true writes one)")

// connectField is a field of a Kafka Connect schema as the JSON
// converter writes it inline: {"type":"struct","fields":[{"field":..}]}.
type connectField struct {
	Field  string         `json:"field"`
	Type   string         `json:"type"`
	Name   string         `json:"name"`
	Fields []connectField `json:"fields"`
}

// InlineFields are the row's fields named by a record value the JSON
// converter wrote with schemas.enable=true ({"schema": ..., "payload":
// ...}): the after struct's fields for a Debezium change event, the
// top-level fields for a flattened one (ExtractNewRecordState).
func InlineFields(value []byte) ([]string, error) {
	var env struct {
		Schema *connectField `json:"schema"`
	}
	if err := json.Unmarshal(value, &env); err != nil || env.Schema == nil {
		return nil, ErrNoInlineSchema
	}
	if env.Schema.Type != "struct" {
		return nil, fmt.Errorf("the inline schema is a %s, not a struct", env.Schema.Type)
	}
	fields := env.Schema.Fields
	if isEnvelope(fields, func(f connectField) string { return f.Field }) {
		for _, f := range fields {
			if f.Field == "after" || f.Field == "before" {
				fields = f.Fields
				break
			}
		}
	}
	out := make([]string, 0, len(fields))
	for _, f := range fields {
		out = append(out, f.Field)
	}
	return out, nil
}

// isEnvelope reports whether fields are a Debezium change event's
// envelope: before, after, source and op.
func isEnvelope[T any](fields []T, name func(T) string) bool {
	seen := map[string]bool{}
	for _, f := range fields {
		seen[name(f)] = true
	}
	return seen["after"] && seen["op"] && seen["source"]
}

// Schema Registry schema types (the subject version's schemaType; absent
// means Avro).
const (
	RegistryAvro     = "AVRO"
	RegistryJSON     = "JSON"
	RegistryProtobuf = "PROTOBUF"
)

// RegistryFields are the row's fields of a schema as Schema Registry
// returns it (GET /subjects/<topic>-value/versions/latest: its schema
// string and schemaType), for Avro, JSON Schema and Protobuf; the after
// record's for a Debezium envelope.
func RegistryFields(schemaType, schema string) ([]string, error) {
	switch strings.ToUpper(schemaType) {
	case "", RegistryAvro:
		return avroFields(schema)
	case RegistryJSON:
		return jsonSchemaFields(schema)
	case RegistryProtobuf:
		return protobufFields(schema)
	}
	return nil, fmt.Errorf("schema type %q is not one of AVRO, JSON, PROTOBUF", schemaType)
}

type avroField struct {
	Name string          `json:"name"`
	Type json.RawMessage `json:"type"`
}

type avroRecord struct {
	Type   string      `json:"type"`
	Name   string      `json:"name"`
	Fields []avroField `json:"fields"`
}

func avroFields(schema string) ([]string, error) {
	var rec avroRecord
	if err := json.Unmarshal([]byte(schema), &rec); err != nil {
		return nil, fmt.Errorf("avro schema: %w", err)
	}
	if rec.Type != "record" {
		return nil, fmt.Errorf("avro schema: a %q, not a record", rec.Type)
	}
	fields := rec.Fields
	if isEnvelope(fields, func(f avroField) string { return f.Name }) {
		// before and after are ["null", record]; the record is defined
		// inline at its first use (before) and named at the second.
		row, ok := avroRowRecord(fields)
		if !ok {
			return nil, errors.New("avro schema: a change event envelope without a row record")
		}
		fields = row.Fields
	}
	out := make([]string, 0, len(fields))
	for _, f := range fields {
		out = append(out, f.Name)
	}
	return out, nil
}

func avroRowRecord(fields []avroField) (avroRecord, bool) {
	for _, f := range fields {
		if f.Name != "before" && f.Name != "after" {
			continue
		}
		var union []json.RawMessage
		if json.Unmarshal(f.Type, &union) != nil {
			union = []json.RawMessage{f.Type}
		}
		for _, u := range union {
			var r avroRecord
			if json.Unmarshal(u, &r) == nil && r.Type == "record" {
				return r, true
			}
		}
	}
	return avroRecord{}, false
}

type jsonSchema struct {
	Type       any                    `json:"type"`
	Properties map[string]*jsonSchema `json:"properties"`
	OneOf      []*jsonSchema          `json:"oneOf"`
	AnyOf      []*jsonSchema          `json:"anyOf"`
}

func jsonSchemaFields(schema string) ([]string, error) {
	var s jsonSchema
	if err := json.Unmarshal([]byte(schema), &s); err != nil {
		return nil, fmt.Errorf("json schema: %w", err)
	}
	props := s.Properties
	if props == nil {
		return nil, errors.New("json schema: an object schema with properties was expected")
	}
	if props["after"] != nil && props["op"] != nil && props["source"] != nil {
		row := objectOf(props["after"])
		if row == nil {
			return nil, errors.New("json schema: a change event envelope without a row object")
		}
		props = row.Properties
	}
	out := make([]string, 0, len(props))
	for name := range props {
		out = append(out, name)
	}
	return out, nil
}

// objectOf finds the object schema in s or among its oneOf/anyOf
// branches (a nullable row is oneOf null and the object).
func objectOf(s *jsonSchema) *jsonSchema {
	if s == nil {
		return nil
	}
	if s.Properties != nil {
		return s
	}
	for _, b := range append(append([]*jsonSchema{}, s.OneOf...), s.AnyOf...) {
		if o := objectOf(b); o != nil {
			return o
		}
	}
	return nil
}

var (
	protoMessage = regexp.MustCompile(`(?s)message\s+(\w+)\s*\{`)
	protoField   = regexp.MustCompile(`^\s*(?:optional\s+|required\s+|repeated\s+)?[\w.]+\s+(\w+)\s*=\s*\d+`)
)

// protobufFields reads the row message of a .proto schema as Schema
// Registry stores it: Debezium's envelope names it Value (nested or
// not); a flattened record has a single top-level message. Only the
// message's own fields count, not those of messages nested in it.
func protobufFields(schema string) ([]string, error) {
	msgs := protoMessages(schema)
	body, ok := msgs["Value"]
	if !ok {
		if len(msgs) == 0 {
			return nil, errors.New("protobuf schema: no message")
		}
		body = msgs[firstMessage(schema)]
	}
	var out []string
	for _, line := range strings.Split(body, "\n") {
		if m := protoField.FindStringSubmatch(line); m != nil {
			out = append(out, m[1])
		}
	}
	return out, nil
}

func firstMessage(schema string) string {
	if m := protoMessage.FindStringSubmatch(schema); m != nil {
		return m[1]
	}
	return ""
}

// protoMessages maps every message name to its body without the bodies
// of messages nested in it.
func protoMessages(schema string) map[string]string {
	out := map[string]string{}
	for _, loc := range protoMessage.FindAllStringSubmatchIndex(schema, -1) {
		name := schema[loc[2]:loc[3]]
		depth, start := 1, loc[1]
		var own strings.Builder
		for i := start; i < len(schema) && depth > 0; i++ {
			switch schema[i] {
			case '{':
				depth++
			case '}':
				depth--
			}
			if depth == 1 && schema[i] != '}' {
				own.WriteByte(schema[i])
			}
		}
		out[name] = own.String()
	}
	return out
}
