package kafka

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/cdc-sentinel/cdc-sentinel/internal/retention"
)

// Retention is stood for by the admin API's DeleteRecords, which moves a
// partition's log start exactly as retention does: a stopped group's
// committed offset is then below it.
func TestGroupBacklogsReadLogStartsAndRetentionOfTheCommittedTopics(t *testing.T) {
	c := realKafka(t)
	topic := freshTopic(t, c, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("3600000")},
		{Op: kadm.SetConfig, Name: "retention.bytes", Value: kadm.StringPtr("1073741824")},
	}, topic); err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-10 * time.Minute).Truncate(time.Millisecond)
	produceTo(t, c, topic, 0, 60, base)
	produceTo(t, c, topic, 1, 5, base)
	group := "it-kafka-retention-" + topic
	offs := kadm.Offsets{}
	offs.AddOffset(topic, 0, 10, -1) // the sink stopped at 10
	offs.AddOffset(topic, 1, 5, -1)  // caught up
	if err := c.adm.CommitAllOffsets(ctx, group, offs); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.adm.DeleteGroup(context.Background(), group) })
	del := kadm.Offsets{}
	del.AddOffset(topic, 0, 50, -1)
	if _, err := c.adm.DeleteRecords(ctx, del); err != nil {
		t.Fatal(err)
	}

	gl := c.GroupBacklogs(ctx, []string{group}, BacklogOptions{MaxTimeReads: 10, Parallel: 2, Retention: true})[group]
	if gl.Err != nil {
		t.Fatal(gl.Err)
	}
	tl := gl.Topics[topic]
	rr := tl.Retention
	if rr == nil || rr.ConfigErr != nil || rr.StartErr != nil {
		t.Fatalf("retention not read: %+v", rr)
	}
	if want := (retention.TopicRetention{Ms: 3600000, Bytes: 1 << 30, Delete: true}); rr.Config != want {
		t.Errorf("configuration %+v, want %+v", rr.Config, want)
	}
	lost, _ := retention.RecordsLost(retention.LossState{}, rr.Offsets)
	if lost != 40 {
		t.Errorf("records lost %d, want 40 (log start 50, committed 10); offsets %+v", lost, rr.Offsets)
	}
	// The oldest record the sink can still read is the new log start's.
	if !tl.OldestKnown || !tl.Oldest.Equal(base.Add(50*time.Second)) {
		t.Errorf("oldest unconsumed %v (known %v), want %v", tl.Oldest, tl.OldestKnown, base.Add(50*time.Second))
	}
	now := time.Now()
	h, ok := retention.SinkHeadroom(rr.Config, retention.SinkBacklog{Age: now.Sub(tl.Oldest), AgeKnown: tl.OldestKnown})
	if want := 3600 - now.Sub(base.Add(50*time.Second)).Seconds(); !ok || math.Abs(h-want) > 1 {
		t.Errorf("headroom %v (ok %v), want about %v", h, ok, want)
	}

	// Without asking, nothing more is read.
	if tl := c.GroupBacklogs(ctx, []string{group}, BacklogOptions{})[group].Topics[topic]; tl.Retention != nil {
		t.Errorf("retention read without being asked: %+v", tl.Retention)
	}
}
