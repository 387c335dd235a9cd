package dlq

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// cutProducer sends only the first n records of its first call and then
// fails, as a replay killed in the middle of a batch would leave things.
type cutProducer struct {
	p    *kafka.Producer
	n    int
	used bool
}

func (c *cutProducer) Produce(ctx context.Context, recs ...*kgo.Record) ([]bool, error) {
	if c.used {
		return c.p.Produce(ctx, recs...)
	}
	c.used = true
	if _, err := c.p.Produce(ctx, recs[:c.n]...); err != nil {
		return make([]bool, len(recs)), err
	}
	return make([]bool, len(recs)), errors.New("killed")
}

// On the real broker: a replay cut after 2 of a batch of 5 is finished by
// the next run from the markers it finds in the original topic, and
// every DLQ record arrives exactly once.
func TestRealReplayCutShortIsFinishedExactlyOnce(t *testing.T) {
	p := testenv.Need(t)
	cfg := config.Kafka{Brokers: strings.Split(p.KafkaBrokers, ","), Timeout: 10 * time.Second}
	kc, err := kafka.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	prod, err := kafka.NewProducer(cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	adm := kadm.NewClient(kc.Kgo())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	suffix := time.Now().UnixNano()
	orig, dlqTopic := fmt.Sprintf("it-dlq-orig-%d", suffix), fmt.Sprintf("it-dlq-dead-%d", suffix)
	for _, topic := range []string{orig, dlqTopic} {
		if _, err := adm.CreateTopic(ctx, 1, 1, nil, topic); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { adm.DeleteTopics(context.Background(), orig, dlqTopic) })
	waitLed(t, ctx, kc, orig, dlqTopic)

	// Seven original records, all dead-lettered the way Connect does it.
	var origRecs, dead []*kgo.Record
	for i := range 7 {
		origRecs = append(origRecs, &kgo.Record{Topic: orig, Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "v%d", i)})
	}
	if _, err := prod.Produce(ctx, origRecs...); err != nil {
		t.Fatal(err)
	}
	for _, r := range origRecs {
		dead = append(dead, &kgo.Record{Topic: dlqTopic, Key: r.Key, Value: r.Value, Headers: []kgo.RecordHeader{
			{Key: HeaderTopic, Value: []byte(orig)},
			{Key: HeaderPartition, Value: []byte("0")},
			{Key: HeaderOffset, Value: fmt.Appendf(nil, "%d", r.Offset)},
			{Key: HeaderStage, Value: []byte("TASK_PUT")},
			{Key: HeaderConnector, Value: []byte("it-sink")},
		}})
	}
	if _, err := prod.Produce(ctx, dead...); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	src := Source{Cluster: "local", Connector: "it-sink", Topic: dlqTopic}
	run := func(p Producer) (*ReplayReport, error) {
		l, err := OpenLedger(filepath.Join(dir, LedgerFile))
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return NewReplayer(src, kc, p, l, ReplayOptions{BatchSize: 5, CheckSuperseded: true}).Run(ctx)
	}
	if _, err := run(&cutProducer{p: prod, n: 2}); err == nil {
		t.Fatal("the cut replay must fail")
	}
	rep, err := run(prod)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Recovered != 2 || rep.Resent != 3 || rep.Replayed != 2 {
		t.Errorf("recovery: %+v", rep)
	}
	res, err := kc.ReadRecords(ctx, kafka.Partition{Topic: orig}, 7, 100)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, r := range res.Records {
		for _, h := range r.Headers {
			if h.Key == MarkerHeader {
				seen[string(h.Value)]++
			}
		}
	}
	if len(res.Records) != 7 || len(seen) != 7 {
		t.Fatalf("%d records replayed, %d distinct markers, want 7 and 7: %v", len(res.Records), len(seen), seen)
	}
	for m, n := range seen {
		if n != 1 {
			t.Errorf("%s sent %d times", m, n)
		}
	}
	// The ledger remembers all seven: nothing is sent again.
	rep, err = run(prod)
	if err != nil || rep.Replayed != 0 || rep.AlreadyReplayed != 7 {
		t.Errorf("third run: %+v, %v", rep, err)
	}
}
