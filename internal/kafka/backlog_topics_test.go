package kafka

import (
	"errors"
	"testing"
	"time"
)

// The backlog per topic, without a broker: a deleted topic is left
// out, an unreadable end offset leaves the time unknown, and behind
// partitions beyond the read budget leave their topic's time unknown
// instead of reading part of it.
func TestTopicBacklogsFromCommittedAndEndOffsets(t *testing.T) {
	ends := map[Partition]int64{{"a", 0}: 10, {"a", 1}: 5, {"b", 0}: 7, {"c", 0}: 3}
	endOf := func(p Partition) (int64, error) {
		switch p.Topic {
		case "gone":
			return 0, errTopicGone
		case "broken":
			return 0, errors.New("leader not available")
		}
		return ends[p], nil
	}
	cm := map[Partition]int64{{"a", 0}: 4, {"a", 1}: 5, {"b", 0}: 1, {"c", 0}: 3, {"gone", 0}: 1, {"broken", 0}: 1}
	reads := timeReads{budget: 1, positions: map[Partition]int64{}}
	got := topicBacklogs("g", cm, endOf, &reads)
	if _, ok := got["gone"]; ok {
		t.Error("a deleted topic is reported")
	}
	if tl := got["broken"]; tl.Err == nil || tl.OldestKnown {
		t.Errorf("broken: %+v, want the error and no time", tl)
	}
	// Topics are taken in name order: a's one lagging partition fits the
	// budget of one read, b's does not.
	if tl := got["a"]; tl.Records != 6 || !tl.OldestKnown {
		t.Errorf("a: %+v, want 6 records behind, time to be read", tl)
	}
	if tl := got["b"]; tl.Records != 6 || tl.OldestKnown {
		t.Errorf("b: %+v, want 6 records behind, time over budget", tl)
	}
	if tl := got["c"]; tl.Records != 0 || !tl.OldestKnown {
		t.Errorf("c: %+v, want caught up", tl)
	}
	if len(reads.behind) != 1 || reads.behind[0] != (groupPartition{"g", Partition{"a", 0}}) || reads.positions[Partition{"a", 0}] != 4 {
		t.Errorf("reads %+v, want a[0] from offset 4", reads)
	}

	t0 := time.Unix(1700000000, 0)
	out := map[string]GroupBacklog{"g": {Group: "g", Topics: got}}
	fillOldest(out, reads.behind, map[Partition]TimeResult{{"a", 0}: {Time: t0}})
	if tl := out["g"].Topics["a"]; !tl.Oldest.Equal(t0) || !tl.OldestKnown {
		t.Errorf("a after the read: %+v, want oldest %v", tl, t0)
	}
	if tl := out["g"].Topics["b"]; !tl.Oldest.IsZero() {
		t.Errorf("b: oldest %v, want none when it is not known", tl.Oldest)
	}
}
