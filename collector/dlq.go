package collector

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
)

// DLQTopicKey is the sink connector setting that names its dead-letter
// queue topic.
const DLQTopicKey = "errors.deadletterqueue.topic.name"

var (
	dlqRecordsDesc = prometheus.NewDesc("cdc_dlq_records_total",
		"Records ever written to a sink connector's dead-letter queue topic: the sum of the topic's partition end offsets, so task restarts do not reset it (0 while the topic does not exist).",
		[]string{"connect_cluster", "connector", "topic"}, nil)
	kafkaUpDesc = prometheus.NewDesc("cdc_kafka_up",
		"Whether the Kafka cluster answered in this scrape.",
		nil, nil)
)

// EndOffsetReader is what the DLQ collector needs from Kafka.
type EndOffsetReader interface {
	EndOffsets(ctx context.Context, topics ...string) (map[string]kafka.TopicEnd, error)
	Ping(ctx context.Context) error
}

// DLQCollector counts dead-lettered records of every sink connector that
// names a DLQ topic, from the Connect listing the scrape shares.
type DLQCollector struct {
	clusters []ConnectLister
	kafka    EndOffsetReader

	// existed remembers the topics that have existed, so that a broker
	// briefly answering "unknown topic" for one does not report 0: a
	// counter that dips and comes back reads as a reset plus a spike.
	mu      sync.Mutex
	existed map[string]bool
}

// NewDLQCollector watches the sink connectors of clusters.
func NewDLQCollector(k EndOffsetReader, clusters ...ConnectLister) *DLQCollector {
	return &DLQCollector{clusters: clusters, kafka: k, existed: map[string]bool{}}
}

// Name implements Collector.
func (c *DLQCollector) Name() string { return "dlq" }

type dlqTarget struct{ cluster, connector, topic string }

// Collect implements Collector.
func (c *DLQCollector) Collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		targets []dlqTarget
		errs    []error
	)
	for _, cl := range c.clusters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conns, err := Connectors(ctx, cl)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				// cdc_connect_up already says so; the DLQ series of this
				// cluster are absent rather than wrong.
				errs = append(errs, fmt.Errorf("connect cluster %s: %w", cl.Name(), err))
				return
			}
			for i := range conns {
				if conns[i].Type() != connect.TypeSink {
					continue
				}
				if topic := conns[i].Info.Config[DLQTopicKey]; topic != "" {
					targets = append(targets, dlqTarget{cl.Name(), conns[i].Name(), topic})
				}
			}
		}()
	}
	wg.Wait()
	sort.Slice(targets, func(i, j int) bool {
		if targets[i].cluster != targets[j].cluster {
			return targets[i].cluster < targets[j].cluster
		}
		return targets[i].connector < targets[j].connector
	})

	topicSet := map[string]bool{}
	var topics []string
	for _, t := range targets {
		if !topicSet[t.topic] {
			topicSet[t.topic] = true
			topics = append(topics, t.topic)
		}
	}
	var ends map[string]kafka.TopicEnd
	var err error
	if len(topics) == 0 {
		err = c.kafka.Ping(ctx)
	} else {
		ends, err = c.kafka.EndOffsets(ctx, topics...)
	}
	if err != nil && ends == nil {
		ch <- prometheus.MustNewConstMetric(kafkaUpDesc, prometheus.GaugeValue, 0)
		return errors.Join(append(errs, err)...)
	}
	ch <- prometheus.MustNewConstMetric(kafkaUpDesc, prometheus.GaugeValue, 1)
	if err != nil {
		// Some partitions failed (leader moving, say): a partial sum would
		// look like a counter reset, so those topics are left out.
		errs = append(errs, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range targets {
		end, ok := ends[t.topic]
		if !ok || end.Err != nil {
			continue
		}
		if end.Exists {
			c.existed[t.topic] = true
		} else if c.existed[t.topic] {
			continue // seen before: a metadata glitch, not an empty topic
		}
		ch <- prometheus.MustNewConstMetric(dlqRecordsDesc, prometheus.CounterValue, float64(end.Records), t.cluster, t.connector, t.topic)
	}
	return errors.Join(errs...)
}
