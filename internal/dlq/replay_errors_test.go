package dlq

import (
	"context"
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

// A DLQ record naming an original topic that was deleted since is not
// sent anywhere: the run stops there, nothing of the batch sent and
// nothing pending.
func TestReplayOfARecordWhoseOriginalTopicIsGoneSendsNothing(t *testing.T) {
	k, dir := newMemKafka(), t.TempDir()
	k.deadBy(src.Connector, src.Topic, &kgo.Record{Topic: "gone", Key: []byte("k"), Value: []byte("v"), Offset: 3}, true)
	rep, err := replay(t, k, dir, ReplayOptions{})
	wantRefusal(t, err, "original topic gone", "DLQ record 0@0", "does not exist")
	if rep.Replayed != 0 || len(k.Records("gone", 0)) != 0 {
		t.Errorf("sent although the original topic is gone: %+v", rep)
	}
	l := ledger(t, dir)
	defer l.Close()
	st, err := l.Load(Source{Cluster: src.Cluster, Connector: src.Connector, Topic: src.Topic, TopicID: rep.topicID(t)})
	if err != nil {
		t.Fatal(err)
	}
	if st.Pending != nil || len(st.Replayed) != 0 {
		t.Errorf("the ledger took a record that was never sent: %+v", st)
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
// topic was recreated with fewer) is not sent anywhere, and the error
// says so rather than printing an empty cause.
func TestReplayOfARecordWhosePartitionIsGoneNamesIt(t *testing.T) {
	k, dir := newMemKafka(), t.TempDir()
	k.orig("t", 0, "a", "v")
	k.deadBy(src.Connector, src.Topic, &kgo.Record{Topic: "t", Partition: 3, Key: []byte("k"), Value: []byte("v")}, true)
	rep, err := replay(t, k, dir, ReplayOptions{})
	wantRefusal(t, err, "original partition t[3] of DLQ record 0@0 does not exist (the topic has 1 partitions)")
	if err != nil && strings.Contains(err.Error(), "<nil>") {
		t.Errorf("error %q shows an empty cause", err)
	}
	if rep.Replayed != 0 || len(k.Records("t", 3)) != 0 {
		t.Errorf("sent to a partition that does not exist: %+v", rep)
	}
}
