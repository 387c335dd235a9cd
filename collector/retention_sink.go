package collector

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
	"github.com/cdc-sentinel/cdc-sentinel/internal/lag"
	"github.com/cdc-sentinel/cdc-sentinel/internal/retention"
)

var (
	sinkHeadroomDesc = prometheus.NewDesc("cdc_sink_retention_headroom_seconds",
		"Time left before the topic's time retention (retention.ms) deletes a record the sink connector has not consumed: retention minus the age of the oldest unconsumed record by its timestamp (the record at the group's committed offset, the oldest over the partitions); the whole retention when caught up; +Inf when the topic keeps records for ever (retention.ms -1, or cleanup.policy compact only). 0 means deletion is due (Kafka deletes whole segments, so the record can linger until its segment goes). Size-based retention is not estimated: see cdc_sink_retention_size_limit_bytes. Left out when the oldest record's time or the topic's configuration could not be read in time.",
		[]string{"connect_cluster", "connector", "topic"}, nil)
	sinkRetentionDesc = prometheus.NewDesc("cdc_sink_retention_seconds",
		"The topic's time retention (retention.ms in seconds) as its configuration says, +Inf when it keeps records for ever; the alerts compare the headroom with a tenth of it.",
		[]string{"connect_cluster", "connector", "topic"}, nil)
	sinkSizeLimitDesc = prometheus.NewDesc("cdc_sink_retention_size_limit_bytes",
		"The topic's retention.bytes (per partition), present only when the topic also deletes by size. cdc_sink_retention_headroom_seconds does not estimate size-based deletion (it depends on every producer's volume), so such a topic can lose records sooner than the headroom says; cdc_sink_records_lost_total still counts them.",
		[]string{"connect_cluster", "connector", "topic"}, nil)
	sinkLostDesc = prometheus.NewDesc("cdc_sink_records_lost_total",
		"Records retention deleted before the sink connector consumed them: the sum over the topic's partitions of the log start offset past the group's committed offset. Derived from Kafka's offsets, so a restart of cdc-sentinel gives the same value: it grows while the sink stays behind and falls to 0 once the sink skips the gap, which increase() reads as a counter reset, counting each lost record once. Left out when some partition's log start could not be read.",
		[]string{"connect_cluster", "connector", "topic"}, nil)
)

// SinkRetentionCollector reports, for each sink connector and topic, the
// time left before the topic's retention deletes what the sink has not
// consumed, and the records it already deleted. It shares the sink lag
// collector's reads of the groups (once per scrape), which also list the
// partitions' log starts and the topics' configuration.
type SinkRetentionCollector struct {
	clusters []ConnectLister
	kafka    GroupBacklogReader
	now      func() time.Time

	// lost is each (cluster, connector, topic)'s loss state between
	// scrapes; see retention.RecordsLost for why a little is kept.
	mu   sync.Mutex
	lost map[string]retention.LossState
}

// NewSinkRetentionCollector watches the sink connectors of clusters.
func NewSinkRetentionCollector(k GroupBacklogReader, clusters ...ConnectLister) *SinkRetentionCollector {
	return &SinkRetentionCollector{clusters: clusters, kafka: k, now: time.Now, lost: map[string]retention.LossState{}}
}

// Name implements Collector.
func (c *SinkRetentionCollector) Name() string { return "sink_retention" }

// Collect implements Collector.
func (c *SinkRetentionCollector) Collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	return fanOut(ctx, c.clusters, ch, c.collectCluster)
}

func (c *SinkRetentionCollector) collectCluster(ctx context.Context, cl ConnectLister, ch chan<- prometheus.Metric) error {
	conns, err := Connectors(ctx, cl)
	if err != nil {
		return fmt.Errorf("connect cluster %s: %w", cl.Name(), err)
	}
	sinks, groups, keep := sinkGroups(conns)
	if len(groups) == 0 {
		return nil
	}
	lags := sinkBacklogs(ctx, cl, c.kafka, groups, keep)
	c.forgetGone(cl.Name(), sinks)
	now := c.now()
	var errs []error
	for _, s := range sinks {
		gl, ok := lags[s.group]
		if !ok || gl.Err != nil {
			continue // the sink lag collector reports the group's error
		}
		topics := make([]string, 0, len(gl.Topics))
		for t := range gl.Topics {
			topics = append(topics, t)
		}
		sort.Strings(topics)
		for _, t := range topics {
			if err := c.topic(ch, cl.Name(), s.name, t, gl.Topics[t], now); err != nil {
				errs = append(errs, fmt.Errorf("connector %s, topic %s: %w", s.name, t, err))
			}
		}
	}
	return errors.Join(errs...)
}

// forgetGone drops the loss state of the cluster's connectors that are
// no longer sinks in its listing, so deleted connectors do not pile up.
func (c *SinkRetentionCollector) forgetGone(cluster string, sinks []sinkGroup) {
	live := make(map[string]bool, len(sinks))
	for _, s := range sinks {
		live[s.name] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for key := range c.lost {
		cl, rest, _ := strings.Cut(key, "\x00")
		connector, _, _ := strings.Cut(rest, "\x00")
		if cl == cluster && !live[connector] {
			delete(c.lost, key)
		}
	}
}

// topic sends one sink topic's retention series: each is left out alone
// when what it needs is unknown.
func (c *SinkRetentionCollector) topic(ch chan<- prometheus.Metric, cluster, connector, topic string, tl kafka.TopicBacklog, now time.Time) error {
	rr := tl.Retention
	if rr == nil {
		return nil // not asked: a reader that does not read retention
	}
	var errs []error
	if rr.StartErr != nil {
		errs = append(errs, rr.StartErr)
	} else {
		key := cluster + "\x00" + connector + "\x00" + topic
		c.mu.Lock()
		lost, next := retention.RecordsLost(c.lost[key], rr.Offsets)
		c.lost[key] = next
		c.mu.Unlock()
		ch <- prometheus.MustNewConstMetric(sinkLostDesc, prometheus.CounterValue, float64(lost), cluster, connector, topic)
	}
	if rr.ConfigErr != nil {
		return errors.Join(append(errs, rr.ConfigErr)...)
	}
	ch <- prometheus.MustNewConstMetric(sinkRetentionDesc, prometheus.GaugeValue, rr.Config.Seconds(), cluster, connector, topic)
	if rr.Config.SizeLimited() {
		ch <- prometheus.MustNewConstMetric(sinkSizeLimitDesc, prometheus.GaugeValue, float64(rr.Config.Bytes), cluster, connector, topic)
	}
	if tl.Err != nil {
		// End offsets partly unknown: whether the sink is caught up is
		// too (the sink lag collector reports the error).
		return errors.Join(errs...)
	}
	sl := lag.SinkLag(tl, now)
	b := retention.SinkBacklog{CaughtUp: sl.Records == 0, Age: sl.Age, AgeKnown: sl.AgeKnown}
	if h, ok := retention.SinkHeadroom(rr.Config, b); ok {
		ch <- prometheus.MustNewConstMetric(sinkHeadroomDesc, prometheus.GaugeValue, h, cluster, connector, topic)
	}
	return errors.Join(errs...)
}
