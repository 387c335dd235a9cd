package dlq

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// On the real broker: a record dead-lettered from a topic deleted since
// is reported and recorded as not replayable, the records after it go
// back once each, and the next run goes past it without failing.
func TestRealReplayGoesPastARecordWhoseOriginalTopicWasDeleted(t *testing.T) {
	w := newRealDLQ(t)
	gone := fmt.Sprintf("it-dlqgone-%d", time.Now().UnixNano())
	w.create(gone)
	t.Cleanup(func() { w.adm.DeleteTopics(t.Context(), gone) })
	orig := &kgo.Record{Topic: gone, Key: []byte("g"), Value: []byte("from a topic deleted since")}
	if _, err := w.prod.Produce(w.ctx, orig); err != nil {
		t.Fatal(err)
	}
	dead := &kgo.Record{Topic: w.dead, Key: orig.Key, Value: orig.Value, Headers: []kgo.RecordHeader{
		{Key: HeaderTopic, Value: []byte(gone)},
		{Key: HeaderPartition, Value: []byte("0")},
		{Key: HeaderOffset, Value: fmt.Appendf(nil, "%d", orig.Offset)},
		{Key: HeaderConnector, Value: []byte("it-a")},
		{Key: HeaderStage, Value: []byte("TASK_PUT")},
	}}
	if _, err := w.prod.Produce(w.ctx, dead); err != nil {
		t.Fatal(err)
	}
	if _, err := w.adm.DeleteTopics(w.ctx, gone); err != nil {
		t.Fatal(err)
	}
	// Kafka deletes in the background: wait until the brokers no longer
	// list the topic.
	testenv.Eventually(t, time.Minute, func() bool {
		ends, err := w.kc.PartitionEnds(w.ctx, gone)
		return err == nil && !ends[gone].Exists
	}, func() string { return gone + " deleted" })
	w.deadLetter("it-a", 3, func(i int) []byte { return fmt.Appendf(nil, "k%d", i) })

	rep, err := w.replay("it-a", nil, ReplayOptions{DryRun: true, CheckSuperseded: true})
	if !errors.Is(err, ErrNotReplayable) || rep.Replayed != 3 || len(rep.NotReplayable) != 1 {
		t.Fatalf("dry run: %+v, %v", rep, err)
	}
	rep, err = w.replay("it-a", nil, ReplayOptions{CheckSuperseded: true})
	if !errors.Is(err, ErrNotReplayable) || rep.Replayed != 3 {
		t.Fatalf("replay: %+v, %v", rep, err)
	}
	if len(rep.NotReplayable) != 1 || rep.NotReplayable[0].Ref != (Ref{0, 0}) || rep.NotReplayable[0].OriginalTopic != gone ||
		rep.NotReplayable[0].Reason != "topic "+gone+" does not exist" {
		t.Errorf("not replayable = %+v", rep.NotReplayable)
	}
	w.assertEachOnce(3)
	rep, err = w.replay("it-a", nil, ReplayOptions{CheckSuperseded: true})
	if err != nil || rep.Replayed != 0 || rep.AlreadyReplayed != 3 || rep.NotReplayableEarlier != 1 {
		t.Errorf("the next run: %+v, %v", rep, err)
	}
	w.assertEachOnce(3)
	if ends, err := w.kc.PartitionEnds(w.ctx, gone); err != nil || ends[gone].Exists {
		t.Errorf("the deleted topic came back (%v): a replay must not create it", err)
	}
}
