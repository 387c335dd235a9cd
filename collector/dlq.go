package collector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
)

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

type dlqTarget struct{ connector, topic string }

// Collect implements Collector. Each cluster's DLQ topics are read as soon
// as that cluster's listing is in, and Kafka is pinged alongside, so a
// Connect cluster that hangs until the deadline costs only its own series:
// neither the other clusters' counters nor cdc_kafka_up wait for it.
func (c *DLQCollector) Collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	var (
		mu      sync.Mutex
		errs    []error
		kafkaUp bool
		wg      sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	// answered reports cdc_kafka_up 1 the first time any call to Kafka
	// succeeds, so it is out even if a later wait is cut off.
	answered := func() {
		mu.Lock()
		first := !kafkaUp
		kafkaUp = true
		mu.Unlock()
		if first {
			ch <- prometheus.MustNewConstMetric(kafkaUpDesc, prometheus.GaugeValue, 1)
		}
	}
	wg.Add(1 + len(c.clusters))
	go func() {
		defer wg.Done()
		if err := c.kafka.Ping(ctx); err != nil {
			fail(err)
			return
		}
		answered()
	}()
	for _, cl := range c.clusters {
		go func() {
			defer wg.Done()
			ok, err := c.collectCluster(ctx, cl, ch)
			if ok {
				answered()
			}
			if err != nil {
				fail(err)
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if !kafkaUp {
		ch <- prometheus.MustNewConstMetric(kafkaUpDesc, prometheus.GaugeValue, 0)
	}
	return errors.Join(errs...)
}

// collectCluster reports the DLQ counters of one cluster's sink
// connectors; kafkaAnswered says whether Kafka gave end offsets.
func (c *DLQCollector) collectCluster(ctx context.Context, cl ConnectLister, ch chan<- prometheus.Metric) (kafkaAnswered bool, _ error) {
	conns, err := Connectors(ctx, cl)
	if err != nil {
		// cdc_connect_up already says so; the DLQ series of this cluster
		// are absent rather than wrong.
		return false, fmt.Errorf("connect cluster %s: %w", cl.Name(), err)
	}
	var targets []dlqTarget
	var topics []string
	for i := range conns {
		topic := connectorkind.New(conns[i].Name(), conns[i].Type(), conns[i].Info.Config).DLQTopic()
		if topic == "" {
			continue
		}
		targets = append(targets, dlqTarget{conns[i].Name(), topic})
		if !slices.Contains(topics, topic) {
			topics = append(topics, topic)
		}
	}
	if len(topics) == 0 {
		return false, nil
	}
	ends, err := c.kafka.EndOffsets(ctx, topics...)
	if err != nil && ends == nil {
		return false, fmt.Errorf("DLQ topics of connect cluster %s: %w", cl.Name(), err)
	}
	// Some partitions may have failed (leader moving, say): a partial sum
	// would look like a counter reset, so those topics are left out.
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
		ch <- prometheus.MustNewConstMetric(dlqRecordsDesc, prometheus.CounterValue, float64(end.Records), cl.Name(), t.connector, t.topic)
	}
	return true, err
}
