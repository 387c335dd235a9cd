// Package dlqtest is an in-memory Kafka holding dead-letter queues and
// the topics their records came from, for the tests of the packages that
// read DLQs (internal/dlq and collector/), and the context headers Kafka
// Connect writes on a dead-lettered record.
package dlqtest

import (
	"context"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
)

// Log is topics of partitions of records, read the way kafka.Client
// reads them.
type Log struct {
	mu    sync.Mutex
	logs  map[kafka.Partition][]*kgo.Record
	start map[kafka.Partition]int64 // first offset still there (retention)
	ids   map[string]kafka.TopicID
	made  byte // topics created, for their ids
}

// NewLog is an empty Log.
func NewLog() *Log {
	return &Log{logs: map[kafka.Partition][]*kgo.Record{}, start: map[kafka.Partition]int64{}, ids: map[string]kafka.TopicID{}}
}

// create gives topic a new id; l.mu is held.
func (l *Log) create(topic string) {
	l.made++
	l.ids[topic] = kafka.TopicID{15: l.made}
}

// Recreate deletes topic and creates it again, empty, with a new id.
func (l *Log) Recreate(topic string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.drop(topic)
	l.create(topic)
}

// drop deletes topic's records and id; l.mu is held.
func (l *Log) drop(topic string) {
	for p := range l.logs {
		if p.Topic == topic {
			delete(l.logs, p)
			delete(l.start, p)
		}
	}
	delete(l.ids, topic)
}

// Delete deletes topic: it does not exist until a record is appended to
// it again.
func (l *Log) Delete(topic string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.drop(topic)
}

// TopicID is kafka.Client.TopicID: a topic exists once a record was
// appended to it, or since it was recreated.
func (l *Log) TopicID(_ context.Context, topic string) (kafka.TopicID, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	id, ok := l.ids[topic]
	return id, ok, nil
}

// Append copies r to the end of its topic and partition, giving it the
// next offset and, when it has none, a timestamp a second after the one
// before, and returns the copy.
func (l *Log) Append(r *kgo.Record) *kgo.Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := kafka.Partition{Topic: r.Topic, Partition: r.Partition}
	if _, ok := l.ids[r.Topic]; !ok {
		l.create(r.Topic)
	}
	c := *r
	c.Offset = int64(len(l.logs[p]))
	if c.Timestamp.IsZero() {
		c.Timestamp = time.Unix(1_800_000_000, 0).Add(time.Duration(c.Offset) * time.Second)
	}
	l.logs[p] = append(l.logs[p], &c)
	return &c
}

// Trim deletes p's records before offset start, as retention does.
func (l *Log) Trim(p kafka.Partition, start int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.start[p] = start
}

// Records are the records of topic's partition, deleted ones included.
func (l *Log) Records(topic string, partition int32) []*kgo.Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*kgo.Record{}, l.logs[kafka.Partition{Topic: topic, Partition: partition}]...)
}

// PartitionEnds is kafka.Client.PartitionEnds: a topic exists once a
// record was appended to it.
func (l *Log) PartitionEnds(_ context.Context, topics ...string) (map[string]kafka.TopicPartitions, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]kafka.TopicPartitions{}
	for _, t := range topics {
		_, exists := l.ids[t]
		tp := kafka.TopicPartitions{Ends: map[int32]int64{}, Exists: exists}
		for p, recs := range l.logs {
			if p.Topic == t {
				tp.Exists = true
				tp.Ends[p.Partition] = int64(len(recs))
			}
		}
		out[t] = tp
	}
	return out, nil
}

// ReadRecords is kafka.Client.ReadRecords: up to limit records from
// offset from, or from the first one still there, counting those passed
// over.
func (l *Log) ReadRecords(_ context.Context, p kafka.Partition, from int64, limit int) (kafka.ReadResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	log, start := l.logs[p], l.start[p]
	res := kafka.ReadResult{End: int64(len(log)), Start: start, Skipped: max(start-from, 0)}
	from = max(from, start)
	res.Next = from
	for o := from; o < int64(len(log)) && len(res.Records) < limit; o++ {
		res.Records = append(res.Records, log[o])
		res.Next = o + 1
	}
	return res, nil
}

// ErrorContext is what Kafka Connect writes in a dead-lettered record's
// headers when errors.deadletterqueue.context.headers.enable is true.
type ErrorContext struct {
	Topic, Partition, Offset string
	Connector, Stage         string
	Exception, Message       string
}

// Headers are the context headers, leaving out empty fields. The names
// are written out as Connect writes them (not taken from package dlq,
// whose own tests use this package, and which they check).
func (c ErrorContext) Headers() []kgo.RecordHeader {
	var out []kgo.RecordHeader
	for _, h := range []struct{ key, value string }{
		{"__connect.errors.topic", c.Topic}, {"__connect.errors.partition", c.Partition}, {"__connect.errors.offset", c.Offset},
		{"__connect.errors.connector.name", c.Connector}, {"__connect.errors.stage", c.Stage},
		{"__connect.errors.exception.class.name", c.Exception}, {"__connect.errors.exception.message", c.Message},
	} {
		if h.value != "" {
			out = append(out, kgo.RecordHeader{Key: h.key, Value: []byte(h.value)})
		}
	}
	return out
}
