package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect/connecttest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// pipeline is the test's handle on the shared local pipeline. Everything it
// creates (topics, tables, connectors) carries the run's prefix and is
// removed when the test ends, so other tests see none of it.
type pipeline struct {
	env     *testenv.Pipeline
	prefix  string
	connect *connect.Client
	kafka   *kgo.Client
	admin   *kadm.Client
}

func newPipeline(t *testing.T, env *testenv.Pipeline, prefix string) *pipeline {
	t.Helper()
	cc := connecttest.Local(t, env)
	kc, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(env.KafkaBrokers, ",")...), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	return &pipeline{env: env, prefix: prefix, connect: cc, kafka: kc, admin: kadm.NewClient(kc)}
}

func (p *pipeline) exec(t *testing.T, dsn string, stmts ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connecting to %s: %v", redact(dsn), err)
	}
	defer conn.Close(ctx)
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// execCleanup runs statements at cleanup, logging failures only.
func (p *pipeline) execCleanup(t *testing.T, dsn string, stmts ...string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Logf("cleanup: %v", err)
			return
		}
		defer conn.Close(ctx)
		for _, s := range stmts {
			if _, err := conn.Exec(ctx, s); err != nil {
				t.Logf("cleanup %s: %v", s, err)
			}
		}
	})
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(dsn)"
	}
	return u.Redacted()
}

func (p *pipeline) createTopics(t *testing.T, names ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	resp, err := p.admin.CreateTopics(ctx, 1, 1, nil, names...)
	if err != nil {
		t.Fatalf("creating topics %v: %v", names, err)
	}
	for _, r := range resp.Sorted() {
		if r.Err != nil {
			t.Fatalf("creating topic %s: %v", r.Topic, r.Err)
		}
	}
	t.Cleanup(func() { p.deleteTopics(t, names...) })
}

func (p *pipeline) deleteTopics(t *testing.T, names ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := p.admin.DeleteTopics(ctx, names...); err != nil {
		t.Logf("cleanup: deleting topics %v: %v", names, err)
	}
}

// produce writes records synchronously.
func (p *pipeline) produce(t *testing.T, topic string, records ...[2][]byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	rs := make([]*kgo.Record, len(records))
	for i, kv := range records {
		rs[i] = &kgo.Record{Topic: topic, Key: kv[0], Value: kv[1]}
	}
	if err := p.kafka.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatalf("producing to %s: %v", topic, err)
	}
}

// jsonRecord is a key/value pair in the JsonConverter's schema-and-payload
// shape, which the JDBC sink needs to build its SQL.
func jsonRecord(id int, v string) [2][]byte {
	key := map[string]any{
		"schema":  map[string]any{"type": "struct", "optional": false, "fields": []any{map[string]any{"field": "id", "type": "int32", "optional": false}}},
		"payload": map[string]any{"id": id},
	}
	value := map[string]any{
		"schema": map[string]any{"type": "struct", "optional": false, "fields": []any{
			map[string]any{"field": "id", "type": "int32", "optional": false},
			map[string]any{"field": "v", "type": "string", "optional": true},
		}},
		"payload": map[string]any{"id": id, "v": v},
	}
	k, _ := json.Marshal(key)
	val, _ := json.Marshal(value)
	return [2][]byte{k, val}
}

// sinkConfig is a Debezium JDBC sink writing topic into the target
// database's table.
func (p *pipeline) sinkConfig(topic, table string) map[string]string {
	cfg := p.env.JDBCSink(topic, table)
	// Fail fast instead of retrying a refused batch.
	cfg["flush.max.retries"] = "0"
	return cfg
}

func (p *pipeline) createConnector(t *testing.T, name string, cfg map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if _, err := p.connect.PutConfig(ctx, name, cfg); err != nil {
		t.Fatalf("creating connector %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := p.connect.Delete(ctx, name); err != nil && !errors.Is(err, connect.ErrNotFound) {
			t.Logf("cleanup: deleting connector %s: %v", name, err)
		}
	})
}

// fragileSink creates a running JDBC sink from topic name into table name
// whose target refuses the value "poison" (a CHECK constraint) and whose
// task fails on it (errors.tolerance=none); healSink removes the cause.
func (p *pipeline) fragileSink(t *testing.T, name string) {
	t.Helper()
	p.exec(t, p.env.TargetDSN,
		fmt.Sprintf(`CREATE TABLE %s (id int PRIMARY KEY, v text, CONSTRAINT %[1]s_reject CHECK (v <> 'poison'))`, name))
	p.execCleanup(t, p.env.TargetDSN, "DROP TABLE IF EXISTS "+name)
	p.createTopics(t, name)
	cfg := p.sinkConfig(name, name)
	cfg["errors.tolerance"] = "none"
	p.createConnector(t, name, cfg)
	p.waitTaskState(t, name, "RUNNING", 2*time.Minute)
}

func (p *pipeline) healSink(t *testing.T, name string) {
	t.Helper()
	p.exec(t, p.env.TargetDSN, fmt.Sprintf(`ALTER TABLE %s DROP CONSTRAINT %[1]s_reject`, name))
}

// state returns the connector's state and its first task's (or "").
func (p *pipeline) state(ctx context.Context, name string) (connector, task string, trace string, err error) {
	st, err := p.connect.Status(ctx, name)
	if err != nil {
		return "", "", "", err
	}
	if len(st.Tasks) > 0 {
		task, trace = st.Tasks[0].State, st.Tasks[0].Trace
	}
	return st.Connector.State, task, trace, nil
}

func (p *pipeline) waitTaskState(t *testing.T, name, want string, timeout time.Duration) time.Time {
	t.Helper()
	return eventually(t, fmt.Sprintf("connector %s task 0 %s", name, want), timeout, func(ctx context.Context) (bool, error) {
		_, task, _, err := p.state(ctx, name)
		return task == want, err
	})
}

func (p *pipeline) count(t *testing.T, dsn, query string) int {
	t.Helper()
	var n int
	p.queryRow(t, dsn, query, &n)
	return n
}

// queryRow scans the one row query returns into dest.
func (p *pipeline) queryRow(t *testing.T, dsn, query string, dest ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connecting to %s: %v", redact(dsn), err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, query).Scan(dest...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// replication is a replication of the scenario's own: a Debezium
// PostgreSQL source (its own slot and publication) capturing the source's
// public.<table> into topic, and a JDBC sink writing topic into the
// target's public.<table>. With signals, the source also reads signals
// from public.<signal> and writes notifications to a topic of its own, as
// a reconcile's repair needs.
type replication struct {
	table, signal, topic string
	source, sink         string
}

// replicate sets up a replication with rows rows (id, name 'item ' || id)
// and returns once the snapshot has reached the target; all of it goes at
// cleanup.
func (p *pipeline) replicate(t *testing.T, rows int, signals bool) replication {
	t.Helper()
	r := replication{table: p.prefix + "_items", source: p.prefix + "_src", sink: p.prefix + "_sink"}
	r.topic = p.prefix + ".public." + r.table
	slot, pub := p.prefix+"_slot", p.prefix+"_pub"
	captured, topics := "public."+r.table, []string{r.topic}
	create := []string{
		fmt.Sprintf(`CREATE TABLE public.%s (id int PRIMARY KEY, name text NOT NULL)`, r.table),
		fmt.Sprintf(`INSERT INTO public.%s SELECT g, 'item ' || g FROM generate_series(1, %d) g`, r.table, rows),
	}
	drop := []string{"DROP TABLE IF EXISTS public." + r.table, "DROP PUBLICATION IF EXISTS " + pub}
	src := p.env.PostgresSource(p.prefix, slot, pub, captured)
	if signals {
		r.signal = p.prefix + "_signal"
		notifications := p.prefix + ".notifications"
		captured += ", public." + r.signal
		topics = append(topics, notifications)
		create = append(create, fmt.Sprintf(`CREATE TABLE public.%s (id varchar(42) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048) NULL)`, r.signal))
		drop = append(drop, "DROP TABLE IF EXISTS public."+r.signal)
		src["signal.enabled.channels"] = "source"
		src["signal.data.collection"] = "public." + r.signal
		src["notification.enabled.channels"] = "sink"
		src["notification.sink.topic.name"] = notifications
	}
	// Cleanups run last-first: the connectors go before the slot they
	// hold, the publication and the tables.
	p.execCleanup(t, p.env.SourceDSN, drop...)
	t.Cleanup(func() { p.dropSlot(t, slot) })
	p.exec(t, p.env.SourceDSN, append(create, fmt.Sprintf(`CREATE PUBLICATION %s FOR TABLE %s`, pub, captured))...)
	p.exec(t, p.env.TargetDSN, fmt.Sprintf(`CREATE TABLE public.%s (id int PRIMARY KEY, name text NOT NULL)`, r.table))
	p.execCleanup(t, p.env.TargetDSN, "DROP TABLE IF EXISTS public."+r.table)
	p.createTopics(t, topics...)
	p.createConnector(t, r.source, src)
	p.createConnector(t, r.sink, p.sinkConfig(r.topic, r.table))
	eventually(t, "the snapshot at the target", 2*time.Minute, func(ctx context.Context) (bool, error) {
		return p.count(t, p.env.TargetDSN, "SELECT count(*) FROM public."+r.table) == rows, nil
	})
	return r
}

// dropSlot drops the replication slot, which stays active a moment after
// its connector is deleted.
func (p *pipeline) dropSlot(t *testing.T, slot string) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		conn, err := pgx.Connect(ctx, p.env.SourceDSN)
		if err == nil {
			_, err = conn.Exec(ctx, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", slot)
			conn.Close(ctx)
		}
		cancel()
		if err == nil || time.Now().After(deadline) {
			if err != nil {
				t.Logf("cleanup: dropping slot %s: %v", slot, err)
			}
			return
		}
		time.Sleep(time.Second)
	}
}
