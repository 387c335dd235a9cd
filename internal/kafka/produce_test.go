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

// hangingBroker accepts connections and never answers.
func hangingBroker(t *testing.T) string { return kafkatest.Listen(t, nil) }

// franz-go waits for ever on a broker that never answers; Produce ends at
// its delivery timeout instead and says no record was acknowledged.
func TestProduceToAHangingBrokerEndsAtTheDeliveryTimeout(t *testing.T) {
	p, err := NewProducer(config.Kafka{Brokers: []string{hangingBroker(t)}, Timeout: time.Hour}, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	acked, err := p.Produce(context.Background(), &kgo.Record{Topic: "t", Value: []byte("a")}, &kgo.Record{Topic: "t", Value: []byte("b")})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "delivery timeout of 200ms") {
		t.Errorf("err = %v", err)
	}
	if len(acked) != 2 || acked[0] || acked[1] {
		t.Errorf("acked = %v", acked)
	}
	if _, err := p.Produce(context.Background(), &kgo.Record{Topic: "t"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second send: %v", err)
	}
}

// Cancelling (SIGTERM) ends the wait at once, whatever the delivery
// timeout.
func TestProduceEndsWhenItsContextIsCancelled(t *testing.T) {
	p, err := NewProducer(config.Kafka{Brokers: []string{hangingBroker(t)}, Timeout: time.Hour}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(50 * time.Millisecond)
		cancel()
	}()
	_, err = p.Produce(ctx, &kgo.Record{Topic: "t", Value: []byte("a")})
	if !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "delivery timeout") {
		t.Errorf("err = %v", err)
	}
}
