package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TopicPartitions are the end offsets of each partition of a topic.
type TopicPartitions struct {
	// Ends holds each readable partition's end offset (high watermark),
	// or its log start offset when read by PartitionStarts.
	Ends map[int32]int64
	// Exists is false when the brokers do not know the topic.
	Exists bool
	// Err is set when some partition's end offset could not be read
	// (its leader did not answer, say); Ends holds the others.
	Err error
}

// PartitionEnds reads the end offset of every partition of topics. A
// broker that does not answer leaves out only the partitions it leads:
// they are in the topic's Err, and the rest are in Ends.
func (c *Client) PartitionEnds(ctx context.Context, topics ...string) (map[string]TopicPartitions, error) {
	return c.partitionOffsets(ctx, "end", c.adm.ListEndOffsets, topics)
}

// PartitionStarts reads the log start offset of every partition of
// topics (what retention has not deleted yet starts there), in Ends,
// as PartitionEnds does.
func (c *Client) PartitionStarts(ctx context.Context, topics ...string) (map[string]TopicPartitions, error) {
	return c.partitionOffsets(ctx, "start", c.adm.ListStartOffsets, topics)
}

func (c *Client) partitionOffsets(ctx context.Context, what string, list func(context.Context, ...string) (kadm.ListedOffsets, error), topics []string) (map[string]TopicPartitions, error) {
	out := make(map[string]TopicPartitions, len(topics))
	if len(topics) == 0 {
		return out, nil
	}
	listed, err := list(ctx, topics...)
	var shardErrs *kadm.ShardErrors
	if err != nil && !(errors.As(err, &shardErrs) && !shardErrs.AllFailed) {
		return nil, fmt.Errorf("listing %s offsets: %w", what, err)
	}
	for _, t := range topics {
		tp := TopicPartitions{Ends: map[int32]int64{}, Exists: true}
		parts, ok := listed[t]
		if !ok {
			tp.Err = fmt.Errorf("%s offsets of %s: no answer", what, t)
			out[t] = tp
			continue
		}
		for _, p := range parts {
			switch {
			case p.Partition == -1 && errors.Is(p.Err, kerr.UnknownTopicOrPartition):
				tp.Exists = false
			case p.Err != nil:
				tp.Err = errors.Join(tp.Err, fmt.Errorf("%s offset of %s[%d]: %w", what, t, p.Partition, p.Err))
			default:
				tp.Ends[p.Partition] = p.Offset
			}
		}
		out[t] = tp
	}
	// A broker that did not answer: its partitions are missing above
	// without an error of their own.
	if shardErrs != nil {
		for _, se := range shardErrs.Errs {
			req, ok := se.Req.(*kmsg.ListOffsetsRequest)
			if !ok {
				continue
			}
			for _, rt := range req.Topics {
				tp, ok := out[rt.Topic]
				if !ok {
					continue
				}
				for _, rp := range rt.Partitions {
					if _, ok := tp.Ends[rp.Partition]; !ok {
						tp.Err = errors.Join(tp.Err, fmt.Errorf("%s offset of %s[%d] from broker %d: %w", what, rt.Topic, rp.Partition, se.Broker.NodeID, se.Err))
					}
				}
				out[rt.Topic] = tp
			}
		}
	}
	return out, nil
}

// TopicID is the id Kafka gives a topic when it is created: a topic
// deleted and created again under the same name has a new one. It is
// zero on brokers older than Kafka 2.8, which do not have ids.
type TopicID [16]byte

// IsZero tells whether the broker gave no id.
func (id TopicID) IsZero() bool { return id == TopicID{} }

// String is the id as Kafka's tools print it.
func (id TopicID) String() string { return kadm.TopicID(id).String() }

// TopicID reads topic's id from the cluster's metadata, asked afresh
// (not from the client's cache, which can hold a deleted topic's id for
// seconds); exists is false when the brokers do not know the topic.
func (c *Client) TopicID(ctx context.Context, topic string) (id TopicID, exists bool, err error) {
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, c.kgo)
	if err != nil {
		return id, false, fmt.Errorf("reading the id of topic %s: %w", topic, err)
	}
	for _, t := range resp.Topics {
		if t.Topic == nil || *t.Topic != topic {
			continue
		}
		switch err := kerr.ErrorForCode(t.ErrorCode); {
		case errors.Is(err, kerr.UnknownTopicOrPartition):
			return id, false, nil
		case err != nil:
			return id, false, fmt.Errorf("reading the id of topic %s: %w", topic, err)
		}
		return TopicID(t.TopicID), true, nil
	}
	return id, false, nil
}
