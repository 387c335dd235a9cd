package kafka

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
)

// hangingBroker accepts connections and never answers.
func hangingBroker(t *testing.T) string { return listen(t, nil) }

// listen accepts connections on a local port, hands each to serve (none:
// held open, never answered) and closes them all at the test's end.
func listen(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		held []net.Conn
	)
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	go func() {
		for c, err := ln.Accept(); err == nil; c, err = ln.Accept() {
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
			if serve != nil {
				go serve(c)
			}
		}
	}()
	return ln.Addr().String()
}

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
