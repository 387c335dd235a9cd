package reconcile

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Notification is one Debezium notification as its sink channel writes
// it to notification.sink.topic.name: the same fields whatever the
// connector (PostgreSQL, SQL Server), serialised by the connector's
// value converter.
type Notification struct {
	// ID is, for an incremental snapshot, the id of the execute-snapshot
	// signal that started it.
	ID string `json:"id"`
	// AggregateType is "Incremental Snapshot" for the snapshots repairs
	// start ("Initial Snapshot" for the connector's first one).
	AggregateType string `json:"aggregate_type"`
	// Type is STARTED, PAUSED, RESUMED, IN_PROGRESS,
	// TABLE_SCAN_COMPLETED, COMPLETED, ABORTED or SKIPPED.
	Type           string            `json:"type"`
	AdditionalData map[string]string `json:"additional_data"`
	// TimestampMillis is when Debezium created it (0 when the connector's
	// version does not say).
	TimestampMillis int64 `json:"timestamp"`
}

// Notification kinds and types Debezium sends.
const (
	AggregateIncrementalSnapshot = "Incremental Snapshot"

	NotifyStarted            = "STARTED"
	NotifyPaused             = "PAUSED"
	NotifyResumed            = "RESUMED"
	NotifyInProgress         = "IN_PROGRESS"
	NotifyTableScanCompleted = "TABLE_SCAN_COMPLETED"
	NotifyCompleted          = "COMPLETED"
	NotifyAborted            = "ABORTED"
	NotifySkipped            = "SKIPPED"
)

// ParseNotification reads one record value of the notification topic:
// JSON with or without the JsonConverter's schema envelope, or Avro in
// the Schema Registry wire format (the converter the SQL Server users
// run). It never panics; what it cannot read is an error naming why.
func ParseNotification(value []byte) (Notification, error) {
	// The Avro wire format: magic byte 0, a 4-byte schema id, the datum
	// (never trimmed: its last bytes may well look like white space).
	if len(value) >= 5 && value[0] == 0 {
		return parseAvroNotification(value[5:])
	}
	v := bytes.TrimSpace(value)
	switch {
	case len(v) == 0:
		return Notification{}, errors.New("empty notification record")
	case v[0] != '{':
		return Notification{}, fmt.Errorf("notification record is neither JSON nor Schema Registry Avro (first byte 0x%02x)", value[0])
	}
	var env struct {
		Schema  json.RawMessage `json:"schema"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(v, &env); err != nil {
		return Notification{}, fmt.Errorf("notification record: %w", err)
	}
	body := v
	if len(env.Payload) > 0 && string(env.Payload) != "null" {
		body = env.Payload
	}
	var raw struct {
		ID             *string           `json:"id"`
		AggregateType  string            `json:"aggregate_type"`
		Type           *string           `json:"type"`
		AdditionalData map[string]string `json:"additional_data"`
		Timestamp      json.RawMessage   `json:"timestamp"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return Notification{}, fmt.Errorf("notification record: %w", err)
	}
	if raw.ID == nil || raw.Type == nil {
		return Notification{}, errors.New("notification record has no id or no type")
	}
	n := Notification{ID: *raw.ID, AggregateType: raw.AggregateType, Type: *raw.Type, AdditionalData: raw.AdditionalData}
	// The documentation shows the timestamp as a string of epoch
	// milliseconds; the sink channel's schema makes it an int64.
	if ts := bytes.Trim(raw.Timestamp, `"`); len(ts) > 0 && string(ts) != "null" {
		ms, err := strconv.ParseInt(string(ts), 10, 64)
		if err != nil {
			return Notification{}, fmt.Errorf("notification %s: timestamp %s is not epoch milliseconds", n.ID, raw.Timestamp)
		}
		n.TimestampMillis = ms
	}
	return n, nil
}

// parseAvroNotification reads the Avro encoding of the sink channel's
// value schema (io.debezium.connector.common.Notification) as Kafka
// Connect's Avro converter writes it: id, type, aggregate_type (strings),
// additional_data (an optional map: a union of null and a map of
// strings), then timestamp (a long; absent in versions before it was
// added).
func parseAvroNotification(b []byte) (Notification, error) {
	r := avroReader{b: b}
	var n Notification
	n.ID = r.str()
	n.Type = r.str()
	n.AggregateType = r.str()
	switch r.long() {
	case 0:
	case 1:
		n.AdditionalData = r.strMap()
	default:
		r.fail("additional_data: unknown union branch")
	}
	if r.err == nil && len(r.b) > 0 {
		n.TimestampMillis = r.long()
	}
	if r.err != nil {
		return Notification{}, fmt.Errorf("avro notification record: %w", r.err)
	}
	return n, nil
}

// avroReader decodes Avro's binary primitives; the first error sticks
// and every later read returns zero values.
type avroReader struct {
	b   []byte
	err error
}

func (r *avroReader) fail(msg string) {
	if r.err == nil {
		r.err = errors.New(msg)
	}
	r.b = nil
}

func (r *avroReader) long() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b) // zig-zag, as Avro writes int and long
	if n <= 0 {
		r.fail("truncated or overlong number")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *avroReader) str() string {
	n := r.long()
	if r.err != nil {
		return ""
	}
	if n < 0 || n > int64(len(r.b)) {
		r.fail("string length out of range")
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *avroReader) strMap() map[string]string {
	out := map[string]string{}
	for r.err == nil {
		count := r.long()
		if count == 0 {
			break
		}
		if count < 0 {
			count = -count
			r.long() // the block's size in bytes, unused
		}
		if count > int64(len(r.b)) {
			r.fail("map block count out of range")
			break
		}
		for i := int64(0); i < count && r.err == nil; i++ {
			k := r.str()
			out[k] = r.str()
		}
	}
	return out
}
