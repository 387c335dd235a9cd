package collector

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
)

// hangingConnect is a Connect worker that accepts connections and never
// answers, until release is closed or the request is given up.
func hangingConnect(t *testing.T, release <-chan struct{}) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
			http.Error(w, `{"error_code":503,"message":"worker stopped"}`, http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// healthyConnect answers the expanded listing with one sink connector
// whose dead-letter queue is topic.
func healthyConnect(t *testing.T, connector, topic string) *httptest.Server {
	t.Helper()
	body := fmt.Sprintf(`{%q: {
	  "status": {"name": %q, "connector": {"state": "RUNNING", "worker_id": "w1:8083"}, "tasks": [{"id": 0, "state": "RUNNING", "worker_id": "w1:8083"}], "type": "sink"},
	  "info": {"name": %q, "config": {"connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector", %q: %q}, "tasks": [{"connector": %q, "task": 0}], "type": "sink"}}}`,
		connector, connector, connector, connectorkind.KeyDLQTopic, topic, connector)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/connectors" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func connectClient(t *testing.T, name, url string) *connect.Client {
	t.Helper()
	c, err := connect.New(config.ConnectCluster{Name: name, URL: url})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// deadlineKafka is a Kafka that answers at once but, like the real
// client, fails a call whose context has already expired. It calls
// onEndOffsets with the topics of every call.
type deadlineKafka struct {
	ends         map[string]kafka.TopicEnd
	onEndOffsets func(topics []string)
}

func (k *deadlineKafka) EndOffsets(ctx context.Context, topics ...string) (map[string]kafka.TopicEnd, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("listing end offsets: %w", err)
	}
	if k.onEndOffsets != nil {
		k.onEndOffsets(topics)
	}
	out := map[string]kafka.TopicEnd{}
	for _, t := range topics {
		out[t] = k.ends[t]
	}
	return out, nil
}

func (k *deadlineKafka) Ping(ctx context.Context) error { return ctx.Err() }

// A Connect cluster that hangs must cost only its own DLQ series: the
// healthy cluster's counters are read as soon as its listing is in, and
// Kafka is not reported down. The hanging worker is let go only once
// the healthy cluster's DLQ topic has been read, so a collector that
// waits for every listing first never reads it before the deadline.
func TestDLQCollectorReadsEachClusterWithoutWaitingForAHangingOne(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	k := &deadlineKafka{
		ends: map[string]kafka.TopicEnd{"orders-dlq": {Records: 4, Exists: true}},
		onEndOffsets: func(topics []string) {
			if slices.Contains(topics, "orders-dlq") {
				once.Do(func() { close(release) })
			}
		},
	}
	hung := connectClient(t, "hung", hangingConnect(t, release).URL)
	healthy := connectClient(t, "healthy", healthyConnect(t, "orders-sink", "orders-dlq").URL)

	// The deadline only bounds a collector that waits for the hung
	// cluster; a correct one finishes long before it.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out := collect(t, ctx, NewConnectCollector(hung, healthy), NewDLQCollector(k, hung, healthy))
	for _, want := range []string{
		"cdc_kafka_up 1",
		`cdc_dlq_records_total{connect_cluster="healthy",connector="orders-sink",topic="orders-dlq"} 4`,
		`cdc_connect_up{connect_cluster="healthy"} 1`,
		`cdc_connect_up{connect_cluster="hung"} 0`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
	if strings.Contains(out, `cdc_dlq_records_total{connect_cluster="hung"`) {
		t.Errorf("the hung cluster has DLQ series:\n%s", out)
	}
}

// With no DLQ topic to read anywhere (the only cluster hangs), whether
// Kafka is up is still asked of Kafka, not of Connect.
func TestDLQCollectorReportsKafkaUpWhileTheOnlyClusterHangs(t *testing.T) {
	release := make(chan struct{})
	pinged := make(chan struct{})
	k := &pingSignal{deadlineKafka: &deadlineKafka{}, pinged: pinged}
	go func() {
		<-pinged
		close(release)
	}()
	hung := connectClient(t, "hung", hangingConnect(t, release).URL)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out := collect(t, ctx, NewDLQCollector(k, hung))
	if !strings.Contains(out, "cdc_kafka_up 1") {
		t.Errorf("Kafka answered yet is not reported up:\n%s", out)
	}
	if !strings.Contains(out, `cdc_scrape_collector_success{collector="dlq"} 0`) {
		t.Errorf("the failed listing must fail the collector:\n%s", out)
	}
}

type pingSignal struct {
	*deadlineKafka
	pinged chan struct{}
	once   sync.Once
}

func (p *pingSignal) Ping(ctx context.Context) error {
	err := p.deadlineKafka.Ping(ctx)
	p.once.Do(func() { close(p.pinged) })
	return err
}

// A collector waiting for the listing another collector started returns
// at its own deadline, not at the other's.
func TestConnectorsWaitEndsAtTheCallersDeadline(t *testing.T) {
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	}))
	defer srv.Close()
	hung := connectClient(t, "hung", srv.URL)
	ctx := withListingMemo(context.Background())
	first, stopFirst := context.WithCancel(ctx)
	defer stopFirst()
	go func() { _, _ = Connectors(first, hung) }()
	<-arrived // the first caller's listing is in flight

	second, cancel := context.WithCancel(ctx)
	cancel()
	done := make(chan error, 1)
	go func() {
		_, err := Connectors(second, hung)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "waiting for the listing") {
			t.Fatalf("want the caller's own cancellation while waiting, got %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a cancelled caller is still waiting for another caller's listing")
	}
}

// ctxOffsets answers offsets like a real client, failing once its
// context has expired, and calls onOffsets first.
type ctxOffsets struct {
	*fakeOffsets
	onOffsets func()
}

func (c *ctxOffsets) Offsets(ctx context.Context, name string) ([]connect.Offset, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.onOffsets()
	return c.fakeOffsets.Offsets(ctx, name)
}

// A hanging cluster listed first must not hold up the offset lag of a
// healthy one listed after it.
func TestOffsetsCollectorDoesNotWaitForAHangingCluster(t *testing.T) {
	db, _ := erpThirtySecondsBehind(t)

	release := make(chan struct{})
	var once sync.Once
	healthy := &ctxOffsets{
		fakeOffsets: &fakeOffsets{
			fakeCluster: &fakeCluster{name: "healthy", conns: []connect.Connector{conn("erp-source", "source", connectorkind.ClassSQLServer, "RUNNING")}},
			offsets: map[string][]connect.Offset{"erp-source": {{
				Partition: map[string]any{"server": "erp", "database": "erp"},
				Offset:    map[string]any{"commit_lsn": "0000002b:000002e3:0003"},
			}}},
		},
		onOffsets: func() { once.Do(func() { close(release) }) },
	}
	hung := connectClient(t, "hung", hangingConnect(t, release).URL)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out := collect(t, ctx, newOffsetsCollector([]*database.DB{db}, nil, hung, healthy))
	if !strings.Contains(out, `cdc_connector_offset_lag_seconds{connect_cluster="healthy",connector="erp-source"} 30`) {
		t.Errorf("the healthy cluster's offset lag is missing:\n%s", out)
	}
}
