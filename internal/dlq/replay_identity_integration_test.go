package dlq

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// realDLQ is a DLQ topic and an original topic of their own on the
// pipeline's Kafka.
type realDLQ struct {
	t          *testing.T
	cfg        config.Kafka
	kc         *kafka.Client
	prod       *kafka.Producer
	adm        *kadm.Client
	ctx        context.Context
	orig, dead string
	dir        string
}

func newRealDLQ(t *testing.T) *realDLQ {
	p := testenv.Need(t)
	cfg := config.Kafka{Brokers: strings.Split(p.KafkaBrokers, ","), Timeout: 10 * time.Second}
	kc, err := kafka.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	prod, err := kafka.NewProducer(cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	suffix := time.Now().UnixNano()
	w := &realDLQ{t: t, cfg: cfg, kc: kc, prod: prod, adm: kadm.NewClient(kc.Kgo()), ctx: ctx,
		orig: fmt.Sprintf("it-dlqid-orig-%d", suffix), dead: fmt.Sprintf("it-dlqid-dead-%d", suffix), dir: t.TempDir()}
	w.create(w.orig, w.dead)
	t.Cleanup(func() { w.adm.DeleteTopics(context.Background(), w.orig, w.dead) })
	return w
}

func (w *realDLQ) create(topics ...string) {
	w.t.Helper()
	for _, topic := range topics {
		// Right after a delete the broker may still know the old topic.
		for try := 0; ; try++ {
			_, err := w.adm.CreateTopic(w.ctx, 1, 1, nil, topic)
			if err == nil {
				break
			}
			if try > 60 {
				w.t.Fatalf("creating %s: %v", topic, err)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	waitLed(w.t, w.ctx, w.kc, topics...)
}

// deadLetter writes n original records (keys as key gives them) and
// dead-letters them as connector, the way Connect does.
func (w *realDLQ) deadLetter(connector string, n int, key func(i int) []byte) {
	w.t.Helper()
	var orig, dead []*kgo.Record
	for i := range n {
		orig = append(orig, &kgo.Record{Topic: w.orig, Key: key(i), Value: fmt.Appendf(nil, "%s-%d-%d", connector, i, time.Now().UnixNano())})
	}
	if _, err := w.prod.Produce(w.ctx, orig...); err != nil {
		w.t.Fatal(err)
	}
	for _, r := range orig {
		dead = append(dead, &kgo.Record{Topic: w.dead, Key: r.Key, Value: r.Value, Headers: []kgo.RecordHeader{
			{Key: HeaderTopic, Value: []byte(w.orig)},
			{Key: HeaderPartition, Value: []byte("0")},
			{Key: HeaderOffset, Value: fmt.Appendf(nil, "%d", r.Offset)},
			{Key: HeaderConnector, Value: []byte(connector)},
			{Key: HeaderStage, Value: []byte("TASK_PUT")},
		}})
	}
	if _, err := w.prod.Produce(w.ctx, dead...); err != nil {
		w.t.Fatal(err)
	}
}

func (w *realDLQ) replay(connector string, p Producer, opts ReplayOptions) (*ReplayReport, error) {
	w.t.Helper()
	l, err := OpenLedger(filepath.Join(w.dir, LedgerFile))
	if err != nil {
		w.t.Fatal(err)
	}
	defer l.Close()
	if p == nil {
		p = w.prod
	}
	return NewReplayer(Source{Cluster: "local", Connector: connector, Topic: w.dead}, w.kc, p, l, opts).Run(w.ctx)
}

// sent counts the replayed copies in the original topic by marker (with
// the DLQ topic's id).
func (w *realDLQ) sent() map[string]int {
	w.t.Helper()
	out := map[string]int{}
	for next := int64(0); ; {
		res, err := w.kc.ReadRecords(w.ctx, kafka.Partition{Topic: w.orig}, next, 500)
		if err != nil {
			w.t.Fatal(err)
		}
		for _, r := range res.Records {
			if m, id := Marker(r); m != "" {
				out[id+" "+m]++
			}
		}
		if len(res.Records) == 0 || res.Next <= next {
			return out
		}
		next = res.Next
	}
}

func (w *realDLQ) assertEachOnce(want int) {
	w.t.Helper()
	sent := w.sent()
	for m, n := range sent {
		if n != 1 {
			w.t.Errorf("%s sent %d times", m, n)
		}
	}
	if len(sent) != want {
		w.t.Errorf("%d DLQ records replayed, want %d: %v", len(sent), want, sent)
	}
}

// On the real broker: keyless records go back, a DLQ shared by two
// connectors is split by the connector header and each record goes back
// once whatever the flags, and after the DLQ topic is deleted and
// created again its new records (at the same offsets) are replayed.
func TestRealReplayKnowsTheDLQTopicByItsID(t *testing.T) {
	w := newRealDLQ(t)
	w.deadLetter("it-a", 3, func(int) []byte { return nil })
	w.deadLetter("it-b", 2, func(i int) []byte { return fmt.Appendf(nil, "b%d", i) })
	rep, err := w.replay("it-a", nil, ReplayOptions{CheckSuperseded: true})
	if err != nil || rep.Replayed != 3 || rep.OtherConnector != 2 {
		t.Fatalf("it-a: %+v, %v", rep, err)
	}
	if rep, err = w.replay("it-a", nil, ReplayOptions{}); err != nil || rep.Replayed != 0 || rep.AlreadyReplayed != 3 {
		t.Fatalf("it-a again without the check: %+v, %v", rep, err)
	}
	if rep, err = w.replay("it-b", nil, ReplayOptions{}); err != nil || rep.Replayed != 2 {
		t.Fatalf("it-b: %+v, %v", rep, err)
	}
	w.assertEachOnce(5)

	if _, err := w.adm.DeleteTopics(w.ctx, w.dead); err != nil {
		t.Fatal(err)
	}
	w.create(w.dead)
	// Connect's producer would be a new one too: this one's metadata
	// holds the deleted topic's id.
	fresh, err := kafka.NewProducer(w.cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fresh.Close)
	w.prod = fresh
	w.deadLetter("it-a", 4, func(i int) []byte { return fmt.Appendf(nil, "a%d", i) })
	rep, err = w.replay("it-a", nil, ReplayOptions{CheckSuperseded: true})
	if err != nil || rep.Replayed != 4 || rep.AlreadyReplayed != 0 {
		t.Fatalf("after the DLQ topic was recreated: %+v, %v", rep, err)
	}
	w.assertEachOnce(9)
}

// freezingDialer connects to the broker through connections whose
// answers stop once frozen: requests still reach Kafka (the records are
// written) but no answer comes back, a broker hung in the middle of a
// produce.
type freezingDialer struct {
	frozen atomic.Bool
}

type freezingConn struct {
	net.Conn
	d      *freezingDialer
	once   sync.Once
	closed chan struct{}
}

func (d *freezingDialer) dial(ctx context.Context, network, host string) (net.Conn, error) {
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, host)
	if err != nil {
		return nil, err
	}
	return &freezingConn{Conn: c, d: d, closed: make(chan struct{})}, nil
}

func (c *freezingConn) Read(b []byte) (int, error) {
	if c.d.frozen.Load() {
		<-c.closed
		return 0, net.ErrClosed
	}
	return c.Conn.Read(b)
}

func (c *freezingConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// freezeAfterFirst freezes the dialer once its first send was answered.
type freezeAfterFirst struct {
	p *kafka.Producer
	d *freezingDialer
}

func (f *freezeAfterFirst) Produce(ctx context.Context, recs ...*kgo.Record) ([]bool, error) {
	acked, err := f.p.Produce(ctx, recs...)
	f.d.frozen.Store(true)
	return acked, err
}

// On the real broker: a Kafka that stops answering in the middle of a
// replay fails the run at the delivery timeout with the acknowledged
// batch recorded; the next run finds the unacknowledged batch in the
// original topic and nothing goes twice.
func TestRealReplayAgainstAKafkaThatHangsMidProduce(t *testing.T) {
	w := newRealDLQ(t)
	w.deadLetter("it-a", 6, func(i int) []byte { return fmt.Appendf(nil, "k%d", i) })
	d := &freezingDialer{}
	hung, err := kafka.NewProducer(w.cfg, 2*time.Second, kgo.Dialer(d.dial))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := w.replay("it-a", &freezeAfterFirst{hung, d}, ReplayOptions{BatchSize: 3})
	hung.Close() // nothing of it may arrive after the next run looked
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "delivery timeout") || rep.Replayed != 3 {
		t.Fatalf("the hung send must fail at the delivery timeout with the first batch recorded: %+v, %v", rep, err)
	}
	rep, err = w.replay("it-a", nil, ReplayOptions{BatchSize: 3})
	if err != nil || rep.Recovered+rep.Resent != 3 || rep.Replayed != 0 {
		t.Fatalf("the next run finishes the hung batch: %+v, %v", rep, err)
	}
	w.assertEachOnce(6)
}
