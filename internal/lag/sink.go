package lag

import (
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
)

// What reading sink lag costs: one fetch of one record batch per
// partition with a backlog, a few at a time. The HELP text of
// cdc_sink_consumer_lag_seconds and docs/lag.md say so.
const (
	sinkMaxTimeReads = 200
	sinkParallel     = 8
)

// SinkBacklogOptions are the bounds of one read of sink consumer groups'
// backlogs (kafka.Client.GroupBacklogs) that SinkLag is decided from:
// at most sinkMaxTimeReads record fetches, sinkParallel at a time, on the
// topics keep accepts. The read shares the caller's deadline between its
// steps, so a broker that does not answer leaves out only what it serves.
func SinkBacklogOptions(keep func(group, topic string) bool) kafka.BacklogOptions {
	return kafka.BacklogOptions{MaxTimeReads: sinkMaxTimeReads, Parallel: sinkParallel, Keep: keep}
}

// TopicSinkLag is a sink consumer group's lag on one topic, over its
// partitions: the one definition of cdc_sink_consumer_lag_records and
// cdc_sink_consumer_lag_seconds.
type TopicSinkLag struct {
	// Records is how many records the group has yet to consume: end
	// offset minus committed offset, summed over its committed
	// partitions.
	Records int64
	// Age is how long the oldest record the group has not consumed has
	// waited: now minus its timestamp, 0 when nothing waits, never
	// negative (a producer clock ahead of ours). AgeKnown is false when
	// that record could not be read within the read budget or in time.
	Age      time.Duration
	AgeKnown bool
	// Err is set when some partition's end offset could not be read:
	// Records would be a partial sum, so nothing of the topic is known.
	Err error
}

// SinkLag is a topic's sink lag from the group's backlog on it, at now.
func SinkLag(b kafka.TopicBacklog, now time.Time) TopicSinkLag {
	if b.Err != nil {
		return TopicSinkLag{Err: b.Err}
	}
	l := TopicSinkLag{Records: b.Records, AgeKnown: b.OldestKnown}
	if l.AgeKnown && b.Records > 0 && !b.Oldest.IsZero() {
		l.Age = max(now.Sub(b.Oldest), 0)
	}
	return l
}
