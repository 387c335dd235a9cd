package dlq

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	bolt "go.etcd.io/bbolt"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/dlq/dlqtest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka/kafkatest"
)

// memKafka is an in-memory Kafka that can fail part way through a
// produce.
type memKafka struct {
	*dlqtest.Log
	mu sync.Mutex
	// failAfter, when >= 0, makes Produce write that many records and
	// then fail, as a crash in the middle of a batch would: the records
	// written are not acknowledged, unless ackWritten is set (the
	// connection dropped after their acknowledgement).
	failAfter  int
	ackWritten bool
	produced   int
	// onAppend, when set, is told how many records Produce has written.
	onAppend func(produced int)
}

func newMemKafka() *memKafka {
	return &memKafka{Log: dlqtest.NewLog(), failAfter: -1}
}

func (m *memKafka) Produce(_ context.Context, recs ...*kgo.Record) ([]bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	acked := make([]bool, len(recs))
	for i, r := range recs {
		if m.failAfter >= 0 && m.produced >= m.failAfter {
			if !m.ackWritten {
				clear(acked)
			}
			return acked, errors.New("broker connection lost")
		}
		m.Append(r)
		m.produced++
		acked[i] = true
		if m.onAppend != nil {
			m.onAppend(m.produced)
		}
	}
	return acked, nil
}

// orig produces a record to the original topic; dead dead-letters it the
// way Connect does: the same key and value, with context headers.
func (m *memKafka) orig(topic string, part int32, key, value string) *kgo.Record {
	return m.Append(&kgo.Record{Topic: topic, Partition: part, Key: []byte(key), Value: []byte(value), Headers: []kgo.RecordHeader{{Key: "trace", Value: []byte("t1")}}})
}

func (m *memKafka) dead(dlqTopic string, r *kgo.Record, withContext bool) {
	m.deadBy(src.Connector, dlqTopic, r, withContext)
}

// deadN dead-letters n records of t[0], keyed prefix0, prefix1...
func (m *memKafka) deadN(prefix string, n int) {
	for i := range n {
		m.dead(src.Topic, m.orig("t", 0, fmt.Sprint(prefix, i), "v"), true)
	}
}

// deadBy dead-letters r as connector does.
func (m *memKafka) deadBy(connector, dlqTopic string, r *kgo.Record, withContext bool) *kgo.Record {
	d := &kgo.Record{Topic: dlqTopic, Key: r.Key, Value: r.Value, Headers: append([]kgo.RecordHeader{}, r.Headers...)}
	if withContext {
		d.Headers = append(d.Headers, dlqtest.ErrorContext{
			Topic: r.Topic, Partition: fmt.Sprint(r.Partition), Offset: fmt.Sprint(r.Offset), Connector: connector,
			Stage: "TASK_PUT", Exception: "java.sql.SQLException", Message: "column \"x\" does not exist",
		}.Headers()...)
	}
	return m.Append(d)
}

var src = Source{Cluster: "prod", Connector: "pg-sink", Topic: "pg-sink-dlq"}

func ledger(t *testing.T, dir string) *Ledger {
	t.Helper()
	l, err := OpenLedger(filepath.Join(dir, LedgerFile))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func replay(t *testing.T, k *memKafka, dir string, opts ReplayOptions) (*ReplayReport, error) {
	t.Helper()
	l := ledger(t, dir)
	defer l.Close()
	return NewReplayer(src, k, k, l, opts).Run(context.Background())
}

func markers(recs []*kgo.Record) []string {
	var out []string
	for _, r := range recs {
		for _, h := range r.Headers {
			if h.Key == MarkerHeader {
				out = append(out, string(h.Value))
			}
		}
	}
	return out
}

func TestReplaySendsEachRecordToItsOriginalPartitionOnce(t *testing.T) {
	k, dir := newMemKafka(), t.TempDir()
	a := k.orig("sql.dbo.orders", 1, "k1", "v1")
	b := k.orig("sql.dbo.orders", 1, "k2", "v2")
	c := k.orig("sql.dbo.customers", 0, "k3", "v3")
	for _, r := range []*kgo.Record{a, b, c} {
		k.dead(src.Topic, r, true)
	}
	k.dead(src.Topic, k.orig("sql.dbo.orders", 0, "k4", "v4"), false) // no context headers

	rep, err := replay(t, k, dir, ReplayOptions{CheckSuperseded: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Replayed != 3 || rep.ByTopic["sql.dbo.orders"] != 2 || rep.ByTopic["sql.dbo.customers"] != 1 || rep.NoContext != 1 {
		t.Errorf("report %+v", rep)
	}
	orders := k.Records("sql.dbo.orders", 1)
	if len(orders) != 4 || string(orders[2].Value) != "v1" || string(orders[3].Key) != "k2" {
		t.Fatalf("orders[1] after replay: %d records", len(orders))
	}
	for _, h := range orders[2].Headers {
		if strings.HasPrefix(h.Key, HeaderPrefix) {
			t.Errorf("Connect's error headers must not be sent back: %s", h.Key)
		}
	}
	if got := markers(orders[2:]); len(got) != 2 || got[0] != "pg-sink-dlq/0/0" || got[1] != "pg-sink-dlq/0/1" {
		t.Errorf("markers %v", got)
	}
	if string(orders[2].Headers[0].Value) != "t1" {
		t.Errorf("the record's own headers must be kept: %+v", orders[2].Headers)
	}

	rep, err = replay(t, k, dir, ReplayOptions{CheckSuperseded: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Replayed != 0 || rep.AlreadyReplayed != 3 || len(k.Records("sql.dbo.orders", 1)) != 4 {
		t.Errorf("a second replay must send nothing: %+v", rep)
	}
}

func TestReplayLeavesOutRecordsWithANewerChangeOfTheSameKey(t *testing.T) {
	k, dir := newMemKafka(), t.TempDir()
	old := k.orig("t", 0, "k1", "old")
	k.dead(src.Topic, old, true)
	k.orig("t", 0, "k1", "newer") // applied fine later
	k.dead(src.Topic, k.orig("t", 0, "k2", "only"), true)
	first := k.orig("t", 0, "k3", "first")
	second := k.orig("t", 0, "k3", "second")
	k.dead(src.Topic, first, true)
	k.dead(src.Topic, second, true) // both dead-lettered: only the newer goes

	rep, err := replay(t, k, dir, ReplayOptions{CheckSuperseded: true, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Replayed != 2 || len(rep.Superseded) != 2 || rep.Superseded[0] != (Ref{0, 0}) || rep.Superseded[1] != (Ref{0, 2}) {
		t.Errorf("dry run: %+v", rep)
	}
	if n := len(k.Records("t", 0)); n != 5 {
		t.Errorf("a dry run must send nothing: %d records", n)
	}
	rep, err = replay(t, k, dir, ReplayOptions{})
	if err != nil || rep.Replayed != 4 {
		t.Errorf("without the check every record goes: %+v, %v", rep, err)
	}
}

func TestReplayMaxAndFromOffset(t *testing.T) {
	k, dir := newMemKafka(), t.TempDir()
	k.deadN("k", 5)
	rep, err := replay(t, k, dir, ReplayOptions{Max: 2, FromOffset: 1})
	if err != nil || rep.Replayed != 2 || !rep.More {
		t.Fatalf("%+v, %v", rep, err)
	}
	if got := markers(k.Records("t", 0)); fmt.Sprint(got) != "[pg-sink-dlq/0/1 pg-sink-dlq/0/2]" {
		t.Errorf("sent %v", got)
	}
	rep, err = replay(t, k, dir, ReplayOptions{})
	if err != nil || rep.Replayed != 3 || rep.AlreadyReplayed != 2 || rep.More {
		t.Fatalf("the next run sends what is left, offset 0 included: %+v, %v", rep, err)
	}
}

func TestReplayInterruptedMidBatchIsFinishedWithoutSendingTwice(t *testing.T) {
	k, dir := newMemKafka(), t.TempDir()
	k.deadN("k", 7)
	k.failAfter = 3 // the connection drops after 3 of the batch were written
	if _, err := replay(t, k, dir, ReplayOptions{BatchSize: 5}); err == nil {
		t.Fatal("a failed send must fail the replay")
	}
	if got := markers(k.Records("t", 0)); len(got) != 3 {
		t.Fatalf("before recovery: %v", got)
	}
	dry, err := replay(t, k, dir, ReplayOptions{DryRun: true})
	if err != nil || dry.PendingInterrupted != 5 {
		t.Errorf("a dry run must say a batch waits: %+v, %v", dry, err)
	}
	k.failAfter = -1
	rep, err := replay(t, k, dir, ReplayOptions{BatchSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Recovered != 3 || rep.Resent != 2 || rep.Replayed != 2 {
		t.Errorf("recovery: %+v", rep)
	}
	got := markers(k.Records("t", 0))
	seen := map[string]int{}
	for _, m := range got {
		seen[m]++
	}
	if len(got) != 7 || len(seen) != 7 {
		t.Errorf("each of the 7 DLQ records must be sent exactly once: %v", got)
	}
}

func TestLedgerIsHeldByOneReplayAtATime(t *testing.T) {
	dir := t.TempDir()
	l := ledger(t, dir)
	defer l.Close()
	path := filepath.Join(dir, LedgerFile)
	_, err := OpenLedger(path)
	if !errors.Is(err, ErrLedgerBusy) {
		t.Fatalf("second open: %v, want ErrLedgerBusy", err)
	}
	if want := "replay ledger " + path + " is in use by another process: another dlq replay is running on this storage path"; err.Error() != want {
		t.Errorf("second open: %q, want %q", err, want)
	}
}

func TestRanges(t *testing.T) {
	var r Ranges
	for _, o := range []int64{5, 3, 4, 9, 4, 10, 0} {
		r = r.Add(o)
	}
	if fmt.Sprint(r) != "[[0 1] [3 6] [9 11]]" {
		t.Errorf("merged %v", r)
	}
	for o, want := range map[int64]bool{0: true, 1: false, 2: false, 3: true, 5: true, 6: false, 10: true, 11: false} {
		if r.Contains(o) != want {
			t.Errorf("Contains(%d) = %v", o, !want)
		}
	}
}

func TestInspectShowsTheNewestRecordsWithTheirOrigin(t *testing.T) {
	k := newMemKafka()
	for i := range 5 {
		k.dead(src.Topic, k.orig("t", 0, fmt.Sprint("k", i), fmt.Sprint("v", i)), true)
	}
	k.dead(src.Topic, &kgo.Record{Topic: "t", Key: []byte{0xff, 0x00}, Value: nil}, false)
	in, err := Inspect(context.Background(), k, "pg-sink", src.Topic, 3)
	if err != nil {
		t.Fatal(err)
	}
	if in.Total != 6 || len(in.Records) != 3 || in.Records[0].Offset != 3 || in.Records[1].OriginalOffset != 4 {
		t.Fatalf("%+v", in)
	}
	var table bytes.Buffer
	if err := in.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"6 records, showing the newest 3", "0@4", "t[0]@4", "TASK_PUT", "SQLException", `column "x" does not exist`, "context.headers.enable=true"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	var js bytes.Buffer
	if err := in.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Total   int64 `json:"total"`
		Records []map[string]any
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	last := doc.Records[2]
	if doc.Total != 6 || last["key"] != "/wA=" || last["key_encoding"] != "base64" || last["value"] != nil || last["has_context"] != false {
		t.Errorf("json record %v", last)
	}
	first := doc.Records[0]
	if first["original_topic"] != "t" || first["value"] != "v3" || first["value_encoding"] != "text" || first["exception_class"] != "java.sql.SQLException" || first["dlq_offset"] != float64(3) {
		t.Errorf("json record %v", first)
	}
}

func TestInspectSaysHowManyOfTheNewestRetentionDeleted(t *testing.T) {
	k := newMemKafka()
	for i := range 6 {
		k.dead(src.Topic, k.orig("t", 0, fmt.Sprint("k", i), fmt.Sprint("v", i)), true)
	}
	k.Trim(kafka.Partition{Topic: src.Topic}, 4)
	in, err := Inspect(context.Background(), k, "pg-sink", src.Topic, 5)
	if err != nil {
		t.Fatal(err)
	}
	if in.Total != 2 || len(in.Records) != 2 || in.Records[0].Offset != 4 || in.Deleted != 3 {
		t.Fatalf("total %d, %d records from %d, %d deleted; want 2, 2 from 4, 3 deleted", in.Total, len(in.Records), in.Records[0].Offset, in.Deleted)
	}
	var table bytes.Buffer
	if err := in.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if want := "2 records, showing the newest 2 (the 3 before them were deleted by retention)"; !strings.Contains(table.String(), want) {
		t.Errorf("table lacks %q:\n%s", want, table.String())
	}
}

func TestInspectMissingTopic(t *testing.T) {
	_, err := Inspect(context.Background(), newMemKafka(), "pg-sink", "nope", 10)
	if err == nil || !strings.Contains(err.Error(), "does not exist yet") {
		t.Errorf("err = %v", err)
	}
}

func TestReplaySendsKeylessRecordsEachOnce(t *testing.T) {
	k, dir := newMemKafka(), t.TempDir()
	for i := range 3 {
		k.dead(src.Topic, k.orig("t", 0, "", fmt.Sprint("v", i)), true)
	}
	for i := range 3 {
		k.dead(src.Topic, k.Append(&kgo.Record{Topic: "t", Value: fmt.Appendf(nil, "null-key-%d", i)}), true)
	}
	rep, err := replay(t, k, dir, ReplayOptions{CheckSuperseded: true})
	if err != nil {
		t.Fatal(err)
	}
	// The three empty (not null) keys are one key: only the newest goes.
	if rep.Replayed != 4 || len(rep.Superseded) != 2 {
		t.Errorf("a null key names no row and supersedes nothing: %+v", rep)
	}
	var nulls int
	for _, r := range k.Records("t", 0)[6:] {
		if r.Key == nil {
			nulls++
		}
	}
	if nulls != 3 {
		t.Errorf("%d keyless records replayed, want 3", nulls)
	}
}

func TestReplayOfASharedDLQSendsOnlyTheConnectorsOwnRecordsOnce(t *testing.T) {
	k, dir := newMemKafka(), t.TempDir()
	for i := range 4 {
		k.deadBy("pg-sink", src.Topic, k.orig("t", 0, fmt.Sprint("a", i), "v"), true)
		k.deadBy("mysql-sink", src.Topic, k.orig("t", 1, fmt.Sprint("b", i), "v"), true)
	}
	for _, check := range []bool{true, false} {
		rep, err := replay(t, k, dir, ReplayOptions{CheckSuperseded: check})
		if err != nil {
			t.Fatal(err)
		}
		if check && (rep.Replayed != 4 || rep.OtherConnector != 4) {
			t.Errorf("pg-sink's replay: %+v", rep)
		}
		if !check && (rep.Replayed != 0 || rep.AlreadyReplayed != 4) {
			t.Errorf("--no-superseded-check must not send again: %+v", rep)
		}
	}
	other := src
	other.Connector = "mysql-sink"
	l := ledger(t, dir)
	rep, err := NewReplayer(other, k, k, l, ReplayOptions{}).Run(context.Background())
	l.Close()
	if err != nil || rep.Replayed != 4 || rep.AlreadyReplayed != 4 {
		t.Errorf("mysql-sink's replay: %+v, %v", rep, err)
	}
	if n := len(k.Records("t", 0)); n != 8 {
		t.Errorf("t[0] holds %d records, want 4 and 4 replayed", n)
	}
	if n := len(k.Records("t", 1)); n != 8 {
		t.Errorf("t[1] holds %d records, want 4 and 4 replayed", n)
	}
}

func TestReplayAfterTheDLQTopicIsRecreatedSendsItsNewRecords(t *testing.T) {
	k, dir := newMemKafka(), t.TempDir()
	k.deadN("k", 10)
	if rep, err := replay(t, k, dir, ReplayOptions{CheckSuperseded: true}); err != nil || rep.Replayed != 10 {
		t.Fatalf("%+v, %v", rep, err)
	}
	k.deadN("cut", 3)
	k.failAfter = 1
	if _, err := replay(t, k, dir, ReplayOptions{}); err == nil {
		t.Fatal("the cut send must fail")
	}
	k.failAfter = -1
	k.Recreate(src.Topic)
	k.deadN("n", 10)
	rep, err := replay(t, k, dir, ReplayOptions{CheckSuperseded: true})
	if err != nil || rep.Replayed != 10 || rep.AlreadyReplayed != 0 || rep.Orphaned != 3 {
		t.Errorf("the recreated topic's records at the same offsets are new: %+v, %v", rep, err)
	}
	var text bytes.Buffer
	rep.WriteText(&text)
	if !strings.Contains(text.String(), "a batch of 3 records was cut short on an earlier topic named pg-sink-dlq") {
		t.Errorf("the report must say a batch went with the old topic:\n%s", text.String())
	}
}

// A ledger written before topic ids keys on the connector and the topic's
// name: its entries are taken to be the current topic's (so nothing is
// sent twice), moved to its id by the first write, and not inherited by a
// topic created later under the same name.
func TestLedgerEntriesFromBeforeTopicIDsAreTakenOverOnce(t *testing.T) {
	k, dir := newMemKafka(), t.TempDir()
	k.deadN("k", 5)
	l := ledger(t, dir)
	if err := l.db.Update(func(tx *bolt.Tx) error {
		top, err := tx.CreateBucketIfNotExists(bucketLegacy)
		if err != nil {
			return err
		}
		key, _ := json.Marshal([]string{src.Cluster, src.Connector, src.Topic})
		b, err := top.CreateBucket(key)
		if err != nil {
			return err
		}
		return putReplayed(b, map[int32]Ranges{0: {{0, 3}}})
	}); err != nil {
		t.Fatal(err)
	}
	l.Close()

	dry, err := replay(t, k, dir, ReplayOptions{DryRun: true})
	if err != nil || dry.Replayed != 2 || dry.AlreadyReplayed != 3 || dry.Legacy != 3 {
		t.Errorf("dry run: %+v, %v", dry, err)
	}
	rep, err := replay(t, k, dir, ReplayOptions{})
	if err != nil || rep.Replayed != 2 || rep.AlreadyReplayed != 3 {
		t.Fatalf("%+v, %v", rep, err)
	}
	var text bytes.Buffer
	rep.WriteText(&text)
	if !strings.Contains(text.String(), "before topic ids marks 3 records") {
		t.Errorf("the report must say the old entry was used:\n%s", text.String())
	}
	k.Recreate(src.Topic)
	k.deadN("n", 5)
	rep, err = replay(t, k, dir, ReplayOptions{})
	if err != nil || rep.Replayed != 5 || rep.Legacy != 0 {
		t.Errorf("after the topic is recreated: %+v, %v", rep, err)
	}
}

func TestReplayCutShortRecordsWhatWasAcknowledged(t *testing.T) {
	k, dir := newMemKafka(), t.TempDir()
	k.deadN("k", 6)
	k.failAfter, k.ackWritten = 2, true
	rep, err := replay(t, k, dir, ReplayOptions{BatchSize: 4})
	if err == nil || rep.Replayed != 2 {
		t.Fatalf("%+v, %v", rep, err)
	}
	l := ledger(t, dir)
	st, err := l.Load(Source{Topic: src.Topic, TopicID: rep.topicID(t)})
	l.Close()
	if err != nil || !st.Replayed[0].Contains(0) || !st.Replayed[0].Contains(1) || st.Replayed[0].Contains(2) || len(st.Pending.Refs) != 2 {
		t.Fatalf("the two acknowledged must be recorded, the other two pending: %+v, %v", st, err)
	}
	k.failAfter = -1
	rep, err = replay(t, k, dir, ReplayOptions{BatchSize: 4})
	if err != nil || rep.Recovered != 0 || rep.Resent != 2 || rep.Replayed != 2 {
		t.Errorf("%+v, %v", rep, err)
	}
}

func (rep *ReplayReport) topicID(t *testing.T) kafka.TopicID {
	t.Helper()
	for i := range 256 {
		id := kafka.TopicID{15: byte(i)}
		if id.String() == rep.TopicID {
			return id
		}
	}
	t.Fatalf("topic id %s", rep.TopicID)
	return kafka.TopicID{}
}

// hungKafka acknowledges the first n records of a send, writes nothing
// more and waits until the send's context ends, as a broker that hangs
// in the middle of a produce (and the producer's delivery timeout or a
// SIGTERM) would leave it.
type hungKafka struct {
	*memKafka
	n int
}

func (h *hungKafka) Produce(ctx context.Context, recs ...*kgo.Record) ([]bool, error) {
	acked, _ := h.memKafka.Produce(ctx, recs[:min(h.n, len(recs))]...)
	acked = append(acked, make([]bool, len(recs)-len(acked))...)
	<-ctx.Done()
	return acked, ctx.Err()
}

func TestReplayStoppedInTheMiddleOfASendRecordsWhatWasSentAndFinishesTheRest(t *testing.T) {
	k, dir := newMemKafka(), t.TempDir()
	k.deadN("k", 5)
	ctx, cancel := context.WithCancel(context.Background())
	k.onAppend = func(n int) {
		if n == 2 {
			cancel() // SIGTERM once two were sent
		}
	}
	l := ledger(t, dir)
	rep, err := NewReplayer(src, k, &hungKafka{k, 3}, l, ReplayOptions{BatchSize: 5}).Run(ctx)
	l.Close()
	if !errors.Is(err, context.Canceled) || rep.Replayed != 3 {
		t.Fatalf("%+v, %v", rep, err)
	}
	k.onAppend = nil
	rep, err = replay(t, k, dir, ReplayOptions{BatchSize: 5})
	if err != nil || rep.Resent != 2 || rep.Recovered != 0 || rep.Replayed != 0 {
		t.Fatalf("the next run sends the two not acknowledged: %+v, %v", rep, err)
	}
	if got := markers(k.Records("t", 0)[5:]); len(got) != 5 {
		t.Errorf("sent %v, want each of the 5 once", got)
	}
}

// The attack: Kafka accepts the produce request and never answers. The
// replay fails at the delivery timeout instead of waiting for ever, the
// batch stays written down, and the next run (Kafka back) sends each
// record once.
func TestReplayAgainstAKafkaHungMidProduceFailsAtTheDeliveryTimeout(t *testing.T) {
	k, dir := newMemKafka(), t.TempDir()
	k.deadN("k", 4)
	broker := kafkatest.HungProduce(t)
	hung, err := kafka.NewProducer(config.Kafka{Brokers: []string{broker.Addr}, Timeout: time.Hour}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	l := ledger(t, dir)
	rep, err := NewReplayer(src, k, hung, l, ReplayOptions{BatchSize: 4}).Run(context.Background())
	l.Close()
	if !errors.Is(err, kafka.ErrNotAcknowledged) || rep.Replayed != 0 {
		t.Fatalf("%+v, %v", rep, err)
	}
	rep, err = replay(t, k, dir, ReplayOptions{BatchSize: 4})
	if err != nil || rep.Resent != 4 {
		t.Fatalf("the next run sends the batch: %+v, %v", rep, err)
	}
	if got := markers(k.Records("t", 0)[4:]); len(got) != 4 {
		t.Errorf("sent %v, want each of the 4 once", got)
	}
}

func TestInspectOfASharedTopicSaysWhoseEachRecordIs(t *testing.T) {
	k := newMemKafka()
	k.deadBy("pg-sink", src.Topic, k.orig("t", 0, "a", "v"), true)
	k.deadBy("mysql-sink", src.Topic, k.orig("t", 0, "b", "v"), true)
	in, err := Inspect(context.Background(), k, "pg-sink", src.Topic, 10)
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	if err := in.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CONNECTOR", "mysql-sink", "shared with other connectors: `dlq replay pg-sink` sends only the records of pg-sink"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}
