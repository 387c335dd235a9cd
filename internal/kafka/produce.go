package kafka

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
)

// Producer writes records to the exact partitions they name, waiting for
// every in-sync replica (franz-go's idempotent producer, so a retried
// request is not written twice).
type Producer struct {
	kgo *kgo.Client
}

// NewProducer builds a producer for the configured cluster.
func NewProducer(cfg config.Kafka, extra ...kgo.Opt) (*Producer, error) {
	opts, err := Options(cfg)
	if err != nil {
		return nil, err
	}
	opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RequiredAcks(kgo.AllISRAcks()))
	cl, err := kgo.NewClient(append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka producer: %w", err)
	}
	return &Producer{kgo: cl}, nil
}

// Produce sends recs and waits until each is acknowledged or failed.
func (p *Producer) Produce(ctx context.Context, recs ...*kgo.Record) error {
	if err := p.kgo.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("producing: %w", err)
	}
	return nil
}

// Close flushes nothing (Produce waits) and releases connections.
func (p *Producer) Close() { p.kgo.Close() }
