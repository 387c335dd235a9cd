package collector

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// The real JDBC sink, with errors.tolerance=all and a DLQ of its own,
// dead-letters records its converter cannot read; the collector counts
// them by the stage and exception Connect wrote in their headers.
func TestRealDLQErrorsCountsWhatTheSinkDeadLettered(t *testing.T) {
	p := testenv.Need(t)
	c := realClient(t, p)
	k := realKafka(t, p)
	name := "it-dlqerrors"
	dlqTopic := name + "-dlq"
	db := targetDB(t, p)
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
