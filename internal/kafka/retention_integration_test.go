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
	deleteBelow(t, c, topic, 0, 50)

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

// Records deleted before a read reaches them (retention, stood for by
// DeleteRecords) are skipped: the read starts at the log start and says
// how many offsets it passed over.
func TestReadRecordsBelowTheLogStartStartsThereAndCountsWhatItSkipped(t *testing.T) {
	c := realKafka(t)
	topic := freshTopic(t, c, 1)
	produceTo(t, c, topic, 0, 30, time.Now().Add(-time.Hour))
	deleteBelow(t, c, topic, 0, 20)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.ReadRecords(ctx, Partition{Topic: topic}, 5, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 10 || res.Records[0].Offset != 20 || res.Start != 20 || res.End != 30 || res.Next != 30 || res.Skipped != 15 {
		t.Fatalf("read from 5 after deleting below 20: %d records from %v, start %d, end %d, next %d, skipped %d; want 10 from 20, start 20, end 30, next 30, skipped 15",
			len(res.Records), firstOffset(res), res.Start, res.End, res.Next, res.Skipped)
	}

	// A read at or above the log start skips nothing.
	res, err = c.ReadRecords(ctx, Partition{Topic: topic}, 25, 100)
	if err != nil || len(res.Records) != 5 || res.Skipped != 0 {
		t.Fatalf("read from 25: %v, %d records, skipped %d; want 5, none skipped", err, len(res.Records), res.Skipped)
	}
}

func firstOffset(res ReadResult) any {
	if len(res.Records) == 0 {
		return "none"
	}
	return res.Records[0].Offset
}

// deleteBelow moves partition p's log start to offset with the admin
// API's DeleteRecords, exactly as retention moves it.
func deleteBelow(t *testing.T, c *Client, topic string, p int32, offset int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	del := kadm.Offsets{}
	del.AddOffset(topic, p, offset, -1)
	resp, err := c.adm.DeleteRecords(ctx, del)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("deleting %s[%d] below %d: %v", topic, p, offset, err)
	}
}
