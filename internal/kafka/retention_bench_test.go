package kafka

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// What the sink retention reads add to a scrape at 2,000 sink connectors
// against the real broker: 2,000 groups, each committed 10 records
// behind on one of 100 two-partition topics, read as the sink collectors
// read them (committed offsets, end offsets, the oldest record's time
// within 200 reads) without and with the log starts and topic
// configurations, interleaved round by round; it reports both medians
// and their ratio:
//
//	CDC_INTEGRATION=1 go test -run XXX -bench SinkRetentionAt2000 -benchtime 40x ./internal/kafka/
func BenchmarkSinkRetentionAt2000Connectors(b *testing.B) {
	c := realKafka(b)
	const topics, parts, groups = 100, 2, 2000
	ctx := context.Background()
	prefix := fmt.Sprintf("it-kafka-retbench-%d", time.Now().UnixNano())
	names := make([]string, topics)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	if _, err := c.adm.CreateTopics(ctx, parts, 1, nil, names...); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.adm.DeleteTopics(context.Background(), names...) })
	pc, err := kgo.NewClient(kgo.SeedBrokers(brokers(b)...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	var recs []*kgo.Record
	for _, t := range names {
		for p := range int32(parts) {
			for i := range 20 {
				recs = append(recs, &kgo.Record{Topic: t, Partition: p, Value: fmt.Appendf(nil, `{"id":%d}`, i)})
			}
		}
	}
	if err := pc.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		b.Fatal(err)
	}
	gs := make([]string, groups)
	for g := range gs {
		gs[g] = fmt.Sprintf("%s-g%04d", prefix, g)
		offs := kadm.Offsets{}
		for p := range int32(parts) {
			offs.AddOffset(names[g%topics], p, 10, -1)
		}
		if err := c.adm.CommitAllOffsets(ctx, gs[g], offs); err != nil {
			b.Fatal(err)
		}
	}
	b.Cleanup(func() { c.adm.DeleteGroups(context.Background(), gs...) })
	read := func(retention bool) time.Duration {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		start := time.Now()
		got := c.GroupBacklogs(sctx, gs, BacklogOptions{MaxTimeReads: 200, Parallel: 8, Retention: retention})
		took := time.Since(start)
		tl := got[gs[0]].Topics[names[0]]
		if tl.Records != parts*10 || (retention && (tl.Retention == nil || tl.Retention.StartErr != nil || tl.Retention.ConfigErr != nil)) {
			b.Fatalf("read %+v", tl)
		}
		return took
	}
	// Interleaved, one read of each per round, so that load from other
	// work on the machine falls on both alike; medians reported.
	var only, with []time.Duration
	for b.Loop() {
		only = append(only, read(false))
		with = append(with, read(true))
	}
	mo, mw := median(only), median(with)
	b.ReportMetric(float64(mo.Microseconds())/1000, "ms-backlog-only")
	b.ReportMetric(float64(mw.Microseconds())/1000, "ms-with-retention")
	b.ReportMetric(float64(mw)/float64(mo), "ratio")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
