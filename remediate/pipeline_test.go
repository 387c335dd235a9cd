package remediate

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect/connecttest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectaction"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectaction/actionkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// On the real local pipeline: a sink of our own whose target table has a
// column of the wrong type fails its task (errors.tolerance=none); once
// the table is fixed, the alert restarts the task and the remediator
// verifies it RUNNING. A DLQ alert then pauses that sink, and its
// resolution resumes it.
func TestRealPipelineRestartsAFailedSinkTaskAndPausesOnDLQ(t *testing.T) {
	p := testenv.Need(t)
	ctx := context.Background()
	suffix := fmt.Sprintf("%06d", rand.IntN(1_000_000))
	// The orders topic: customers may hold other tests' poison records.
	name, table := "rem-sink-"+suffix, "rem_orders_"+suffix

	// Closed after the cleanups below, which use them.
	target := p.TargetDB(t)
	kc := p.KafkaClient(t)
	// note is text upstream: integer here makes every insert fail.
	if _, err := target.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE %s (customer_id integer, order_no text, amount numeric(12,2),
		note integer, created_at timestamp, updated_at timestamptz, __source_ts_ms bigint, PRIMARY KEY (customer_id, order_no))`, table)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = target.ExecContext(context.Background(), "DROP TABLE IF EXISTS "+table) })

	client := connecttest.Local(t, p)
	demo, err := client.Config(ctx, p.Env["CDC_SINK_CONNECTOR"])
	if err != nil {
		t.Fatalf("reading demo-sink's config to copy its connection settings: %v", err)
	}
	cfg := map[string]string{
		"connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector", "tasks.max": "1",
		"connection.url": demo["connection.url"], "connection.username": demo["connection.username"],
		"connection.password": demo["connection.password"],
		"topics":              "demo.inventory.orders", "collection.name.format": table,
		"insert.mode": "upsert", "primary.key.mode": "record_key", "delete.enabled": "true",
		"schema.evolution": "basic", "database.time_zone": "UTC",
		"transforms": "unwrap", "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
		"transforms.unwrap.add.fields":                     "source.ts_ms",
		"transforms.unwrap.delete.tombstone.handling.mode": "tombstone",
		"key.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter": "org.apache.kafka.connect.json.JsonConverter",
		"consumer.override.auto.offset.reset": "earliest", "errors.tolerance": "none",
	}
	// Runs after the connector is deleted (cleanups run last-first): the
	// sink's consumer group would otherwise stay in Kafka.
	t.Cleanup(func() {
		// The worker leaves the group a moment after the delete; until
		// then Kafka answers NON_EMPTY_GROUP.
		for i := 0; i < 30; i++ {
			resp, err := kadm.NewClient(kc).DeleteGroups(context.Background(), "connect-"+name)
			if err == nil && resp.Error() == nil {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
	})
	if _, err := client.PutConfig(ctx, name, cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Delete(context.Background(), name) })

	st := waitState(t, client, name, 90*time.Second, func(s *connect.Status) bool {
		return len(s.Tasks) > 0 && s.Tasks[0].State == connect.StateFailed
	})
	t.Logf("task failed as arranged: %s", connect.RootCause(st.Tasks[0].Trace))
	if d := connectaction.Decide(connectaction.Action{Kind: actionkind.RestartTask, Connector: name}, st); d.Verdict == connectaction.Unfixable {
		t.Fatalf("a type mismatch found unfixable (%s): a restart after fixing the table must stay possible", d.Reason)
	}
	if _, err := target.ExecContext(ctx, "ALTER TABLE "+table+" ALTER COLUMN note TYPE text"); err != nil {
		t.Fatal(err)
	}

	h := &harness{
		t: t, conn: client, clock: &clock{now: time.Now()}, dbPath: t.TempDir() + "/" + BoltFile,
		cfg: mustParse(t, fmt.Sprintf(`
connect_clusters:
  - name: local
    url: %s
remediation:
  verify_timeout: 60s
  rules:
    - name: restart-failed-task
      match: ['alertname="CDCConnectorTaskFailed"']
      action: restart_task
    - name: pause-on-dlq
      match: ['alertname="CDCSinkDeadLetterQueueGrowing"']
      action: pause_connector
      on_resolved: resume_connector
`, p.ConnectURL)),
	}
	h.metrics, _ = NewMetrics(nil)
	h.clusterName = "local"
	h.start()
	defer h.stop()

	h.clock.Set(time.Now())
	start := time.Now().Add(-30 * time.Second)
	h.notify(firing(start, "alertname", "CDCConnectorTaskFailed", "connect_cluster", "local", "connector", name, "task", "0"))
	rec := h.waitAuditFor(1, 90*time.Second)[0]
	if rec.Outcome != OutcomeSuccess {
		t.Fatalf("restart: %+v", rec)
	}
	t.Logf("restart recorded: %s", rec.Detail)
	if s, err := client.Status(ctx, name); err != nil || s.Tasks[0].State != connect.StateRunning {
		t.Fatalf("after the restart: %+v, %v", s, err)
	}

	h.clock.Set(time.Now())
	dlq := firing(time.Now().Add(-10*time.Second), "alertname", "CDCSinkDeadLetterQueueGrowing", "connect_cluster", "local", "connector", name)
	h.notify(dlq)
	rec = h.waitAuditFor(2, 90*time.Second)[1]
	if rec.Action != "pause_connector" || rec.Outcome != OutcomeSuccess {
		t.Fatalf("pause: %+v", rec)
	}
	if s, _ := client.Status(ctx, name); s.Connector.State != connect.StatePaused {
		t.Fatalf("after the pause: %s", connectaction.DescribeState(s))
	}
	h.clock.Set(time.Now())
	h.notify(resolved(dlq, time.Now().Add(-time.Second)))
	rec = h.waitAuditFor(3, 90*time.Second)[2]
	if rec.Action != "resume_connector" || rec.Outcome != OutcomeSuccess {
		t.Fatalf("resume: %+v", rec)
	}
}

func mustParse(t *testing.T, y string) *config.Config {
	t.Helper()
	c, err := config.Parse("test.yml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func waitState(t *testing.T, c *connect.Client, name string, within time.Duration, ok func(*connect.Status) bool) *connect.Status {
	t.Helper()
	deadline := time.Now().Add(within)
	var last *connect.Status
	for time.Now().Before(deadline) {
		s, err := c.Status(context.Background(), name)
		if err == nil {
			last = s
			if ok(s) {
				return s
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	desc := "no status"
	if last != nil {
		desc = connectaction.DescribeState(last)
		for _, tk := range last.Tasks {
			if tk.Trace != "" {
				desc += "; " + strings.SplitN(tk.Trace, "\n", 2)[0]
			}
		}
	}
	t.Fatalf("%s did not reach the expected state within %s: %s", name, within, desc)
	return nil
}
