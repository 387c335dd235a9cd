package collector

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
	"github.com/cdc-sentinel/cdc-sentinel/internal/retention"
)

var day = retention.TopicRetention{Ms: 86_400_000, Bytes: -1, Delete: true}

func TestSinkRetentionReportsHeadroomAndLostRecordsPerTopic(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	cluster := &fakeCluster{name: "prod", conns: []connect.Connector{sink("orders-sink", nil)}}
	k := &fakeGroupBacklogs{lags: map[string]kafka.GroupBacklog{
		"connect-orders-sink": {Topics: map[string]kafka.TopicBacklog{
			"sql.dbo.orders": {Records: 120, Oldest: now.Add(-time.Hour), OldestKnown: true, Retention: &kafka.RetentionRead{
				Config:  day,
				Offsets: []retention.PartitionOffsets{{Partition: 0, Committed: 100, Start: 140}, {Partition: 1, Committed: 7, Start: 0}},
			}},
			"sql.dbo.customers": {Records: 0, OldestKnown: true, Retention: &kafka.RetentionRead{
				Config:  retention.TopicRetention{Ms: -1, Bytes: -1, Delete: true},
				Offsets: []retention.PartitionOffsets{{Partition: 0, Committed: 5, Start: 0}},
			}},
			"sql.dbo.items": {Records: 0, OldestKnown: true, Retention: &kafka.RetentionRead{
				Config:  retention.TopicRetention{Ms: 3_600_000, Bytes: 1 << 30, Delete: true},
				Offsets: []retention.PartitionOffsets{{Partition: 0, Committed: 5, Start: 5}},
			}},
		}},
	}}
	c := NewSinkRetentionCollector(k, cluster)
	c.now = func() time.Time { return now }
	out := collect(t, context.Background(), c)
	for _, want := range []string{
		`cdc_sink_retention_headroom_seconds{connect_cluster="prod",connector="orders-sink",topic="sql.dbo.orders"} 82800`,
		`cdc_sink_retention_seconds{connect_cluster="prod",connector="orders-sink",topic="sql.dbo.orders"} 86400`,
		`cdc_sink_records_lost_total{connect_cluster="prod",connector="orders-sink",topic="sql.dbo.orders"} 40`,
		`cdc_sink_retention_headroom_seconds{connect_cluster="prod",connector="orders-sink",topic="sql.dbo.customers"} +Inf`,
		`cdc_sink_retention_seconds{connect_cluster="prod",connector="orders-sink",topic="sql.dbo.customers"} +Inf`,
		`cdc_sink_records_lost_total{connect_cluster="prod",connector="orders-sink",topic="sql.dbo.customers"} 0`,
		`cdc_sink_retention_headroom_seconds{connect_cluster="prod",connector="orders-sink",topic="sql.dbo.items"} 3600`,
		`cdc_sink_retention_size_limit_bytes{connect_cluster="prod",connector="orders-sink",topic="sql.dbo.items"} 1.073741824e+09`,
		`cdc_scrape_collector_success{collector="sink_retention"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
	if strings.Contains(out, `cdc_sink_retention_size_limit_bytes{connect_cluster="prod",connector="orders-sink",topic="sql.dbo.orders"}`) {
		t.Errorf("a topic without retention.bytes has no size limit series:\n%s", out)
	}
}

func TestSinkRetentionLeavesOutOnlyWhatAFailedReadNeeds(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	cluster := &fakeCluster{name: "prod", conns: []connect.Connector{sink("s", nil)}}
	k := &fakeGroupBacklogs{lags: map[string]kafka.GroupBacklog{"connect-s": {Topics: map[string]kafka.TopicBacklog{
		// The broker leading a partition of t1 is down: no loss count,
		// the headroom still stands.
		"t1": {Records: 3, Oldest: now.Add(-time.Minute), OldestKnown: true, Retention: &kafka.RetentionRead{
			Config: day, StartErr: errors.New("start offset of t1[1]: broker 2 did not answer"),
		}},
		// The configuration did not come back: no headroom, the loss
		// count still stands.
		"t2": {Records: 3, OldestKnown: false, Retention: &kafka.RetentionRead{
			ConfigErr: errors.New("configuration of topic t2: no answer"),
			Offsets:   []retention.PartitionOffsets{{Partition: 0, Committed: 0, Start: 2}},
		}},
		// The oldest record's time is over the read budget.
		"t3": {Records: 3, OldestKnown: false, Retention: &kafka.RetentionRead{
			Config: day, Offsets: []retention.PartitionOffsets{{Partition: 0}},
		}},
	}}}}
	c := NewSinkRetentionCollector(k, cluster)
	c.now = func() time.Time { return now }
	out := collect(t, context.Background(), c)
	for _, want := range []string{
		`cdc_sink_retention_headroom_seconds{connect_cluster="prod",connector="s",topic="t1"} 86340`,
		`cdc_sink_records_lost_total{connect_cluster="prod",connector="s",topic="t2"} 2`,
		`cdc_sink_retention_seconds{connect_cluster="prod",connector="s",topic="t3"} 86400`,
		`cdc_sink_records_lost_total{connect_cluster="prod",connector="s",topic="t3"} 0`,
		`cdc_scrape_collector_success{collector="sink_retention"} 0`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
	for _, absent := range []string{
		`cdc_sink_records_lost_total{connect_cluster="prod",connector="s",topic="t1"}`,
		`cdc_sink_retention_headroom_seconds{connect_cluster="prod",connector="s",topic="t2"}`,
		`cdc_sink_retention_seconds{connect_cluster="prod",connector="s",topic="t2"}`,
		`cdc_sink_retention_headroom_seconds{connect_cluster="prod",connector="s",topic="t3"}`,
	} {
		if strings.Contains(out, absent) {
			t.Errorf("%s must be left out:\n%s", absent, out)
		}
	}
}

func TestSinkLagAndRetentionShareOneReadOfTheGroupsPerScrape(t *testing.T) {
	cluster := &fakeCluster{name: "prod", conns: []connect.Connector{sink("s", nil)}}
	k := &fakeGroupBacklogs{lags: map[string]kafka.GroupBacklog{"connect-s": {Topics: map[string]kafka.TopicBacklog{"t": {OldestKnown: true}}}}}
	collect(t, context.Background(), NewSinkLagCollector(k, cluster), NewSinkRetentionCollector(k, cluster))
	if len(k.asked) != 1 {
		t.Fatalf("groups read %d times in one scrape, want once: %v", len(k.asked), k.asked)
	}
	if !k.opts.Retention {
		t.Errorf("the shared read must include log starts and configuration: %+v", k.opts)
	}
}

func TestSinkRecordsLostIsTheSameAfterARestart(t *testing.T) {
	cluster := &fakeCluster{name: "prod", conns: []connect.Connector{sink("s", nil)}}
	k := &fakeGroupBacklogs{lags: map[string]kafka.GroupBacklog{"connect-s": {Topics: map[string]kafka.TopicBacklog{"t": {Records: 9, Retention: &kafka.RetentionRead{
		Config: day, Offsets: []retention.PartitionOffsets{{Partition: 0, Committed: 10, Start: 50}},
	}}}}}}
	want := `cdc_sink_records_lost_total{connect_cluster="prod",connector="s",topic="t"} 40`
	for i := range 2 { // two processes, the second with no memory of the first
		if out := collect(t, context.Background(), NewSinkRetentionCollector(k, cluster)); !strings.Contains(out, want) {
			t.Fatalf("process %d: missing %s in\n%s", i, want, out)
		}
	}
}

func TestSinkRetentionForgetsTheLossStateOfADeletedConnector(t *testing.T) {
	cluster := &fakeCluster{name: "prod", conns: []connect.Connector{sink("s", nil), sink("gone", nil)}}
	read := kafka.TopicBacklog{Records: 1, Retention: &kafka.RetentionRead{Config: day, Offsets: []retention.PartitionOffsets{{Partition: 0, Committed: 0, Start: 5}}}}
	k := &fakeGroupBacklogs{lags: map[string]kafka.GroupBacklog{
		"connect-s":    {Topics: map[string]kafka.TopicBacklog{"t": read}},
		"connect-gone": {Topics: map[string]kafka.TopicBacklog{"t": read}},
	}}
	c := NewSinkRetentionCollector(k, cluster)
	collect(t, context.Background(), c)
	if len(c.lost) != 2 {
		t.Fatalf("loss state for %d topics, want 2", len(c.lost))
	}
	cluster.conns = cluster.conns[:1]
	collect(t, context.Background(), c)
	if _, ok := c.lost["prod\x00gone\x00t"]; ok || len(c.lost) != 1 {
		t.Fatalf("the deleted connector's loss state is kept: %v", c.lost)
	}
}
