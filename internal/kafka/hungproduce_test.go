package kafka

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka/kafkatest"
)

// The produce request reached the broker and no answer comes: Produce
// ends at the delivery timeout, none acknowledged, and refuses to send
// more behind the records it left in flight.
func TestProduceHungMidRequestEndsAtTheDeliveryTimeout(t *testing.T) {
	b := kafkatest.HungProduce(t)
	p, err := NewProducer(config.Kafka{Brokers: []string{b.Addr}, Timeout: time.Hour}, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	acked, err := p.Produce(context.Background(), &kgo.Record{Topic: "t", Value: []byte("a")}, &kgo.Record{Topic: "t", Value: []byte("b")})
	select {
	case <-b.Produced:
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
	b := kafkatest.HungProduce(t)
	p, err := NewProducer(config.Kafka{Brokers: []string{b.Addr}, Timeout: time.Hour}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-b.Produced
		cancel()
	}()
	_, err = p.Produce(ctx, &kgo.Record{Topic: "t", Value: []byte("a")})
	if !errors.Is(err, ErrNotAcknowledged) || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}
