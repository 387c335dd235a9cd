package retention

import (
	"math"
	"time"
)

// TopicRetention is what a Kafka topic's configuration says about
// deleting records: `retention.ms`, `retention.bytes` and whether
// `cleanup.policy` includes delete.
type TopicRetention struct {
	// Ms is retention.ms; negative means records are kept for ever.
	Ms int64
	// Bytes is retention.bytes (per partition); negative means no size
	// limit.
	Bytes int64
	// Delete is false for a topic that is only compacted: neither limit
	// deletes records then.
	Delete bool
}

// Seconds is how long the topic keeps a record, +Inf when it keeps it
// for ever (infinite retention, or compaction only).
func (r TopicRetention) Seconds() float64 {
	if !r.Delete || r.Ms < 0 {
		return math.Inf(1)
	}
	return float64(r.Ms) / 1000
}

// SizeLimited tells whether the topic also deletes by size, which the
// headroom does not estimate: a partition's size depends on every
// producer, not on the sink.
func (r TopicRetention) SizeLimited() bool { return r.Delete && r.Bytes > 0 }

// SinkBacklog is what is known of the records a sink has not consumed
// on one topic.
type SinkBacklog struct {
	// CaughtUp is true when the sink has consumed every record.
	CaughtUp bool
	// Age is how long the oldest record it has not consumed has waited
	// (the sink's lag as internal/lag's SinkLag measures it: never
	// negative); meaningful only when AgeKnown.
	Age      time.Duration
	AgeKnown bool
}

// SinkHeadroom is how long the topic's time retention leaves before it
// deletes a record the sink has not consumed: the retention minus the
// age of the oldest unconsumed record, or the whole retention when the
// sink is caught up; +Inf when the topic keeps records for ever. Kafka
// deletes whole segments once their newest record is past retention, so
// 0 means "due": the record may linger a while, never longer than its
// segment. ok is false when the oldest record's age is not known.
func SinkHeadroom(r TopicRetention, b SinkBacklog) (seconds float64, ok bool) {
	ret := r.Seconds()
	if math.IsInf(ret, 1) || b.CaughtUp {
		return ret, true
	}
	if !b.AgeKnown {
		return 0, false
	}
	return max(ret-b.Age.Seconds(), 0), true
}

// PartitionOffsets are one partition's offsets as the sink's group and
// the broker see them.
type PartitionOffsets struct {
	Partition int32
	// Committed is the group's committed offset: the next record the
	// sink will read.
	Committed int64
	// Start is the partition's log start offset: retention deleted
	// everything below it.
	Start int64
}

// Gap is how many records the partition deleted that the group had not
// consumed: the log start past the committed offset.
func (p PartitionOffsets) Gap() int64 { return max(p.Start-p.Committed, 0) }

// LossState is what RecordsLost remembers of a topic between two reads:
// each partition's last committed offset and gap, and the gaps of
// partitions that closed while others of the topic stayed open.
type LossState struct {
	last   map[int32]PartitionOffsets
	closed int64
}

// RecordsLost is the value of the records-lost counter of one topic,
// derived from Kafka's offsets so that it needs no memory of its own
// across restarts: the records currently lost, i.e. the sum over the
// partitions of log start minus committed offset when the start is past
// it. While a sink stays behind, retention only moves the log start
// forward, so the value only grows; when the sink skips the gap (its
// consumer resets to the log start and commits) it falls to 0, which
// Prometheus reads as a counter reset, so increase() counts each lost
// record once. A cdc-sentinel restart computes the same value again from
// the same offsets: nothing lost, nothing counted twice.
//
// One case needs memory: a partition whose gap closes (or closes and
// opens anew, which its committed offset moving tells) while another of
// the topic's partitions is still losing records. Its gap is carried in
// the state until the whole topic has closed, so the value does not
// fall and count the open gaps twice. A restart in exactly that window
// forgets the carried part: Prometheus then sees a reset and counts the
// still-open gaps again. That is the only double count, and docs say so.
func RecordsLost(prev LossState, parts []PartitionOffsets) (lost int64, next LossState) {
	next = LossState{last: make(map[int32]PartitionOffsets, len(parts)), closed: prev.closed}
	var open int64
	seen := make(map[int32]bool, len(parts))
	for _, p := range parts {
		seen[p.Partition] = true
		g := p.Gap()
		if old, ok := prev.last[p.Partition]; ok && old.Gap() > 0 && (old.Committed != p.Committed || g < old.Gap()) {
			// The sink moved past the old gap: that episode is over.
			next.closed += old.Gap()
		}
		open += g
		next.last[p.Partition] = p
	}
	for id, old := range prev.last {
		if !seen[id] {
			// A partition no longer read (reassigned, or the topic
			// re-created with fewer): its loss stays counted.
			next.closed += old.Gap()
		}
	}
	if open == 0 {
		// Every partition has caught past its gap: the counter resets.
		next.closed = 0
	}
	return open + next.closed, next
}
