package collector

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect/connecttest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

func realKafka(t *testing.T, p *testenv.Pipeline) *kafka.Client {
	t.Helper()
	k, err := kafka.New(config.Kafka{Brokers: strings.Split(p.KafkaBrokers, ","), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	return k
}

// sinkRecords are n JDBC-sink-ready records (JSON with schemas) keyed
// from first on.
func sinkRecords(topic string, first, n int) []*kgo.Record {
	var recs []*kgo.Record
	for i := first; i < first+n; i++ {
		recs = append(recs, &kgo.Record{
			Topic: topic,
			Key:   fmt.Appendf(nil, `{"schema":{"type":"struct","fields":[{"field":"id","type":"int32","optional":false}]},"payload":{"id":%d}}`, i),
			Value: fmt.Appendf(nil, `{"schema":{"type":"struct","fields":[{"field":"id","type":"int32","optional":false},{"field":"v","type":"string","optional":true}]},"payload":{"id":%d,"v":"x"}}`, i),
		})
	}
	return recs
}

// The whole story on the real pipeline: a sink that keeps up has no lag;
// paused, what is produced piles up and ages; resumed, it drains to 0.
func TestRealSinkLagGrowsWhilePausedAndDrainsOnResume(t *testing.T) {
	p := testenv.Need(t)
	c := connecttest.Local(t, p)
	k := realKafka(t, p)
	name := "it-sinklag"
	topic := name
	db := p.TargetDB(t)
	db.Exec(`DROP TABLE IF EXISTS it_sinklag`)
	t.Cleanup(func() { db.Exec(`DROP TABLE IF EXISTS it_sinklag`) })
	createTopic(t, k, topic)
	testSink(t, p, c, name, "it_sinklag", map[string]string{"schema.evolution": "basic"})

	records := `cdc_sink_consumer_lag_records{connect_cluster="local",connector="` + name + `",topic="` + topic + `"}`
	seconds := `cdc_sink_consumer_lag_seconds{connect_cluster="local",connector="` + name + `",topic="` + topic + `"}`
	scrape := func() string {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return collect(t, ctx, NewConnectCollector(c), NewSinkLagCollector(k, c))
	}
	// until polls scrapes until ok accepts one, or fails after d.
	until := func(d time.Duration, what string, ok func(out string) bool) string {
		t.Helper()
		deadline := time.Now().Add(d)
		for {
			out := scrape()
			if ok(out) {
				return out
			}
			if time.Now().After(deadline) {
				t.Fatalf("after %s still not %s:\n%s", d, what, grepAll(out, "cdc_sink_consumer_lag", "cdc_scrape_collector_success", `connector="`+name+`"`))
			}
			time.Sleep(time.Second)
		}
	}
	is := func(series string, want float64) func(string) bool {
		return func(out string) bool { v, ok := metricValue(out, series); return ok && v == want }
	}
	produceSync := func(recs []*kgo.Record) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := k.Kgo().ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	produceSync(sinkRecords(topic, 1, 3))
	until(120*time.Second, "caught up", func(out string) bool { return is(records, 0)(out) && is(seconds, 0)(out) })

	if err := c.Pause(context.Background(), name); err != nil {
		t.Fatal(err)
	}
	until(60*time.Second, "paused", func(out string) bool {
		return strings.Contains(out, `cdc_connect_task_state{connect_cluster="local",connector="`+name+`",state="PAUSED",task="0"} 1`)
	})
	produceSync(sinkRecords(topic, 100, 25))
	out := until(60*time.Second, "25 records behind", is(records, 25))
	first, ok := metricValue(out, seconds)
	if !ok {
		t.Fatalf("no age while 25 records wait:\n%s", grepAll(out, "cdc_sink_consumer_lag"))
	}
	until(60*time.Second, "ageing", func(out string) bool {
		v, ok := metricValue(out, seconds)
		return ok && v > first && is(records, 25)(out)
	})

	if err := c.Resume(context.Background(), name); err != nil {
		t.Fatal(err)
	}
	until(120*time.Second, "drained", func(out string) bool { return is(records, 0)(out) && is(seconds, 0)(out) })
}

// A sink whose group is renamed by consumer.override.group.id is read
// from that group.
func TestRealSinkLagFollowsTheOverriddenGroup(t *testing.T) {
	p := testenv.Need(t)
	c := connecttest.Local(t, p)
	k := realKafka(t, p)
	name := "it-sinklag-group"
	db := p.TargetDB(t)
	db.Exec(`DROP TABLE IF EXISTS it_sinklag_group`)
	t.Cleanup(func() { db.Exec(`DROP TABLE IF EXISTS it_sinklag_group`) })
	createTopic(t, k, name)
	testSink(t, p, c, name, "it_sinklag_group", map[string]string{"schema.evolution": "basic", "consumer.override.group.id": "it-sinklag-custom-group"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := k.Kgo().ProduceSync(ctx, sinkRecords(name, 1, 2)...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	want := `cdc_sink_consumer_lag_records{connect_cluster="local",connector="` + name + `",topic="` + name + `"} 0`
	deadline := time.Now().Add(120 * time.Second)
	for {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		out := collect(t, sctx, NewSinkLagCollector(k, c))
		scancel()
		if strings.Contains(out, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s:\n%s", want, grepAll(out, "cdc_sink_consumer_lag"))
		}
		time.Sleep(time.Second)
	}
	lags := k.GroupBacklogs(ctx, []string{"connect-" + name}, kafka.BacklogOptions{})
	if gl := lags["connect-"+name]; len(gl.Topics) != 0 {
		t.Errorf("the default group must not be the one used: %+v", gl)
	}
}

// grepAll keeps the lines that contain any of subs.
func grepAll(s string, subs ...string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		for _, sub := range subs {
			if strings.Contains(l, sub) {
				b.WriteString(l + "\n")
				break
			}
		}
	}
	return b.String()
}
