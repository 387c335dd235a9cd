package kafka

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// These tests run against the local pipeline's real Kafka broker, on
// topics and groups of their own.

func realKafka(t testing.TB) *Client {
	t.Helper()
	p := testenv.Need(t)
	if p.KafkaBrokers == "" {
		t.Fatal("the pipeline's env names no Kafka brokers")
	}
	c, err := New(config.Kafka{Brokers: strings.Split(p.KafkaBrokers, ","), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func brokers(t testing.TB) []string {
	return strings.Split(testenv.Need(t).KafkaBrokers, ",")
}

// freshTopic creates a topic of partitions named after the test and
// deletes it when the test ends.
func freshTopic(t *testing.T, c *Client, partitions int32) string {
	t.Helper()
	name := fmt.Sprintf("it-kafka-%s-%d", strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.adm.CreateTopic(ctx, partitions, 1, nil, name); err != nil {
		t.Fatalf("creating %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c.adm.DeleteTopics(ctx, name)
	})
	return name
}

// produceTo writes n records to partition p of topic, with timestamps
// starting at ts and one second apart.
func produceTo(t *testing.T, c *Client, topic string, p int32, n int, ts time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: fmt.Appendf(nil, "v%d", i), Timestamp: ts.Add(time.Duration(i) * time.Second)})
	}
	pc, err := kgo.NewClient(kgo.SeedBrokers(brokers(t)...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if err := pc.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("producing to %s[%d]: %v", topic, p, err)
	}
}

func TestGroupBacklogsCountsRecordsAndFindsTheOldestUnconsumed(t *testing.T) {
	c := realKafka(t)
	topic := freshTopic(t, c, 3)
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	produceTo(t, c, topic, 0, 10, base)                   // ts base .. base+9s
	produceTo(t, c, topic, 1, 5, base.Add(time.Minute))   // ts base+60s ..
	produceTo(t, c, topic, 2, 4, base.Add(2*time.Minute)) // consumed entirely
	group := "it-kafka-lag-" + topic
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	offs := kadm.Offsets{}
	offs.AddOffset(topic, 0, 7, -1) // 3 behind, next record base+7s
	offs.AddOffset(topic, 1, 1, -1) // 4 behind, next record base+61s
	offs.AddOffset(topic, 2, 4, -1) // caught up
	if err := c.adm.CommitAllOffsets(ctx, group, offs); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.adm.DeleteGroup(context.Background(), group) })

	lags := c.GroupBacklogs(ctx, []string{group, "it-kafka-no-such-group"}, BacklogOptions{MaxTimeReads: 10, Parallel: 2})
	gl := lags[group]
	if gl.Err != nil {
		t.Fatal(gl.Err)
	}
	tl, ok := gl.Topics[topic]
	if !ok {
		t.Fatalf("no backlog for %s: %+v", topic, gl)
	}
	if tl.Err != nil || tl.Records != 7 {
		t.Errorf("records behind = %d (err %v), want 7", tl.Records, tl.Err)
	}
	if !tl.OldestKnown || !tl.Oldest.Equal(base.Add(7*time.Second)) {
		t.Errorf("oldest unconsumed = %v (known %v), want %v", tl.Oldest, tl.OldestKnown, base.Add(7*time.Second))
	}
	if other := lags["it-kafka-no-such-group"]; other.Err != nil || len(other.Topics) != 0 {
		t.Errorf("a group with no commits has no backlog and no error: %+v", other)
	}

	// Over the read budget: the record count stays, the age is unknown.
	lags = c.GroupBacklogs(ctx, []string{group}, BacklogOptions{MaxTimeReads: 1, Parallel: 1})
	if tl := lags[group].Topics[topic]; tl.Records != 7 || tl.OldestKnown {
		t.Errorf("with one read for two lagging partitions: %+v", tl)
	}
}

func TestGroupBacklogsLeavesOutADeletedTopic(t *testing.T) {
	c := realKafka(t)
	topic := freshTopic(t, c, 1)
	produceTo(t, c, topic, 0, 2, time.Now())
	group := "it-kafka-lag-" + topic
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	offs := kadm.Offsets{}
	offs.AddOffset(topic, 0, 1, -1)
	if err := c.adm.CommitAllOffsets(ctx, group, offs); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.adm.DeleteGroup(context.Background(), group) })
	if _, err := c.adm.DeleteTopics(ctx, topic); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		gl := c.GroupBacklogs(ctx, []string{group}, BacklogOptions{MaxTimeReads: 10, Parallel: 1})[group]
		if gl.Err == nil && len(gl.Topics) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a deleted topic still has a backlog: %+v", gl)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func TestReadRecordsReadsOnlyAndFromTheStart(t *testing.T) {
	c := realKafka(t)
	topic := freshTopic(t, c, 1)
	base := time.Now().Truncate(time.Millisecond)
	produceTo(t, c, topic, 0, 5, base)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.ReadRecords(ctx, Partition{topic, 0}, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 3 || res.Records[0].Offset != 1 || string(res.Records[2].Value) != "v3" || res.Next != 4 || res.End != 5 {
		t.Fatalf("read %d records from 1, next %d, end %d", len(res.Records), res.Next, res.End)
	}
	res, err = c.ReadRecords(ctx, Partition{topic, 0}, 4, 100)
	if err != nil || len(res.Records) != 1 || res.Next != 5 {
		t.Fatalf("reading to the end: %d records, next %d, err %v", len(res.Records), res.Next, err)
	}
	res, err = c.ReadRecords(ctx, Partition{topic, 0}, 5, 100)
	if err != nil || len(res.Records) != 0 || res.Next != 5 {
		t.Fatalf("reading at the end: %d records, next %d, err %v", len(res.Records), res.Next, err)
	}
}

// A partition whose next batch is larger than its share of the shared
// Fetch still gets its time: whole in the shared Fetch when the broker
// takes it first, else read alone after.
func TestRecordTimesReadsABatchLargerThanItsShare(t *testing.T) {
	c := realKafka(t)
	topic := freshTopic(t, c, 2)
	base := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	produceTo(t, c, topic, 1, 3, base)
	pc, err := kgo.NewClient(kgo.SeedBrokers(brokers(t)...), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchMaxBytes(4<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	big := &kgo.Record{Topic: topic, Partition: 0, Value: make([]byte, 3*firstRecordShare), Timestamp: base.Add(time.Hour)}
	if err := pc.ProduceSync(ctx, big).FirstErr(); err != nil {
		t.Fatal(err)
	}
	got := c.RecordTimes(ctx, map[Partition]int64{{topic, 0}: 0, {topic, 1}: 1}, 2)
	if r := got[Partition{topic, 0}]; r.Err != nil || !r.Time.Equal(base.Add(time.Hour)) {
		t.Errorf("large batch: %+v", r)
	}
	if r := got[Partition{topic, 1}]; r.Err != nil || !r.Time.Equal(base.Add(time.Second)) || r.Offset != 1 {
		t.Errorf("small batch: %+v", r)
	}
}
