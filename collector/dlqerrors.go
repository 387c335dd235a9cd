package collector

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/dlq"
	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
)

// What one scrape reads of the dead-letter queues is bounded; the HELP
// texts and docs/metrics.md say so.
const (
	// dlqReadPerPartition is the most records of one DLQ partition read
	// per scrape; older ones beyond it are skipped and counted as such.
	dlqReadPerPartition = 500
	// dlqExceptionsPerConnector caps the distinct exception classes
	// counted per connector; the rest count as "other".
	dlqExceptionsPerConnector = 20
)

var (
	dlqErrorsDesc = prometheus.NewDesc("cdc_dlq_errors_total",
		"Records a sink connector dead-lettered since cdc-sentinel started watching its DLQ topic, by the error context Kafka Connect writes in their headers: stage (__connect.errors.stage) and exception (the class in __connect.errors.exception.class.name, never the message). Both are \"unknown\" unless the connector sets errors.deadletterqueue.context.headers.enable=true; exception is \"other\" beyond 20 classes per connector. Each scrape reads the records added since the last one, at most 500 per partition; see cdc_dlq_errors_skipped_total.",
		[]string{"connect_cluster", "connector", "topic", "stage", "exception"}, nil)
	dlqSkippedDesc = prometheus.NewDesc("cdc_dlq_errors_skipped_total",
		"Dead-lettered records left out of cdc_dlq_errors_total: more were added between two scrapes than one scrape reads (500 per partition, the newest are read), or retention deleted them before they were read.",
		[]string{"connect_cluster", "connector", "topic"}, nil)
)

// DLQRecordReader is what the DLQ error collector needs from Kafka.
type DLQRecordReader interface {
	PartitionEnds(ctx context.Context, topics ...string) (map[string]kafka.TopicPartitions, error)
	ReadRecords(ctx context.Context, p kafka.Partition, from int64, max int) (kafka.ReadResult, error)
}

// DLQErrorsCollector counts the records sink connectors dead-letter by
// the reason Connect gives in their headers. It only reads: where it has
// got to in each DLQ partition is kept in memory, never committed, and it
// starts at the end of a partition the first time it sees it, so a
// restart counts from zero instead of counting old records again.
type DLQErrorsCollector struct {
	clusters []ConnectLister
	kafka    DLQRecordReader

	// topicLocks serialise the reading of one DLQ topic, so that two
	// overlapping scrapes do not count the same records twice.
	locksMu    sync.Mutex
	topicLocks map[dlqTopicKey]chan struct{}

	mu sync.Mutex
	// known are the topics looked at before (existing or not): a
	// partition first seen in one of them is new, and read from its start.
	known   map[dlqTopicKey]bool
	pos     map[dlqPartKey]int64
	counts  map[dlqCountKey]float64
	skipped map[dlqTargetKey]float64
	classes map[dlqConnKey]map[string]bool
}

type (
	dlqTopicKey struct{ cluster, topic string }
	dlqPartKey  struct {
		cluster, topic string
		partition      int32
	}
	dlqConnKey   struct{ cluster, connector string }
	dlqTargetKey struct{ cluster, connector, topic string }
	dlqCountKey  struct{ cluster, connector, topic, stage, exception string }
)

// NewDLQErrorsCollector watches the DLQ topics of the sink connectors of
// clusters.
func NewDLQErrorsCollector(k DLQRecordReader, clusters ...ConnectLister) *DLQErrorsCollector {
	return &DLQErrorsCollector{
		clusters: clusters, kafka: k,
		topicLocks: map[dlqTopicKey]chan struct{}{},
		known:      map[dlqTopicKey]bool{},
		pos:        map[dlqPartKey]int64{},
		counts:     map[dlqCountKey]float64{},
		skipped:    map[dlqTargetKey]float64{},
		classes:    map[dlqConnKey]map[string]bool{},
	}
}

// Name implements Collector.
func (c *DLQErrorsCollector) Name() string { return "dlq_errors" }

// Collect implements Collector. Each cluster's DLQ topics are read as
// soon as its own listing is in.
func (c *DLQErrorsCollector) Collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	return fanOut(ctx, c.clusters, ch, c.collectCluster)
}

func (c *DLQErrorsCollector) collectCluster(ctx context.Context, cl ConnectLister, ch chan<- prometheus.Metric) error {
	conns, err := Connectors(ctx, cl)
	if err != nil {
		return fmt.Errorf("connect cluster %s: %w", cl.Name(), err)
	}
	cluster := cl.Name()
	// The connectors that dead-letter into each topic (usually one).
	byTopic := map[string][]string{}
	for i := range conns {
		if t := connectorkind.New(conns[i].Name(), conns[i].Type(), conns[i].Info.Config).DLQTopic(); t != "" {
			byTopic[t] = append(byTopic[t], conns[i].Name())
		}
	}
	c.forget(cluster, byTopic)
	if len(byTopic) == 0 {
		return nil
	}
	topics := make([]string, 0, len(byTopic))
	for t := range byTopic {
		sort.Strings(byTopic[t])
		topics = append(topics, t)
	}
	sort.Strings(topics)
	// The end offsets get a third of the time left: a broker that does
	// not answer then costs only the topics it leads, and the others are
	// still read.
	ectx, cancel := context.WithTimeout(ctx, timeLeft(ctx)/3)
	ends, err := c.kafka.PartitionEnds(ectx, topics...)
	cancel()
	if err != nil {
		return fmt.Errorf("connect cluster %s: DLQ topics: %w", cluster, err)
	}
	// Topics are read side by side, so one whose leader hangs holds up
	// only its own series.
	return fanOut(ctx, topics, ch, func(ctx context.Context, t string, ch chan<- prometheus.Metric) error {
		tp := ends[t]
		if !tp.Exists {
			// Created with the first dead-lettered record: nothing yet.
			c.mu.Lock()
			c.known[dlqTopicKey{cluster, t}] = true
			c.mu.Unlock()
			c.emit(ch, cluster, t, byTopic[t])
			return nil
		}
		if err := c.readTopic(ctx, cluster, t, byTopic[t], tp); err != nil {
			return err
		}
		c.emit(ch, cluster, t, byTopic[t])
		return nil
	})
}

// timeLeft is how long ctx has until its deadline (an hour without one:
// outside a scrape nothing needs cutting short).
func timeLeft(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return time.Until(dl)
	}
	return time.Hour
}

// readTopic counts the records added to the partitions of topic since
// the last scrape. A topic that is not wholly readable is not reported
// this scrape, though what could be read is counted.
func (c *DLQErrorsCollector) readTopic(ctx context.Context, cluster, topic string, connectors []string, tp kafka.TopicPartitions) error {
	unlock, err := c.lockTopic(ctx, dlqTopicKey{cluster, topic})
	if err != nil {
		return fmt.Errorf("DLQ topic %s: %w", topic, err)
	}
	defer unlock()
	parts := make([]int32, 0, len(tp.Ends))
	for p := range tp.Ends {
		parts = append(parts, p)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
	c.mu.Lock()
	known := c.known[dlqTopicKey{cluster, topic}]
	c.known[dlqTopicKey{cluster, topic}] = true
	c.mu.Unlock()
	errs := []error{tp.Err}
	for _, p := range parts {
		if err := c.readPartition(ctx, cluster, kafka.Partition{Topic: topic, Partition: p}, tp.Ends[p], known, connectors); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// readPartition counts the records of p from where the last scrape
// stopped to end. A partition seen for the first time is read from its
// start if its topic was known before (the topic or the partition is
// new), and otherwise only from now on: after a restart, history is not
// counted again.
func (c *DLQErrorsCollector) readPartition(ctx context.Context, cluster string, p kafka.Partition, end int64, knownTopic bool, connectors []string) error {
	key := dlqPartKey{cluster, p.Topic, p.Partition}
	c.mu.Lock()
	from, seen := c.pos[key]
	if !seen && !knownTopic {
		c.pos[key] = end
	}
	c.mu.Unlock()
	if !seen && !knownTopic || from == end {
		return nil
	}
	if end < from {
		from = 0 // the topic was deleted and re-created
	}
	start := from
	if end-from > dlqReadPerPartition {
		from = end - dlqReadPerPartition // the newest say most about now
	}
	res, err := c.kafka.ReadRecords(ctx, p, from, dlqReadPerPartition)
	// What was read is counted even when the read stopped early.
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range res.Records {
		rec := dlq.Parse(r)
		conn := connectors[0]
		if rec.Connector != "" {
			for _, n := range connectors {
				if n == rec.Connector {
					conn = n
				}
			}
		}
		c.counts[dlqCountKey{cluster, conn, p.Topic, dlq.StageLabel(rec.Stage), c.exceptionLabel(cluster, conn, rec.ExceptionClass)}]++
	}
	if res.Next > from || err == nil {
		if gap := (res.Next - start) - int64(len(res.Records)); gap > 0 {
			c.skipped[dlqTargetKey{cluster, connectors[0], p.Topic}] += float64(gap)
		}
		c.pos[key] = res.Next
	}
	if err != nil {
		return fmt.Errorf("reading DLQ %s: %w", p, err)
	}
	return nil
}

// exceptionLabel bounds the exception label values of one connector.
// Callers hold c.mu.
func (c *DLQErrorsCollector) exceptionLabel(cluster, connector, class string) string {
	l := dlq.ExceptionLabel(class)
	if l == dlq.Unknown || l == dlq.Other {
		return l
	}
	k := dlqConnKey{cluster, connector}
	seen := c.classes[k]
	if seen == nil {
		seen = map[string]bool{}
		c.classes[k] = seen
	}
	if !seen[l] {
		if len(seen) >= dlqExceptionsPerConnector {
			return dlq.Other
		}
		seen[l] = true
	}
	return l
}

func (c *DLQErrorsCollector) emit(ch chan<- prometheus.Metric, cluster, topic string, connectors []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	owned := map[string]bool{}
	for _, n := range connectors {
		owned[n] = true
	}
	var keys []dlqCountKey
	for k := range c.counts {
		if k.cluster == cluster && k.topic == topic && owned[k.connector] {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.connector != b.connector {
			return a.connector < b.connector
		}
		if a.stage != b.stage {
			return a.stage < b.stage
		}
		return a.exception < b.exception
	})
	for _, k := range keys {
		ch <- prometheus.MustNewConstMetric(dlqErrorsDesc, prometheus.CounterValue, c.counts[k], k.cluster, k.connector, k.topic, k.stage, k.exception)
	}
	for _, n := range connectors {
		ch <- prometheus.MustNewConstMetric(dlqSkippedDesc, prometheus.CounterValue, c.skipped[dlqTargetKey{cluster, n, topic}], cluster, n, topic)
	}
}

// forget drops what is remembered about a cluster's DLQ topics that no
// sink names any more, so deleted connectors do not accumulate.
func (c *DLQErrorsCollector) forget(cluster string, byTopic map[string][]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	live := map[dlqTargetKey]bool{}
	conns := map[string]bool{}
	for t, ns := range byTopic {
		for _, n := range ns {
			live[dlqTargetKey{cluster, n, t}] = true
			conns[n] = true
		}
	}
	for k := range c.pos {
		if k.cluster == cluster && len(byTopic[k.topic]) == 0 {
			delete(c.pos, k)
		}
	}
	for k := range c.known {
		if k.cluster == cluster && len(byTopic[k.topic]) == 0 {
			delete(c.known, k)
		}
	}
	for k := range c.counts {
		if k.cluster == cluster && !live[dlqTargetKey{k.cluster, k.connector, k.topic}] {
			delete(c.counts, k)
		}
	}
	for k := range c.skipped {
		if k.cluster == cluster && !live[k] {
			delete(c.skipped, k)
		}
	}
	for k := range c.classes {
		if k.cluster == cluster && !conns[k.connector] {
			delete(c.classes, k)
		}
	}
}

// lockTopic waits, at most until ctx ends, for the reading of a topic.
func (c *DLQErrorsCollector) lockTopic(ctx context.Context, k dlqTopicKey) (func(), error) {
	c.locksMu.Lock()
	l, ok := c.topicLocks[k]
	if !ok {
		l = make(chan struct{}, 1)
		c.topicLocks[k] = l
	}
	c.locksMu.Unlock()
	select {
	case l <- struct{}{}:
		return func() { <-l }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for another scrape's read: %w", ctx.Err())
	}
}
