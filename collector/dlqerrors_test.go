package collector

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/dlq/dlqtest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
)

// fakeDLQ is an in-memory Kafka holding DLQ topics of one partition
// each (partition 1 too, when a test adds records to it), whose reads
// can fail or hang.
type fakeDLQ struct {
	*dlqtest.Log
	mu      sync.Mutex
	endsErr error
	readErr map[kafka.Partition]error
	hang    map[string]bool // topics whose reads wait for ctx
	reads   []int64         // from offsets asked
}

func newFakeDLQ() *fakeDLQ {
	return &fakeDLQ{Log: dlqtest.NewLog(), readErr: map[kafka.Partition]error{}, hang: map[string]bool{}}
}

// add appends n dead-lettered records to topic[partition], with the
// context headers Connect writes (none when stage is "").
func (f *fakeDLQ) add(topic string, partition int32, n int, connector, stage, exception string) {
	for range n {
		r := &kgo.Record{Topic: topic, Partition: partition, Value: []byte("bad")}
		if stage != "" {
			r.Headers = dlqtest.ErrorContext{Topic: "orders", Connector: connector, Stage: stage, Exception: exception, Message: "row 42: secret value"}.Headers()
		}
		f.Append(r)
	}
}

func (f *fakeDLQ) PartitionEnds(ctx context.Context, topics ...string) (map[string]kafka.TopicPartitions, error) {
	f.mu.Lock()
	err := f.endsErr
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return f.Log.PartitionEnds(ctx, topics...)
}

func (f *fakeDLQ) ReadRecords(ctx context.Context, p kafka.Partition, from int64, max int) (kafka.ReadResult, error) {
	f.mu.Lock()
	hang := f.hang[p.Topic]
	f.mu.Unlock()
	if hang {
		<-ctx.Done()
	}
	if ctx.Err() != nil {
		return kafka.ReadResult{Next: from}, ctx.Err()
	}
	f.mu.Lock()
	f.reads = append(f.reads, from)
	err := f.readErr[p]
	f.mu.Unlock()
	if err != nil {
		return kafka.ReadResult{Next: from}, err
	}
	return f.Log.ReadRecords(ctx, p, from, max)
}

func dlqCluster(sinks ...connect.Connector) *fakeCluster {
	return &fakeCluster{name: "prod", conns: sinks}
}

func TestDLQErrorsCountsNewRecordsByStageAndException(t *testing.T) {
	k := newFakeDLQ()
	k.add("orders-dlq", 0, 3, "orders-sink", "VALUE_CONVERTER", "org.apache.kafka.connect.errors.DataException") // before cdc-sentinel
	c := NewDLQErrorsCollector(k, dlqCluster(sinkWithDLQ("orders-sink", "orders-dlq"), sinkWithDLQ("other-sink", "")))

	out := collect(t, context.Background(), c)
	if strings.Contains(out, "cdc_dlq_errors_total{") {
		t.Errorf("records dead-lettered before cdc-sentinel watched must not be counted:\n%s", out)
	}
	if !strings.Contains(out, `cdc_dlq_errors_skipped_total{connect_cluster="prod",connector="orders-sink",topic="orders-dlq"} 0`) {
		t.Errorf("the skipped counter must exist from the start:\n%s", out)
	}

	k.add("orders-dlq", 0, 2, "orders-sink", "VALUE_CONVERTER", "org.apache.kafka.connect.errors.DataException")
	k.add("orders-dlq", 0, 1, "orders-sink", "TASK_PUT", "java.sql.BatchUpdateException")
	out = collect(t, context.Background(), c)
	want := `# HELP cdc_dlq_errors_total ` + strings.SplitN(out[strings.Index(out, "# HELP cdc_dlq_errors_total ")+len("# HELP cdc_dlq_errors_total "):], "\n", 2)[0] + `
# TYPE cdc_dlq_errors_total counter
cdc_dlq_errors_total{connect_cluster="prod",connector="orders-sink",exception="java.sql.BatchUpdateException",stage="TASK_PUT",topic="orders-dlq"} 1
cdc_dlq_errors_total{connect_cluster="prod",connector="orders-sink",exception="org.apache.kafka.connect.errors.DataException",stage="VALUE_CONVERTER",topic="orders-dlq"} 2
`
	if !strings.Contains(out, want) {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	if strings.Contains(out, "secret value") {
		t.Error("the exception message (row data) must never become a label")
	}

	// Nothing new: the counters hold.
	out = collect(t, context.Background(), c)
	if !strings.Contains(out, `exception="org.apache.kafka.connect.errors.DataException",stage="VALUE_CONVERTER",topic="orders-dlq"} 2`) {
		t.Errorf("counters must hold between scrapes:\n%s", out)
	}
}

func TestDLQErrorsWithoutContextHeadersAreUnknown(t *testing.T) {
	k := newFakeDLQ()
	c := NewDLQErrorsCollector(k, dlqCluster(sinkWithDLQ("s", "s-dlq")))
	collect(t, context.Background(), c) // topic does not exist yet
	k.add("s-dlq", 0, 4, "", "", "")
	out := collect(t, context.Background(), c)
	if !strings.Contains(out, `cdc_dlq_errors_total{connect_cluster="prod",connector="s",exception="unknown",stage="unknown",topic="s-dlq"} 4`) {
		t.Errorf("a topic created after cdc-sentinel started is read from its start; no headers is unknown:\n%s", out)
	}
}

func TestDLQErrorsReadsAtMostABoundPerScrapeAndCountsTheRestSkipped(t *testing.T) {
	k := newFakeDLQ()
	k.add("s-dlq", 0, 1, "s", "TASK_PUT", "E")
	c := NewDLQErrorsCollector(k, dlqCluster(sinkWithDLQ("s", "s-dlq")))
	collect(t, context.Background(), c)
	k.add("s-dlq", 0, dlqReadPerPartition+120, "s", "TASK_PUT", "E")
	out := collect(t, context.Background(), c)
	for _, want := range []string{
		fmt.Sprintf(`cdc_dlq_errors_total{connect_cluster="prod",connector="s",exception="E",stage="TASK_PUT",topic="s-dlq"} %d`, dlqReadPerPartition),
		`cdc_dlq_errors_skipped_total{connect_cluster="prod",connector="s",topic="s-dlq"} 120`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
	if got := k.reads[len(k.reads)-1]; got != 1+120 {
		t.Errorf("read from %d, want the newest %d records (from 121)", got, dlqReadPerPartition)
	}
}

func TestDLQErrorsRetentionGapIsSkipped(t *testing.T) {
	k := newFakeDLQ()
	k.add("s-dlq", 0, 1, "s", "TASK_PUT", "E")
	c := NewDLQErrorsCollector(k, dlqCluster(sinkWithDLQ("s", "s-dlq")))
	collect(t, context.Background(), c)
	k.add("s-dlq", 0, 10, "s", "TASK_PUT", "E")
	k.Trim(kafka.Partition{Topic: "s-dlq"}, 5) // offsets 1-4 deleted before they were read
	out := collect(t, context.Background(), c)
	for _, want := range []string{
		`cdc_dlq_errors_total{connect_cluster="prod",connector="s",exception="E",stage="TASK_PUT",topic="s-dlq"} 6`,
		`cdc_dlq_errors_skipped_total{connect_cluster="prod",connector="s",topic="s-dlq"} 4`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
}

func TestDLQErrorsExceptionLabelsAreBounded(t *testing.T) {
	k := newFakeDLQ()
	k.add("s-dlq", 0, 1, "s", "TASK_PUT", "E")
	c := NewDLQErrorsCollector(k, dlqCluster(sinkWithDLQ("s", "s-dlq")))
	collect(t, context.Background(), c)
	for i := range dlqExceptionsPerConnector + 5 {
		k.add("s-dlq", 0, 1, "s", "TASK_PUT", fmt.Sprintf("com.example.E%d", i))
	}
	k.add("s-dlq", 0, 1, "s", "NOT_A_STAGE", "not a class: row 7 has 'x'")
	out := collect(t, context.Background(), c)
	if n := strings.Count(out, "cdc_dlq_errors_total{"); n != dlqExceptionsPerConnector+2 {
		t.Errorf("%d series, want %d classes + other + the malformed one:\n%s", n, dlqExceptionsPerConnector, out)
	}
	for _, want := range []string{
		`cdc_dlq_errors_total{connect_cluster="prod",connector="s",exception="other",stage="TASK_PUT",topic="s-dlq"} 5`,
		`cdc_dlq_errors_total{connect_cluster="prod",connector="s",exception="other",stage="other",topic="s-dlq"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
}

func TestDLQErrorsSharedTopicIsAttributedByTheConnectorHeader(t *testing.T) {
	k := newFakeDLQ()
	k.add("shared-dlq", 0, 1, "a", "TASK_PUT", "E")
	c := NewDLQErrorsCollector(k, dlqCluster(sinkWithDLQ("a", "shared-dlq"), sinkWithDLQ("b", "shared-dlq")))
	collect(t, context.Background(), c)
	k.add("shared-dlq", 0, 2, "b", "TASK_PUT", "E")
	k.add("shared-dlq", 0, 1, "a", "TASK_PUT", "E")
	out := collect(t, context.Background(), c)
	for _, want := range []string{
		`cdc_dlq_errors_total{connect_cluster="prod",connector="a",exception="E",stage="TASK_PUT",topic="shared-dlq"} 1`,
		`cdc_dlq_errors_total{connect_cluster="prod",connector="b",exception="E",stage="TASK_PUT",topic="shared-dlq"} 2`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
}

func TestDLQErrorsUnreadableTopicIsLeftOutAndRetried(t *testing.T) {
	k := newFakeDLQ()
	k.add("a-dlq", 0, 1, "a", "TASK_PUT", "E")
	k.add("b-dlq", 0, 1, "b", "TASK_PUT", "E")
	c := NewDLQErrorsCollector(k, dlqCluster(sinkWithDLQ("a", "a-dlq"), sinkWithDLQ("b", "b-dlq")))
	collect(t, context.Background(), c)
	k.add("a-dlq", 0, 3, "a", "TASK_PUT", "E")
	k.add("b-dlq", 0, 3, "b", "TASK_PUT", "E")
	k.readErr[kafka.Partition{Topic: "a-dlq"}] = errors.New("NOT_LEADER_OR_FOLLOWER")
	out := collect(t, context.Background(), c)
	if strings.Contains(out, `topic="a-dlq"`) || !strings.Contains(out, `connector="b",exception="E",stage="TASK_PUT",topic="b-dlq"} 3`) {
		t.Errorf("only the unreadable topic is left out:\n%s", out)
	}
	if !strings.Contains(out, `cdc_scrape_collector_success{collector="dlq_errors"} 0`) {
		t.Errorf("the failure must show:\n%s", out)
	}
	delete(k.readErr, kafka.Partition{Topic: "a-dlq"})
	out = collect(t, context.Background(), c)
	if !strings.Contains(out, `connector="a",exception="E",stage="TASK_PUT",topic="a-dlq"} 3`) {
		t.Errorf("the records not read must be read on the next scrape:\n%s", out)
	}
}

func TestDLQErrorsKafkaDownFailsOnlyThisCollector(t *testing.T) {
	k := newFakeDLQ()
	k.endsErr = errors.New("dial tcp: connection refused")
	out := collect(t, context.Background(), NewDLQErrorsCollector(k, dlqCluster(sinkWithDLQ("a", "a-dlq"))), NewConnectCollector(dlqCluster(sinkWithDLQ("a", "a-dlq"))))
	if !strings.Contains(out, `cdc_scrape_collector_success{collector="dlq_errors"} 0`) || !strings.Contains(out, `cdc_scrape_collector_success{collector="connect"} 1`) {
		t.Errorf("unexpected:\n%s", out)
	}
}

func TestDLQErrorsForgetsDeletedConnectors(t *testing.T) {
	k := newFakeDLQ()
	k.add("a-dlq", 0, 1, "a", "TASK_PUT", "E")
	cl := dlqCluster(sinkWithDLQ("a", "a-dlq"))
	c := NewDLQErrorsCollector(k, cl)
	collect(t, context.Background(), c)
	k.add("a-dlq", 0, 1, "a", "TASK_PUT", "E")
	collect(t, context.Background(), c)
	cl.conns = nil
	collect(t, context.Background(), c)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.counts)+len(c.pos)+len(c.skipped)+len(c.classes)+len(c.known) != 0 {
		t.Errorf("state of a deleted connector is kept: %d counts, %d positions", len(c.counts), len(c.pos))
	}
}

func TestDLQErrorsOverlappingScrapesCountOnce(t *testing.T) {
	k := newFakeDLQ()
	k.add("s-dlq", 0, 1, "s", "TASK_PUT", "E")
	c := NewDLQErrorsCollector(k, dlqCluster(sinkWithDLQ("s", "s-dlq")))
	collect(t, context.Background(), c)
	k.add("s-dlq", 0, 50, "s", "TASK_PUT", "E")
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			collect(t, context.Background(), c)
		}()
	}
	wg.Wait()
	if out := collect(t, context.Background(), c); !strings.Contains(out, `topic="s-dlq"} 50`) {
		t.Errorf("concurrent scrapes must not count a record twice:\n%s", out)
	}
}

func TestDLQErrorsTopicWhoseLeaderHangsHoldsUpOnlyItself(t *testing.T) {
	k := newFakeDLQ()
	k.add("a-dlq", 0, 1, "a", "TASK_PUT", "E")
	k.add("b-dlq", 0, 1, "b", "TASK_PUT", "E")
	c := NewDLQErrorsCollector(k, dlqCluster(sinkWithDLQ("a", "a-dlq"), sinkWithDLQ("b", "b-dlq")))
	collect(t, context.Background(), c)
	k.add("a-dlq", 0, 2, "a", "TASK_PUT", "E")
	k.add("b-dlq", 0, 2, "b", "TASK_PUT", "E")
	k.mu.Lock()
	k.hang["a-dlq"] = true // sorted first: read first if topics were read in turn
	k.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out := collect(t, ctx, c)
	if !strings.Contains(out, `connector="b",exception="E",stage="TASK_PUT",topic="b-dlq"} 2`) || strings.Contains(out, `topic="a-dlq"`) {
		t.Errorf("b must be reported while a hangs:\n%s", out)
	}
}
