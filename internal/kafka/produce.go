package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
)

// Producer writes records to the exact partitions they name, waiting for
// every in-sync replica (franz-go's idempotent producer, so a retried
// request is not written twice).
type Producer struct {
	kgo      *kgo.Client
	delivery time.Duration

	mu sync.Mutex
	// abandoned is set once a Produce stopped waiting for records still
	// in flight: later records could be written before them, so the
	// producer refuses to send more.
	abandoned error
}

// DefaultDeliveryTimeout bounds how long Produce waits for a record to
// be acknowledged when NewProducer is given none.
const DefaultDeliveryTimeout = 30 * time.Second

// ErrNotAcknowledged is a record's outcome when Produce stopped waiting
// for it (delivery timeout, or its context ended) while it was in
// flight: it may or may not have been written.
var ErrNotAcknowledged = errors.New("not acknowledged")

// NewProducer builds a producer for the configured cluster. delivery
// bounds how long one Produce waits (0: DefaultDeliveryTimeout): franz-go
// waits for ever for a broker that accepted the connection and never
// answers, since an idempotent producer cannot fail a request in flight.
func NewProducer(cfg config.Kafka, delivery time.Duration, extra ...kgo.Opt) (*Producer, error) {
	if delivery <= 0 {
		delivery = DefaultDeliveryTimeout
	}
	opts, err := Options(cfg)
	if err != nil {
		return nil, err
	}
	opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordDeliveryTimeout(max(delivery, time.Second))) // franz-go's least
	cl, err := kgo.NewClient(append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka producer: %w", err)
	}
	return &Producer{kgo: cl, delivery: delivery}, nil
}

// Produce sends recs and waits until each is acknowledged or failed, the
// delivery timeout passes or ctx ends, whichever comes first. acked[i]
// tells whether recs[i] was acknowledged; one that was not may still
// have been written when the wait ended with it in flight. After such an
// end the producer sends nothing more (close it and make a new one).
func (p *Producer) Produce(ctx context.Context, recs ...*kgo.Record) (acked []bool, err error) {
	p.mu.Lock()
	abandoned := p.abandoned
	p.mu.Unlock()
	acked = make([]bool, len(recs))
	if abandoned != nil {
		return acked, fmt.Errorf("producing: an earlier send was abandoned in flight: %w", abandoned)
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, p.delivery)
	defer cancel()

	var (
		mu     sync.Mutex
		wg     sync.WaitGroup
		states = make([]error, len(recs))
		done   = make([]bool, len(recs))
	)
	wg.Add(len(recs))
	for i, r := range recs {
		p.kgo.Produce(ctx, r, func(_ *kgo.Record, err error) {
			mu.Lock()
			states[i], done[i] = err, true
			mu.Unlock()
			wg.Done()
		})
	}
	all := make(chan struct{})
	go func() { wg.Wait(); close(all) }()
	select {
	case <-all:
	case <-ctx.Done():
	}
	// franz-go fails the records it had not sent yet when ctx ends, so
	// the wait can end either way; say which end it was.
	waitErr := ctx.Err()
	if waitErr != nil && parent.Err() == nil {
		waitErr = fmt.Errorf("no acknowledgement within the delivery timeout of %s: %w", p.delivery, waitErr)
	}

	mu.Lock()
	defer mu.Unlock()
	var errs []error
	inFlight := 0
	for i := range recs {
		switch {
		case !done[i]:
			inFlight++
		case states[i] == nil:
			acked[i] = true
		default:
			errs = append(errs, states[i])
		}
	}
	if inFlight > 0 {
		p.mu.Lock()
		p.abandoned = waitErr
		p.mu.Unlock()
		errs = append(errs, fmt.Errorf("%d of %d records %w: %w", inFlight, len(recs), ErrNotAcknowledged, waitErr))
	}
	if len(errs) > 0 {
		if waitErr != nil && inFlight == 0 {
			return acked, fmt.Errorf("producing: %w", waitErr)
		}
		return acked, fmt.Errorf("producing: %w", errors.Join(errs...))
	}
	return acked, nil
}

// Close releases connections; records still in flight are failed.
func (p *Producer) Close() { p.kgo.Close() }
