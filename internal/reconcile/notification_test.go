package reconcile

import (
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
)

// The JsonConverter with schemas.enable=true wraps the value in a
// schema envelope; without it the fields stand alone; the documentation
// shows the timestamp as a string. All read the same.
func TestParseNotificationReadsEachJSONShape(t *testing.T) {
	want := Notification{ID: "sig-1", AggregateType: AggregateIncrementalSnapshot, Type: NotifyTableScanCompleted,
		AdditionalData:  map[string]string{"connector_name": "demo", "data_collection": "inventory.customers", "total_rows_scanned": "3", "status": "SUCCEEDED"},
		TimestampMillis: 1695817046353}
	fields := `"id":"sig-1","aggregate_type":"Incremental Snapshot","type":"TABLE_SCAN_COMPLETED","additional_data":{"connector_name":"demo","data_collection":"inventory.customers","total_rows_scanned":"3","status":"SUCCEEDED"}`
	for name, value := range map[string]string{
		"envelope":         `{"schema":{"type":"struct","name":"io.debezium.connector.common.Notification"},"payload":{` + fields + `,"timestamp":1695817046353}}`,
		"plain":            `{` + fields + `,"timestamp":1695817046353}`,
		"string timestamp": `{` + fields + `,"timestamp":"1695817046353"}` + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			got, err := ParseNotification([]byte(value))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v\nwant %+v", got, want)
			}
		})
	}
}

// avroNotification writes the sink channel's value as Kafka Connect's
// Avro converter does, in the Schema Registry wire format.
func avroNotification(id, typ, agg string, data [][2]string, ts int64, withTS bool) []byte {
	b := []byte{0, 0, 0, 0, 42}
	long := func(v int64) { b = binary.AppendVarint(b, v) }
	str := func(s string) { long(int64(len(s))); b = append(b, s...) }
	str(id)
	str(typ)
	str(agg)
	if data == nil {
		long(0)
	} else {
		long(1)
		long(int64(len(data)))
		for _, kv := range data {
			str(kv[0])
			str(kv[1])
		}
		long(0)
	}
	if withTS {
		long(ts)
	}
	return b
}

// The SQL Server users run Avro converters: the notification comes in
// the Schema Registry wire format, with or without the timestamp field
// older Debezium versions did not have.
func TestParseNotificationReadsAvro(t *testing.T) {
	// 32 is a space once zig-zag encoded: the datum is never trimmed.
	v := avroNotification("sig-2", NotifyInProgress, AggregateIncrementalSnapshot,
		[][2]string{{"current_collection_in_progress", "shop.dbo.orders"}, {"last_processed_key", "[16]"}}, 16, true)
	got, err := ParseNotification(v)
	if err != nil {
		t.Fatal(err)
	}
	want := Notification{ID: "sig-2", Type: NotifyInProgress, AggregateType: AggregateIncrementalSnapshot,
		AdditionalData: map[string]string{"current_collection_in_progress": "shop.dbo.orders", "last_processed_key": "[16]"}, TimestampMillis: 16}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	got, err = ParseNotification(avroNotification("sig-3", NotifyCompleted, AggregateIncrementalSnapshot, nil, 0, false))
	if err != nil || got.ID != "sig-3" || got.Type != NotifyCompleted || got.AdditionalData != nil || got.TimestampMillis != 0 {
		t.Fatalf("got %+v, %v", got, err)
	}
}

// What cannot be read is an error that says why, never a panic and never
// a zero notification taken for a real one.
func TestParseNotificationRejectsMalformedRecords(t *testing.T) {
	full := avroNotification("sig-2", NotifyInProgress, AggregateIncrementalSnapshot, [][2]string{{"k", "v"}}, 99, true)
	for name, tc := range map[string]struct {
		value []byte
		want  string
	}{
		"tombstone":          {nil, "empty notification record"},
		"blank":              {[]byte("  \n"), "empty notification record"},
		"not json":           {[]byte("STARTED"), "neither JSON nor Schema Registry Avro"},
		"broken json":        {[]byte(`{"id":"x",`), "notification record"},
		"no id":              {[]byte(`{"type":"STARTED","aggregate_type":"Incremental Snapshot"}`), "no id or no type"},
		"no type in payload": {[]byte(`{"schema":{},"payload":{"id":"x"}}`), "no id or no type"},
		"bad timestamp":      {[]byte(`{"id":"x","type":"STARTED","timestamp":"yesterday"}`), "not epoch milliseconds"},
		"data not strings":   {[]byte(`{"id":"x","type":"STARTED","additional_data":{"total_rows_scanned":3}}`), "notification record"},
		"avro truncated":     {full[:12], "avro notification record"},
		"avro bad union":     {append(avroNotification("a", "b", "c", nil, 0, false)[:len(avroNotification("a", "b", "c", nil, 0, false))-1], 8), "unknown union branch"},
		"avro huge string":   {[]byte{0, 0, 0, 0, 1, 0xfe, 0xff, 0xff, 0xff, 0x0f}, "string length out of range"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseNotification(tc.value)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func FuzzParseNotification(f *testing.F) {
	f.Add([]byte(`{"schema":{},"payload":{"id":"x","type":"STARTED","aggregate_type":"Incremental Snapshot","timestamp":1}}`))
	f.Add(avroNotification("sig", NotifyInProgress, AggregateIncrementalSnapshot, [][2]string{{"k", "v"}}, 5, true))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseNotification(b)
	})
}
