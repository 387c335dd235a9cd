package doctor

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
	"github.com/cdc-sentinel/cdc-sentinel/internal/retention"
)

// KafkaTopics lists topics through the shared Kafka client, so TLS, SASL
// and timeouts come from the kafka section.
type KafkaTopics struct {
	adm *kadm.Client
	cl  *kafka.Client
}

// NewKafkaTopics uses cl, which stays the caller's to close.
func NewKafkaTopics(cl *kafka.Client) *KafkaTopics {
	return &KafkaTopics{adm: kadm.NewClient(cl.Kgo()), cl: cl}
}

// TopicRetentions reads the topics' retention settings as the sink
// retention collector does.
func (k *KafkaTopics) TopicRetentions(ctx context.Context, topics ...string) (map[string]retention.TopicRetention, func(string) error) {
	return k.cl.TopicRetentions(ctx, topics...)
}

// Topics returns the names of the cluster's topics, internal ones included.
func (k *KafkaTopics) Topics(ctx context.Context) (map[string]bool, error) {
	details, err := k.adm.ListTopicsWithInternal(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing topics: %w", err)
	}
	out := make(map[string]bool, len(details))
	var errs []error
	for name, d := range details {
		if d.Err != nil {
			errs = append(errs, fmt.Errorf("topic %s: %w", name, d.Err))
			continue
		}
		out[name] = true
	}
	if len(out) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}
