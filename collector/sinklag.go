package collector

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
	"github.com/cdc-sentinel/cdc-sentinel/internal/lag"
)

var (
	sinkLagRecordsDesc = prometheus.NewDesc("cdc_sink_consumer_lag_records",
		"Records a sink connector's consumer group has yet to consume on a topic: end offset minus the group's committed offset, summed over the partitions it has committed. Connect commits every offset.flush.interval.ms (60s by default), so up to that much consumed work still counts. Left out when some partition's end offset could not be read.",
		[]string{"connect_cluster", "connector", "topic"}, nil)
	sinkLagSecondsDesc = prometheus.NewDesc("cdc_sink_consumer_lag_seconds",
		"Age of the oldest record a sink connector's consumer group has yet to consume on a topic: now minus the timestamp of the record at the committed offset, the oldest over the topic's partitions (0 when caught up). Costs one fetch of one record batch per lagging partition, at most 200 partitions per scrape; left out when they do not all fit or answer in time. Record timestamps are the producer's clock unless the topic uses LogAppendTime.",
		[]string{"connect_cluster", "connector", "topic"}, nil)
)

// GroupBacklogReader is what the sink lag collector needs from Kafka.
type GroupBacklogReader interface {
	GroupBacklogs(ctx context.Context, groups []string, opts kafka.BacklogOptions) map[string]kafka.GroupBacklog
}

// SinkLagCollector reports how far each sink connector's consumer group
// is behind its topics, as internal/lag's SinkLag decides it from the
// groups' backlogs the scrape reads once (sinkBacklogs). It only reads:
// it neither joins the group nor commits.
type SinkLagCollector struct {
	clusters []ConnectLister
	kafka    GroupBacklogReader
	now      func() time.Time
}

// NewSinkLagCollector watches the sink connectors of clusters.
func NewSinkLagCollector(k GroupBacklogReader, clusters ...ConnectLister) *SinkLagCollector {
	return &SinkLagCollector{clusters: clusters, kafka: k, now: time.Now}
}

// Name implements Collector.
func (c *SinkLagCollector) Name() string { return "sink_lag" }

// Collect implements Collector. Each cluster's groups are read as soon as
// its own listing is in, so a slow cluster holds up only its sinks.
func (c *SinkLagCollector) Collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	return fanOut(ctx, c.clusters, ch, c.collectCluster)
}

func (c *SinkLagCollector) collectCluster(ctx context.Context, cl ConnectLister, ch chan<- prometheus.Metric) error {
	conns, err := Connectors(ctx, cl)
	if err != nil {
		// cdc_connect_up already says so; this cluster's lag is absent.
		return fmt.Errorf("connect cluster %s: %w", cl.Name(), err)
	}
	sinks, groups, keep := sinkGroups(conns)
	if len(groups) == 0 {
		return nil
	}
	lags := sinkBacklogs(ctx, cl, c.kafka, groups, keep)
	now := c.now()
	var errs []error
	reported := map[string]bool{}
	for _, s := range sinks {
		gl, ok := lags[s.group]
		if !ok {
			continue
		}
		if gl.Err != nil {
			if !reported[s.group] {
				reported[s.group] = true
				errs = append(errs, fmt.Errorf("connector %s: %w", s.name, gl.Err))
			}
			continue
		}
		topics := make([]string, 0, len(gl.Topics))
		for t := range gl.Topics {
			topics = append(topics, t)
		}
		sort.Strings(topics)
		for _, t := range topics {
			tl := lag.SinkLag(gl.Topics[t], now)
			if tl.Err != nil {
				if !reported[s.group+"\x00"+t] {
					reported[s.group+"\x00"+t] = true
					errs = append(errs, fmt.Errorf("connector %s, topic %s: %w", s.name, t, tl.Err))
				}
				continue
			}
			ch <- prometheus.MustNewConstMetric(sinkLagRecordsDesc, prometheus.GaugeValue, float64(tl.Records), cl.Name(), s.name, t)
			if tl.AgeKnown {
				ch <- prometheus.MustNewConstMetric(sinkLagSecondsDesc, prometheus.GaugeValue, tl.Age.Seconds(), cl.Name(), s.name, t)
			}
		}
	}
	return errors.Join(errs...)
}
