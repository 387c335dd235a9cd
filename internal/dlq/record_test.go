package dlq

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestParseReadsConnectsContextHeaders(t *testing.T) {
	r := &kgo.Record{Topic: "sink-dlq", Partition: 0, Offset: 9, Key: []byte("k"), Value: []byte("v"), Headers: []kgo.RecordHeader{
		{Key: "app", Value: []byte("kept")},
		{Key: "__connect.errors.topic", Value: []byte("sql.dbo.orders")},
		{Key: "__connect.errors.partition", Value: []byte("2")},
		{Key: "__connect.errors.offset", Value: []byte("12345")},
		{Key: "__connect.errors.connector.name", Value: []byte("pg-sink")},
		{Key: "__connect.errors.task.id", Value: []byte("0")},
		{Key: "__connect.errors.stage", Value: []byte("VALUE_CONVERTER")},
		{Key: "__connect.errors.class.name", Value: []byte("io.confluent.connect.avro.AvroConverter")},
		{Key: "__connect.errors.exception.class.name", Value: []byte("org.apache.kafka.connect.errors.DataException")},
		{Key: "__connect.errors.exception.message", Value: []byte("Failed to deserialize data")},
		{Key: "__connect.errors.exception.stacktrace", Value: []byte("org.apache.kafka.connect.errors.DataException: Failed to deserialize data\n\tat a.b(C.java:1)\nCaused by: org.apache.kafka.common.errors.SerializationException: Unknown magic byte!\n\tat d.e(F.java:2)\n")},
	}}
	got := Parse(r)
	if !got.HasContext || got.OriginalTopic != "sql.dbo.orders" || got.OriginalPartition != 2 || got.OriginalOffset != 12345 ||
		got.Connector != "pg-sink" || got.Task != "0" || got.Stage != "VALUE_CONVERTER" ||
		got.ExecutingClass != "io.confluent.connect.avro.AvroConverter" ||
		got.ExceptionClass != "org.apache.kafka.connect.errors.DataException" || got.ExceptionMessage != "Failed to deserialize data" {
		t.Errorf("parsed %+v", got)
	}
	if got.RootCause != "org.apache.kafka.common.errors.SerializationException: Unknown magic byte!" {
		t.Errorf("root cause %q", got.RootCause)
	}
	if e := got.Error(); e != "org.apache.kafka.common.errors.SerializationException: Unknown magic byte! (surfaced as: Failed to deserialize data)" {
		t.Errorf("error line %q", e)
	}
	if len(got.Headers) != 1 || got.Headers[0].Key != "app" {
		t.Errorf("the record's own headers, without Connect's context: %+v", got.Headers)
	}
	if got.Topic != "sink-dlq" || got.Offset != 9 || string(got.Value) != "v" {
		t.Errorf("DLQ position or payload lost: %+v", got)
	}
}

func TestParseWithoutHeadersOrWithGarbage(t *testing.T) {
	got := Parse(&kgo.Record{Headers: []kgo.RecordHeader{{Key: "__connect.errors.partition", Value: []byte("x")}, {Key: "__connect.errors.offset", Value: nil}}})
	if got.HasContext || got.OriginalPartition != -1 || got.OriginalOffset != -1 || got.OriginalTopic != "" {
		t.Errorf("unparsable headers must read as unknown: %+v", got)
	}
}

func TestLabelsAreBounded(t *testing.T) {
	for in, want := range map[string]string{
		"": Unknown, "TASK_PUT": "TASK_PUT", "KEY_CONVERTER": "KEY_CONVERTER", "task_put": Other, "X": Other,
	} {
		if got := StageLabel(in); got != want {
			t.Errorf("StageLabel(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"":                                  Unknown,
		"java.sql.SQLException":             "java.sql.SQLException",
		"org.postgresql.util.PSQLException": "org.postgresql.util.PSQLException",
		"Outer$Inner":                       "Outer$Inner",
		"value 'secret' is too long":        Other,
		"a..b":                              Other,
		"1abc":                              Other,
		strings.Repeat("a.", 150) + "b":     Other,
	} {
		if got := ExceptionLabel(in); got != want {
			t.Errorf("ExceptionLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("__connect.errors.partition", []byte("3"), "__connect.errors.exception.class.name", []byte("a.B"))
	f.Add("__connect.errors.offset", []byte("-1"), "x", []byte{0xff})
	f.Fuzz(func(t *testing.T, k1 string, v1 []byte, k2 string, v2 []byte) {
		got := Parse(&kgo.Record{Headers: []kgo.RecordHeader{{Key: k1, Value: v1}, {Key: k2, Value: v2}}})
		if l := ExceptionLabel(got.ExceptionClass); l != Unknown && l != Other && l != got.ExceptionClass {
			t.Fatalf("label %q from class %q", l, got.ExceptionClass)
		}
		if l := ExceptionLabel(got.ExceptionClass); len(l) > maxClassNameLen {
			t.Fatalf("label of %d bytes", len(l))
		}
		StageLabel(got.Stage)
	})
}
