// Package dlq understands the records Kafka Connect writes to a sink
// connector's dead-letter queue: the error context it puts in their
// headers, the bounded labels the exporter counts them by, and (in
// replay.go) how to send them back to their original topic.
package dlq

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
)

// Kafka Connect's DeadLetterQueueReporter writes these headers when the
// connector sets errors.deadletterqueue.context.headers.enable=true
// (off by default): "__connect.errors." followed by the field.
const (
	HeaderPrefix           = "__connect.errors."
	HeaderTopic            = HeaderPrefix + "topic"
	HeaderPartition        = HeaderPrefix + "partition"
	HeaderOffset           = HeaderPrefix + "offset"
	HeaderConnector        = HeaderPrefix + "connector.name"
	HeaderTask             = HeaderPrefix + "task.id"
	HeaderStage            = HeaderPrefix + "stage"
	HeaderExecutingClass   = HeaderPrefix + "class.name"
	HeaderException        = HeaderPrefix + "exception.class.name"
	HeaderExceptionMessage = HeaderPrefix + "exception.message"
	HeaderStacktrace       = HeaderPrefix + "exception.stacktrace"
)

// Record is one dead-lettered record with its error context.
type Record struct {
	// Where it sits in the DLQ topic.
	Topic     string    `json:"dlq_topic"`
	Partition int32     `json:"dlq_partition"`
	Offset    int64     `json:"dlq_offset"`
	Timestamp time.Time `json:"timestamp"`

	// Where it came from; OriginalPartition and OriginalOffset are -1
	// and OriginalTopic is empty without context headers.
	OriginalTopic     string `json:"original_topic"`
	OriginalPartition int32  `json:"original_partition"`
	OriginalOffset    int64  `json:"original_offset"`

	Connector        string `json:"connector,omitempty"`
	Task             string `json:"task,omitempty"`
	Stage            string `json:"stage,omitempty"`
	ExecutingClass   string `json:"executing_class,omitempty"`
	ExceptionClass   string `json:"exception_class,omitempty"`
	ExceptionMessage string `json:"exception_message,omitempty"`
	// RootCause is the innermost cause in the stack trace header (what to
	// fix first; the message is often only where it surfaced).
	RootCause string `json:"root_cause,omitempty"`

	// HasContext is false when the connector wrote no context headers:
	// the record's origin and error are then unknown.
	HasContext bool `json:"has_context"`

	Key   []byte `json:"-"`
	Value []byte `json:"-"`
	// Headers are the record's own headers, without Connect's error
	// context: what the original record carried.
	Headers []kgo.RecordHeader `json:"-"`
}

// Parse reads the error context of a record read from a DLQ topic. It
// never fails: a header that is missing or malformed leaves its field
// unknown.
func Parse(r *kgo.Record) Record {
	out := Record{
		Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp,
		OriginalPartition: -1, OriginalOffset: -1,
		Key: r.Key, Value: r.Value,
	}
	for _, h := range r.Headers {
		if !strings.HasPrefix(h.Key, HeaderPrefix) {
			out.Headers = append(out.Headers, h)
			continue
		}
		v := string(h.Value)
		switch h.Key {
		case HeaderTopic:
			out.OriginalTopic, out.HasContext = v, true
		case HeaderPartition:
			if n, err := strconv.ParseInt(v, 10, 32); err == nil {
				out.OriginalPartition = int32(n)
			}
		case HeaderOffset:
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				out.OriginalOffset = n
			}
		case HeaderConnector:
			out.Connector, out.HasContext = v, true
		case HeaderTask:
			out.Task = v
		case HeaderStage:
			out.Stage, out.HasContext = v, true
		case HeaderExecutingClass:
			out.ExecutingClass = v
		case HeaderException:
			out.ExceptionClass = v
		case HeaderExceptionMessage:
			out.ExceptionMessage = v
		case HeaderStacktrace:
			// Only its root cause is kept: the trace is long, and it stays
			// in the topic.
			out.RootCause = connect.RootCause(v)
		}
	}
	return out
}

// Stages are Kafka Connect's errors.Stage values.
var Stages = []string{"TASK_POLL", "TASK_PUT", "TRANSFORMATION", "KEY_CONVERTER", "VALUE_CONVERTER", "HEADER_CONVERTER", "KAFKA_PRODUCE", "KAFKA_CONSUME"}

// Label values for what the headers do not say.
const (
	// Unknown: the connector writes no context headers.
	Unknown = "unknown"
	// Other: a value outside the known set or over the cardinality cap.
	Other = "other"
)

// StageLabel is the stage as a label value: one of Stages, Unknown or
// Other, so its cardinality is fixed.
func StageLabel(stage string) string {
	if stage == "" {
		return Unknown
	}
	for _, s := range Stages {
		if s == stage {
			return s
		}
	}
	return Other
}

var javaClassName = regexp.MustCompile(`^[\p{L}_$][\p{L}\p{N}_$]*(\.[\p{L}_$][\p{L}\p{N}_$]*)*$`)

// maxClassNameLen bounds a label value taken from a header.
const maxClassNameLen = 200

// ExceptionLabel is the exception's class name as a label value: the
// class name only (never the message, which holds data), Unknown when
// absent, Other when it does not look like a Java class name.
func ExceptionLabel(class string) string {
	switch {
	case class == "":
		return Unknown
	case len(class) > maxClassNameLen || !javaClassName.MatchString(class):
		return Other
	}
	return class
}
