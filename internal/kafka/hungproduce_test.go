package kafka

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
)

// midProduceHang is a one-broker Kafka stand-in that answers what a
// producer asks before it produces (versions, metadata, a producer id)
// and then never answers the produce request itself: the records are in
// flight, which franz-go's idempotent producer cannot fail on its own.
type midProduceHang struct {
	addr     string
	produced chan struct{} // closed at the first produce request
	once     sync.Once
}

func newMidProduceHang(t *testing.T) *midProduceHang {
	t.Helper()
	b := &midProduceHang{produced: make(chan struct{})}
	b.addr = listen(t, b.serve)
	return b
}

func (b *midProduceHang) serve(c net.Conn) {
	r := bufio.NewReader(c)
	for {
		var size int32
		if binary.Read(r, binary.BigEndian, &size) != nil {
			return
		}
		frame := make([]byte, size)
		if _, err := io.ReadFull(r, frame); err != nil {
			return
		}
		key, version := int16(binary.BigEndian.Uint16(frame)), int16(binary.BigEndian.Uint16(frame[2:]))
		corr := frame[4:8]
		clientLen := int16(binary.BigEndian.Uint16(frame[8:]))
		body := frame[10+max(clientLen, 0):]
		req := kmsg.RequestForKey(key)
		if req == nil {
			return
		}
		req.SetVersion(version)
		if req.IsFlexible() {
			body = body[1:] // no tagged fields in the header
		}
		if err := req.ReadFrom(body); err != nil {
			return
		}
		resp := b.answer(req)
		if resp == nil {
			continue // the produce request: never answered
		}
		out := append([]byte{0, 0, 0, 0}, corr...)
		if resp.IsFlexible() && key != int16(kmsg.ApiVersions) {
			out = append(out, 0)
		}
		out = resp.AppendTo(out)
		binary.BigEndian.PutUint32(out, uint32(len(out)-4))
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

func (b *midProduceHang) answer(req kmsg.Request) kmsg.Response {
	switch req := req.(type) {
	case *kmsg.ApiVersionsRequest:
		resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
		for _, k := range []struct{ key, max int16 }{{int16(kmsg.ApiVersions), 3}, {int16(kmsg.Metadata), 9}, {int16(kmsg.InitProducerID), 4}, {int16(kmsg.Produce), 9}} {
			v := kmsg.NewApiVersionsResponseApiKey()
			v.ApiKey, v.MaxVersion = k.key, k.max
			resp.ApiKeys = append(resp.ApiKeys, v)
		}
		return resp
	case *kmsg.MetadataRequest:
		resp := req.ResponseKind().(*kmsg.MetadataResponse)
		host, port, _ := net.SplitHostPort(b.addr)
		p, _ := strconv.Atoi(port)
		br := kmsg.NewMetadataResponseBroker()
		br.NodeID, br.Host, br.Port = 0, host, int32(p)
		resp.Brokers = append(resp.Brokers, br)
		for _, rt := range req.Topics {
			t := kmsg.NewMetadataResponseTopic()
			t.Topic = rt.Topic
			pt := kmsg.NewMetadataResponseTopicPartition()
			pt.Replicas, pt.ISR = []int32{0}, []int32{0}
			t.Partitions = append(t.Partitions, pt)
			resp.Topics = append(resp.Topics, t)
		}
		return resp
	case *kmsg.InitProducerIDRequest:
		resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
		resp.ProducerID = 1
		return resp
	case *kmsg.ProduceRequest:
		b.once.Do(func() { close(b.produced) })
	}
	return nil
}

// The produce request reached the broker and no answer comes: Produce
// ends at the delivery timeout, none acknowledged, and refuses to send
// more behind the records it left in flight.
func TestProduceHungMidRequestEndsAtTheDeliveryTimeout(t *testing.T) {
	b := newMidProduceHang(t)
	p, err := NewProducer(config.Kafka{Brokers: []string{b.addr}, Timeout: time.Hour}, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	acked, err := p.Produce(context.Background(), &kgo.Record{Topic: "t", Value: []byte("a")}, &kgo.Record{Topic: "t", Value: []byte("b")})
	select {
	case <-b.produced:
	default:
		t.Fatalf("the broker never saw the produce request: %v", err)
	}
	if !errors.Is(err, ErrNotAcknowledged) || !strings.Contains(err.Error(), "delivery timeout of 2s") || acked[0] || acked[1] {
		t.Errorf("acked %v, err %v", acked, err)
	}
	if _, err := p.Produce(context.Background(), &kgo.Record{Topic: "t"}); err == nil || !strings.Contains(err.Error(), "abandoned in flight") {
		t.Errorf("a producer that left records in flight must refuse more: %v", err)
	}
}

// SIGTERM while the produce request waits for its answer ends the wait.
func TestProduceHungMidRequestEndsWhenCancelled(t *testing.T) {
	b := newMidProduceHang(t)
	p, err := NewProducer(config.Kafka{Brokers: []string{b.addr}, Timeout: time.Hour}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-b.produced
		cancel()
	}()
	_, err = p.Produce(ctx, &kgo.Record{Topic: "t", Value: []byte("a")})
	if !errors.Is(err, ErrNotAcknowledged) || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}
