package kafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// What sink lag costs a scrape against the real broker: one group
// committed 100 records behind on each of 48 partitions, read with the
// time lag (48 one-batch fetches) and without; the baseline is the end
// offset listing alone, which any lag reading needs.
//
//	CDC_INTEGRATION=1 go test -run XXX -bench GroupBacklogs -benchtime 50x ./internal/kafka/
func BenchmarkGroupBacklogs(b *testing.B) {
	c := realKafka(b)
	const parts = 48
	topic := fmt.Sprintf("it-kafka-bench-%d", time.Now().UnixNano())
	ctx := context.Background()
	if _, err := c.adm.CreateTopic(ctx, parts, 1, nil, topic); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.adm.DeleteTopics(context.Background(), topic) })
	pc, err := kgo.NewClient(kgo.SeedBrokers(brokers(b)...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	var recs []*kgo.Record
	for p := range int32(parts) {
		for i := range 200 {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: fmt.Appendf(nil, `{"id":%d,"payload":"some change event of a typical size, a few hundred bytes"}`, i)})
		}
	}
	if err := pc.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		b.Fatal(err)
	}
	group := "it-kafka-bench-" + topic
	offs := kadm.Offsets{}
	for p := range int32(parts) {
		offs.AddOffset(topic, p, 100, -1)
	}
	if err := c.adm.CommitAllOffsets(ctx, group, offs); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.adm.DeleteGroup(context.Background(), group) })

	b.Run("baseline-end-offsets", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.PartitionEnds(ctx, topic); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("records-only", func(b *testing.B) {
		for b.Loop() {
			if tl := c.GroupBacklogs(ctx, []string{group}, BacklogOptions{})[group].Topics[topic]; tl.Records != parts*100 {
				b.Fatalf("lag %d", tl.Records)
			}
		}
	})
	b.Run("records-and-time", func(b *testing.B) {
		for b.Loop() {
			if tl := c.GroupBacklogs(ctx, []string{group}, BacklogOptions{MaxTimeReads: 200, Parallel: 8})[group].Topics[topic]; !tl.OldestKnown {
				b.Fatal("age unknown")
			}
		}
	})
}
