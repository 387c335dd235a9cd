package collector

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect/connecttest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// The loss story on the real pipeline, with the admin API's
// DeleteRecords standing for retention: a paused sink falls behind, its
// topic's log start passes the group's committed offset, and the records
// in between are counted lost; resumed, the sink skips to the log start
// and the counter falls to 0 (a counter reset), while the headroom goes
// back to the whole retention.
func TestRealSinkRecordsLostWhileARealSinkIsPaused(t *testing.T) {
	p := testenv.Need(t)
	c := connecttest.Local(t, p)
	k := realKafka(t, p)
	name := fmt.Sprintf("it-sinkloss-%d", time.Now().UnixNano())
	table := strings.ReplaceAll(name, "-", "_")
	db := p.TargetDB(t)
	t.Cleanup(func() { db.Exec(`DROP TABLE IF EXISTS ` + table) })
	createTopic(t, k, name)
	adm := kadm.NewClient(k.Kgo())
	t.Cleanup(func() { adm.DeleteTopics(context.Background(), name) })
	testSink(t, p, c, name, table, map[string]string{"schema.evolution": "basic"})

	series := func(metric string) string {
		return metric + `{connect_cluster="local",connector="` + name + `",topic="` + name + `"}`
	}
	lost, headroom, retention, lagRecords := series("cdc_sink_records_lost_total"), series("cdc_sink_retention_headroom_seconds"), series("cdc_sink_retention_seconds"), series("cdc_sink_consumer_lag_records")
	until := func(d time.Duration, what string, ok func(out string) bool) string {
		t.Helper()
		deadline := time.Now().Add(d)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			out := collect(t, ctx, NewConnectCollector(c), NewSinkLagCollector(k, c), NewSinkRetentionCollector(k, c))
			cancel()
			if ok(out) {
				return out
			}
			if time.Now().After(deadline) {
				t.Fatalf("after %s still not %s:\n%s", d, what, grepAll(out, `connector="`+name+`"`, "cdc_scrape_collector_success"))
			}
			time.Sleep(time.Second)
		}
	}
	value := func(out, s string) float64 { v, _ := metricValue(out, s); return v }
	has := func(out, s string, want float64) bool { v, ok := metricValue(out, s); return ok && v == want }
	produce := func(first, n int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := k.Kgo().ProduceSync(ctx, sinkRecords(name, first, n)...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	produce(1, 10)
	out := until(120*time.Second, "caught up, keeping the whole retention", func(out string) bool {
		return has(out, lagRecords, 0) && has(out, lost, 0) && value(out, headroom) > 0 && value(out, headroom) == value(out, retention)
	})
	whole := value(out, retention)

	if err := c.Pause(context.Background(), name); err != nil {
		t.Fatal(err)
	}
	until(60*time.Second, "paused", func(out string) bool {
		return strings.Contains(out, `cdc_connect_task_state{connect_cluster="local",connector="`+name+`",state="PAUSED",task="0"} 1`)
	})
	produce(100, 30) // offsets 10..39, the sink committed 10
	until(60*time.Second, "30 records behind", func(out string) bool { return has(out, lagRecords, 30) })

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	del := kadm.Offsets{}
	del.AddOffset(name, 0, 30, -1) // retention deletes 10..29 the sink never read
	if _, err := adm.DeleteRecords(ctx, del); err != nil {
		t.Fatal(err)
	}
	out = until(60*time.Second, "20 records lost", func(out string) bool { return has(out, lost, 20) })
	if h := value(out, headroom); !(h > 0 && h < whole) {
		t.Errorf("headroom %v while behind, want between 0 and the retention %v", h, whole)
	}

	if err := c.Resume(context.Background(), name); err != nil {
		t.Fatal(err)
	}
	until(120*time.Second, "skipped past the gap: nothing lost now, the whole retention again", func(out string) bool {
		return has(out, lagRecords, 0) && has(out, lost, 0) && has(out, headroom, whole)
	})
}
