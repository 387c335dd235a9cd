package collector

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
)

type fakeGroupBacklogs struct {
	mu    sync.Mutex
	lags  map[string]kafka.GroupBacklog
	asked [][]string
	opts  kafka.BacklogOptions
}

func (f *fakeGroupBacklogs) GroupBacklogs(ctx context.Context, groups []string, opts kafka.BacklogOptions) map[string]kafka.GroupBacklog {
	f.mu.Lock()
	f.asked = append(f.asked, slices.Clone(groups))
	f.opts = opts
	f.mu.Unlock()
	out := map[string]kafka.GroupBacklog{}
	for _, g := range groups {
		if gl, ok := f.lags[g]; ok {
			kept := kafka.GroupBacklog{Group: gl.Group, Err: gl.Err, Topics: map[string]kafka.TopicBacklog{}}
			for t, tl := range gl.Topics {
				if opts.Keep == nil || opts.Keep(g, t) {
					kept.Topics[t] = tl
				}
			}
			out[g] = kept
		}
	}
	return out
}

func sink(name string, cfg map[string]string) connect.Connector {
	c := conn(name, "sink", "io.confluent.connect.jdbc.JdbcSinkConnector", "RUNNING")
	c.Info.Config["topics.regex"] = `sql\.dbo\..*|t\d?`
	for k, v := range cfg {
		c.Info.Config[k] = v
	}
	return c
}

func TestSinkLagCollectorReportsRecordsAndAgePerTopic(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	cluster := &fakeCluster{name: "prod", conns: []connect.Connector{
		sink("orders-sink", nil),
		sink("custom-sink", map[string]string{"consumer.override.group.id": "my-group"}),
		sink("idle-sink", nil),
		conn("src", "source", connectorkind.ClassPostgres, "RUNNING"),
	}}
	k := &fakeGroupBacklogs{lags: map[string]kafka.GroupBacklog{
		"connect-orders-sink": {Group: "connect-orders-sink", Topics: map[string]kafka.TopicBacklog{
			"sql.dbo.orders":    {Records: 120, Oldest: now.Add(-90 * time.Second), OldestKnown: true},
			"old.topic":         {Records: 999, OldestKnown: true}, // committed long ago, no longer consumed
			"sql.dbo.customers": {Records: 0, OldestKnown: true},
		}},
		"my-group": {Group: "my-group", Topics: map[string]kafka.TopicBacklog{
			"sql.dbo.items": {Records: 5000, OldestKnown: false}, // over the read budget
		}},
		// idle-sink's group has no commits: no series.
	}}
	c := NewSinkLagCollector(k, cluster)
	c.now = func() time.Time { return now }
	out := collect(t, context.Background(), c)
	for _, want := range []string{
		`cdc_sink_consumer_lag_records{connect_cluster="prod",connector="orders-sink",topic="sql.dbo.orders"} 120`,
		`cdc_sink_consumer_lag_records{connect_cluster="prod",connector="orders-sink",topic="sql.dbo.customers"} 0`,
		`cdc_sink_consumer_lag_records{connect_cluster="prod",connector="custom-sink",topic="sql.dbo.items"} 5000`,
		`cdc_sink_consumer_lag_seconds{connect_cluster="prod",connector="orders-sink",topic="sql.dbo.orders"} 90`,
		`cdc_sink_consumer_lag_seconds{connect_cluster="prod",connector="orders-sink",topic="sql.dbo.customers"} 0`,
		`cdc_scrape_collector_success{collector="sink_lag"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
	if strings.Contains(out, `cdc_sink_consumer_lag_seconds{connect_cluster="prod",connector="custom-sink"`) {
		t.Errorf("an unknown age must be left out, not reported:\n%s", out)
	}
	if strings.Contains(out, `topic="old.topic"`) {
		t.Errorf("a topic the sink no longer consumes must be left out:\n%s", out)
	}
	if strings.Contains(out, `connector="src"`) || strings.Contains(out, `connector="idle-sink"`) {
		t.Errorf("sources and groups without commits have no lag series:\n%s", out)
	}
	if len(k.asked) != 1 || !slices.Equal(k.asked[0], []string{"connect-orders-sink", "my-group", "connect-idle-sink"}) {
		t.Errorf("groups asked: %v", k.asked)
	}
	if k.opts.MaxTimeReads < 1 || k.opts.Parallel < 1 {
		t.Errorf("time reads must be bounded: %+v", k.opts)
	}
}

func TestSinkLagAgeNeverNegative(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	cluster := &fakeCluster{name: "prod", conns: []connect.Connector{sink("s", nil)}}
	k := &fakeGroupBacklogs{lags: map[string]kafka.GroupBacklog{"connect-s": {Topics: map[string]kafka.TopicBacklog{
		"t": {Records: 3, Oldest: now.Add(2 * time.Second), OldestKnown: true}, // producer clock ahead
	}}}}
	c := NewSinkLagCollector(k, cluster)
	c.now = func() time.Time { return now }
	if out := collect(t, context.Background(), c); !strings.Contains(out, `cdc_sink_consumer_lag_seconds{connect_cluster="prod",connector="s",topic="t"} 0`) {
		t.Errorf("a record from the future is not negative lag:\n%s", out)
	}
}

func TestSinkLagLeavesOutOnlyWhatCouldNotBeRead(t *testing.T) {
	cluster := &fakeCluster{name: "prod", conns: []connect.Connector{sink("a", nil), sink("b", nil), sink("c", nil)}}
	k := &fakeGroupBacklogs{lags: map[string]kafka.GroupBacklog{
		"connect-a": {Err: errors.New("coordinator not available")},
		"connect-b": {Topics: map[string]kafka.TopicBacklog{
			"t1": {Records: 4, Err: errors.New("end offset of t1[2]: its leader did not answer")},
			"t2": {Records: 1, OldestKnown: true, Oldest: time.Now()},
		}},
		"connect-c": {Topics: map[string]kafka.TopicBacklog{"t3": {Records: 0, OldestKnown: true}}},
	}}
	out := collect(t, context.Background(), NewSinkLagCollector(k, cluster))
	if strings.Contains(out, `connector="a"`) || strings.Contains(out, `topic="t1"`) {
		t.Errorf("an unreadable group or a partial sum must be left out:\n%s", out)
	}
	for _, want := range []string{
		`cdc_sink_consumer_lag_records{connect_cluster="prod",connector="b",topic="t2"} 1`,
		`cdc_sink_consumer_lag_records{connect_cluster="prod",connector="c",topic="t3"} 0`,
		`cdc_scrape_collector_success{collector="sink_lag"} 0`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
}

func TestSinkLagDeadClusterAffectsOnlyItsOwnSinks(t *testing.T) {
	live := &fakeCluster{name: "prod", conns: []connect.Connector{sink("a", nil)}}
	dead := &fakeCluster{name: "dr", delay: time.Hour}
	k := &fakeGroupBacklogs{lags: map[string]kafka.GroupBacklog{"connect-a": {Topics: map[string]kafka.TopicBacklog{"t": {Records: 2, OldestKnown: true, Oldest: time.Now()}}}}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out := collect(t, ctx, NewSinkLagCollector(k, live, dead))
	if !strings.Contains(out, `cdc_sink_consumer_lag_records{connect_cluster="prod",connector="a",topic="t"} 2`) {
		t.Errorf("the live cluster's sink lag must not wait for the dead cluster:\n%s", out)
	}
}

func TestSinkLagSharesTheScrapesListing(t *testing.T) {
	cl := &countingCluster{fakeCluster: &fakeCluster{name: "prod", conns: []connect.Connector{sink("a", nil)}}}
	collect(t, context.Background(), NewConnectCollector(cl), NewSinkLagCollector(&fakeGroupBacklogs{}, cl))
	if cl.calls != 1 {
		t.Errorf("%d listings in one scrape, want 1", cl.calls)
	}
}
