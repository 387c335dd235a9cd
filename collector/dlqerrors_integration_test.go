package collector

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect/connecttest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// The real JDBC sink, with errors.tolerance=all and a DLQ of its own,
// dead-letters records its converter cannot read; the collector counts
// them by the stage and exception Connect wrote in their headers.
func TestRealDLQErrorsCountsWhatTheSinkDeadLettered(t *testing.T) {
	p := testenv.Need(t)
	c := connecttest.Local(t, p)
	k := realKafka(t, p)
	name := "it-dlqerrors"
	dlqTopic := name + "-dlq"
	db := p.TargetDB(t)
	db.Exec(`DROP TABLE IF EXISTS it_dlqerrors`)
	t.Cleanup(func() { db.Exec(`DROP TABLE IF EXISTS it_dlqerrors`) })
	// A DLQ left by an earlier run would be counted from its end; delete
	// it so that this run also covers a topic created while watched.
	deleteTopic(t, k, dlqTopic)
	createTopic(t, k, name)
	testSink(t, p, c, name, "it_dlqerrors", map[string]string{
		"schema.evolution":                                "basic",
		"errors.tolerance":                                "all",
		"errors.deadletterqueue.topic.name":               dlqTopic,
		"errors.deadletterqueue.topic.replication.factor": "1",
		"errors.deadletterqueue.context.headers.enable":   "true",
	})
	t.Cleanup(func() { deleteTopic(t, k, dlqTopic) })
	col := NewDLQErrorsCollector(k, c)
	scrape := func() string {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return collect(t, ctx, col)
	}
	scrape() // the collector starts watching

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	good := sinkRecords(name, 1, 1)[0]
	var bad []*kgo.Record
	for range 3 {
		bad = append(bad, &kgo.Record{Topic: name, Key: good.Key, Value: []byte("not json {")})
	}
	if err := k.Kgo().ProduceSync(ctx, bad...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	want := `cdc_dlq_errors_total{connect_cluster="local",connector="` + name + `",exception="org.apache.kafka.connect.errors.DataException",stage="VALUE_CONVERTER",topic="` + dlqTopic + `"} 3`
	deadline := time.Now().Add(120 * time.Second)
	for {
		out := scrape()
		if strings.Contains(out, want) {
			if !strings.Contains(out, `cdc_dlq_errors_skipped_total{connect_cluster="local",connector="`+name+`",topic="`+dlqTopic+`"} 0`) {
				t.Errorf("nothing may be skipped:\n%s", grepAll(out, "cdc_dlq_errors"))
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 120s:\n%s", want, grepAll(out, "cdc_dlq_errors", "cdc_scrape_collector_success"))
		}
		time.Sleep(time.Second)
	}
}

// deleteTopic deletes topic if it exists and waits until it is gone.
func deleteTopic(t *testing.T, k *kafka.Client, topic string) {
	t.Helper()
	adm := kadm.NewClient(k.Kgo())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm.DeleteTopics(ctx, topic)
	for ctx.Err() == nil {
		ends, err := k.PartitionEnds(ctx, topic)
		if err == nil && !ends[topic].Exists {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("topic %s still there after 30s", topic)
}

// createTopic creates a topic of one partition for a test's own sink
// (franz-go does not create topics by producing to them).
func createTopic(t *testing.T, k *kafka.Client, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(k.Kgo()).CreateTopic(ctx, 1, 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		t.Fatalf("creating topic %s: %v", topic, err)
	}
}

// What reading DLQ reasons costs a scrape on the real broker: 500 new
// dead-lettered records (the per-scrape bound, with Connect's context
// headers and a 2 KiB stack trace each) against the baseline of a scrape
// that finds none.
//
//	CDC_INTEGRATION=1 go test -run XXX -bench DLQErrorsScrape -benchtime 20x ./collector/
func BenchmarkDLQErrorsScrape(b *testing.B) {
	p := testenv.Need(b)
	k, err := kafka.New(config.Kafka{Brokers: strings.Split(p.KafkaBrokers, ","), Timeout: 10 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer k.Close()
	topic := fmt.Sprintf("it-dlq-bench-%d", time.Now().UnixNano())
	adm := kadm.NewClient(k.Kgo())
	if _, err := adm.CreateTopic(context.Background(), 1, 1, nil, topic); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { adm.DeleteTopics(context.Background(), topic) })
	cluster := &fakeCluster{name: "prod", conns: []connect.Connector{sinkWithDLQ("s", topic)}}
	c := NewDLQErrorsCollector(k, cluster)
	scrape := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ch := make(chan prometheus.Metric, 100)
		go func() {
			for range ch {
			}
		}()
		if err := c.Collect(ctx, ch); err != nil {
			b.Fatal(err)
		}
		close(ch)
	}
	trace := []byte(strings.Repeat("\tat org.apache.kafka.connect.runtime.WorkerSinkTask.convertAndTransformRecord(WorkerSinkTask.java:550)\n", 20))
	var recs []*kgo.Record
	for i := range dlqReadPerPartition {
		recs = append(recs, &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, `{"id":%d,"payload":"a change event of a typical size"}`, i), Headers: []kgo.RecordHeader{
			{Key: "__connect.errors.topic", Value: []byte("sql.dbo.orders")},
			{Key: "__connect.errors.partition", Value: []byte("0")},
			{Key: "__connect.errors.offset", Value: fmt.Appendf(nil, "%d", i)},
			{Key: "__connect.errors.stage", Value: []byte("VALUE_CONVERTER")},
			{Key: "__connect.errors.exception.class.name", Value: []byte("org.apache.kafka.connect.errors.DataException")},
			{Key: "__connect.errors.exception.message", Value: []byte("Converting byte[] to Kafka Connect data failed due to serialization error")},
			{Key: "__connect.errors.exception.stacktrace", Value: trace},
		}})
	}
	produce := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		fresh := make([]*kgo.Record, len(recs)) // a produced record keeps its context
		for i, r := range recs {
			fresh[i] = &kgo.Record{Topic: r.Topic, Value: r.Value, Headers: r.Headers}
		}
		if err := k.Kgo().ProduceSync(ctx, fresh...).FirstErr(); err != nil {
			b.Fatal(err)
		}
	}
	scrape() // starts watching at the end
	b.Run("baseline-nothing-new", func(b *testing.B) {
		for b.Loop() {
			scrape()
		}
	})
	b.Run("500-new-records", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			produce()
			b.StartTimer()
			scrape()
		}
	})
}
