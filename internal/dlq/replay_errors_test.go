package dlq

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
)

// wantRefusal fails unless err names every part of what went wrong.
func wantRefusal(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one naming %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not name %q", err, p)
		}
	}
}

func TestReplayOfADLQTopicThatDoesNotExistNamesIt(t *testing.T) {
	k, dir := newMemKafka(), t.TempDir()
	_, err := replay(t, k, dir, ReplayOptions{CheckSuperseded: true})
	wantRefusal(t, err, "DLQ topic pg-sink-dlq", "connector pg-sink", "does not exist")
}

// A DLQ record naming an original topic that was deleted since cannot
// go back: the run reports it, records it as not replayable (never as
// replayed), sends the records after it and fails so its exit status
// says one was left behind. The next run goes past it without failing.
func TestReplayGoesPastARecordWhoseOriginalTopicIsGone(t *testing.T) {
	k, dir := newMemKafka(), t.TempDir()
	k.deadBy(src.Connector, src.Topic, &kgo.Record{Topic: "gone", Key: []byte("k"), Value: []byte("v"), Offset: 3}, true)
	k.deadN("later", 2)
	rep, err := replay(t, k, dir, ReplayOptions{CheckSuperseded: true})
	if !errors.Is(err, ErrNotReplayable) {
		t.Fatalf("err = %v, want ErrNotReplayable", err)
	}
	wantRefusal(t, err, "1 records could not be replayed", "original topic or partition no longer exists")
	want := []NotReplayable{{Ref: Ref{0, 0}, OriginalTopic: "gone", OriginalPartition: 0, OriginalOffset: 3, Reason: "topic gone does not exist"}}
	if !reflect.DeepEqual(rep.NotReplayable, want) {
		t.Errorf("not replayable = %+v, want %+v", rep.NotReplayable, want)
	}
	if rep.Replayed != 2 || len(k.Records("t", 0)) != 4 || len(k.Records("gone", 0)) != 0 {
		t.Errorf("the records after the gone one were not sent once each: %+v", rep)
	}
	st := loadState(t, dir, rep)
	if st.Pending != nil || st.Replayed[0].Contains(0) || !st.NotReplayable[0].Contains(0) {
		t.Errorf("the ledger must hold the record as not replayable, not replayed: %+v", st)
	}

	again, err := replay(t, k, dir, ReplayOptions{CheckSuperseded: true})
	if err != nil {
		t.Fatalf("a later run stalls on the recorded record: %v", err)
	}
	if again.Replayed != 0 || again.AlreadyReplayed != 2 || again.NotReplayableEarlier != 1 || len(again.NotReplayable) != 0 {
		t.Errorf("later run: %+v", again)
	}
	var text bytes.Buffer
	again.WriteText(&text)
	if !strings.Contains(text.String(), "1 found not replayable by an earlier run") {
		t.Errorf("the later run does not say what it left out:\n%s", text.String())
	}
}

func loadState(t *testing.T, dir string, rep *ReplayReport) *State {
	t.Helper()
	l := ledger(t, dir)
	defer l.Close()
	st, err := l.Load(Source{Cluster: src.Cluster, Connector: src.Connector, Topic: src.Topic, TopicID: rep.topicID(t)})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// A dry run lists the records that cannot go back and fails as the run
// would, but records nothing: the real run still finds them.
func TestReplayDryRunListsRecordsThatCannotGoBack(t *testing.T) {
	k, dir := newMemKafka(), t.TempDir()
	k.deadN("before", 1)
	k.deadBy(src.Connector, src.Topic, &kgo.Record{Topic: "gone", Partition: 1, Key: []byte("k"), Value: []byte("v"), Offset: 7}, true)
	rep, err := replay(t, k, dir, ReplayOptions{DryRun: true})
	if !errors.Is(err, ErrNotReplayable) || !strings.Contains(err.Error(), "1 records cannot be replayed") {
		t.Fatalf("err = %v, want ErrNotReplayable", err)
	}
	var text bytes.Buffer
	rep.WriteText(&text)
	for _, want := range []string{"would replay 1 records", "1 records cannot be replayed", "DLQ record 0@1 (from gone[1]@7): topic gone does not exist"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("dry run text does not say %q:\n%s", want, text.String())
		}
	}
	if len(k.Records("t", 0)) != 1 {
		t.Error("a dry run sent records")
	}
	rep, err = replay(t, k, dir, ReplayOptions{})
	if !errors.Is(err, ErrNotReplayable) || rep.Replayed != 1 || len(rep.NotReplayable) != 1 {
		t.Errorf("the run after a dry run: %+v, %v", rep, err)
	}
}

// Records that cannot go back hold no place under --max: the run sends
// up to Max of the others and says more remain.
func TestReplayMaxCountsOnlyRecordsSent(t *testing.T) {
	k, dir := newMemKafka(), t.TempDir()
	k.deadBy(src.Connector, src.Topic, &kgo.Record{Topic: "gone", Key: []byte("k"), Value: []byte("v")}, true)
	k.deadN("later", 3)
	rep, err := replay(t, k, dir, ReplayOptions{Max: 1})
	if !errors.Is(err, ErrNotReplayable) || rep.Replayed != 1 || !rep.More {
		t.Fatalf("first run: %+v, %v", rep, err)
	}
	rep, err = replay(t, k, dir, ReplayOptions{Max: 5})
	if err != nil || rep.Replayed != 2 || rep.More || rep.NotReplayableEarlier != 1 {
		t.Errorf("second run: %+v, %v", rep, err)
	}
	if len(k.Records("t", 0)) != 6 {
		t.Errorf("want each of the 3 records sent once, t[0] holds %d", len(k.Records("t", 0)))
	}
}

// A batch cut short whose original topic is deleted before the next run
// cannot be finished for that topic's records: they are reported and
// recorded as not replayable, the batch's other records are finished,
// and the run after that goes past them.
func TestReplayFinishesAnInterruptedBatchPastRecordsWhoseTopicIsGone(t *testing.T) {
	k, dir := newMemKafka(), t.TempDir()
	k.dead(src.Topic, k.orig("t", 0, "a", "v"), true)
	k.dead(src.Topic, k.orig("u", 0, "b", "v"), true)
	k.failAfter = 0
	if _, err := replay(t, k, dir, ReplayOptions{}); err == nil || errors.Is(err, ErrNotReplayable) {
		t.Fatalf("the cut-short send did not fail as a send: %v", err)
	}
	k.failAfter = -1
	k.Delete("u")
	rep, err := replay(t, k, dir, ReplayOptions{})
	if !errors.Is(err, ErrNotReplayable) {
		t.Fatalf("err = %v, want ErrNotReplayable", err)
	}
	if rep.Resent != 1 || len(rep.NotReplayable) != 1 || rep.NotReplayable[0].Ref != (Ref{0, 1}) || rep.NotReplayable[0].Reason != "topic u does not exist" {
		t.Errorf("finishing the batch: %+v", rep)
	}
	if rep.AlreadyReplayed != 1 || rep.Replayed != 0 || len(k.Records("t", 0)) != 2 || len(k.Records("u", 0)) != 0 {
		t.Errorf("t[0] must hold its record and one replay, u nothing: %+v", rep)
	}
	if st := loadState(t, dir, rep); st.Pending != nil || !st.NotReplayable[0].Contains(1) || st.Replayed[0].Contains(1) {
		t.Errorf("ledger: %+v", st)
	}
	again, err := replay(t, k, dir, ReplayOptions{})
	if err != nil || again.Replayed != 0 || again.AlreadyReplayed != 1 || again.NotReplayableEarlier != 1 {
		t.Errorf("the next run: %+v, %v", again, err)
	}
}

// The superseded check refuses to read an original partition beyond
// --scan-max, and says the ways out.
func TestReplaySupersededCheckBeyondScanMaxSaysHowToGoOn(t *testing.T) {
	k, dir := newMemKafka(), t.TempDir()
	k.dead(src.Topic, k.orig("t", 0, "a", "v0"), true)
	for i := range 5 {
		k.orig("t", 0, "other", string(rune('0'+i)))
	}
	rep, err := replay(t, k, dir, ReplayOptions{CheckSuperseded: true, ScanMax: 2})
	wantRefusal(t, err, "checking for newer records in t[0]", "more than 2 records", "--scan-max", "--no-superseded-check")
	if rep.Replayed != 0 || len(k.Records("t", 0)) != 6 {
		t.Errorf("sent although the check could not finish: %+v", rep)
	}
}

// recreatingReader deletes and creates the DLQ topic again right after
// its first read of it.
type recreatingReader struct {
	*memKafka
	done bool
}

func (r *recreatingReader) ReadRecords(ctx context.Context, p kafka.Partition, from int64, limit int) (kafka.ReadResult, error) {
	res, err := r.memKafka.ReadRecords(ctx, p, from, limit)
	if p.Topic == src.Topic && !r.done {
		r.done = true
		r.Recreate(src.Topic)
	}
	return res, err
}

func TestReplayOfADLQTopicRecreatedWhileReadSendsNothing(t *testing.T) {
	k, dir := newMemKafka(), t.TempDir()
	k.deadN("k", 3)
	l := ledger(t, dir)
	defer l.Close()
	rep, err := NewReplayer(src, &recreatingReader{memKafka: k}, k, l, ReplayOptions{}).Run(context.Background())
	wantRefusal(t, err, "DLQ topic pg-sink-dlq was deleted and created again while it was read", "nothing was sent", "run again")
	if rep.Replayed != 0 || len(k.Records("t", 0)) != 3 {
		t.Errorf("records of the old topic were sent: %+v", rep)
	}
}

// A batch cut short whose DLQ records retention deleted since cannot be
// finished: whether they arrived is unknowable, so the run refuses
// rather than guess, naming the record.
func TestReplayCannotFinishABatchWhoseDLQRecordsRetentionDeleted(t *testing.T) {
	k, dir := newMemKafka(), t.TempDir()
	k.deadN("k", 2)
	k.failAfter = 0
	if _, err := replay(t, k, dir, ReplayOptions{}); err == nil {
		t.Fatal("the cut-short send did not fail")
	}
	k.failAfter = -1
	k.Trim(kafka.Partition{Topic: src.Topic}, 2)
	rep, err := replay(t, k, dir, ReplayOptions{})
	wantRefusal(t, err, "finishing the interrupted replay batch", "DLQ record 0@0", "is gone")
	if rep.Replayed+rep.Resent != 0 || len(k.Records("t", 0)) != 2 {
		t.Errorf("sent a record it could not tell was sent before: %+v", rep)
	}
}

// A DLQ record naming a partition its original topic does not have (the
// topic was recreated with fewer) is not sent anywhere; the report says
// which partition is gone and how many the topic has.
func TestReplayOfARecordWhosePartitionIsGoneNamesIt(t *testing.T) {
	k, dir := newMemKafka(), t.TempDir()
	k.orig("t", 0, "a", "v")
	k.deadBy(src.Connector, src.Topic, &kgo.Record{Topic: "t", Partition: 3, Key: []byte("k"), Value: []byte("v")}, true)
	rep, err := replay(t, k, dir, ReplayOptions{})
	if !errors.Is(err, ErrNotReplayable) {
		t.Fatalf("err = %v, want ErrNotReplayable", err)
	}
	if len(rep.NotReplayable) != 1 || rep.NotReplayable[0].Reason != "partition t[3] does not exist (the topic has 1 partitions)" {
		t.Errorf("not replayable = %+v", rep.NotReplayable)
	}
	if rep.Replayed != 0 || len(k.Records("t", 3)) != 0 {
		t.Errorf("sent to a partition that does not exist: %+v", rep)
	}
}
