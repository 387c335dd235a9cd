package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/internal/dlq"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// `dlq replay` on the pipeline's Kafka, with a DLQ record whose original
// topic was deleted before two records dead-lettered after it: the dry
// run and the run list it and exit 1, the run sends the other two, and
// the next run goes past it and exits 0.
func TestRealDLQReplayGoesPastARecordWhoseTopicIsGone(t *testing.T) {
	r := newRealDLQ(t, "dlqgone", 3*time.Minute)
	ctx, name, kc, adm := r.ctx, r.name, r.kc, r.adm
	orig, gone, dead := name+"-orig", name+"-gone", name+"-dlq"
	t.Cleanup(func() { adm.DeleteTopics(context.Background(), orig, gone, dead) })
	if _, err := adm.CreateTopics(ctx, 1, 1, nil, orig, gone, dead); err != nil {
		t.Fatal(err)
	}
	produce := func(recs ...*kgo.Record) {
		t.Helper()
		var last error
		testenv.Eventually(t, time.Minute, func() bool {
			last = kc.ProduceSync(ctx, recs...).FirstErr()
			return last == nil
		}, func() string { return fmt.Sprintf("produced (%v)", last) })
	}
	deadLetter := func(r *kgo.Record) *kgo.Record {
		return &kgo.Record{Topic: dead, Key: r.Key, Value: r.Value, Headers: []kgo.RecordHeader{
			{Key: dlq.HeaderTopic, Value: []byte(r.Topic)},
			{Key: dlq.HeaderPartition, Value: []byte("0")},
			{Key: dlq.HeaderOffset, Value: fmt.Appendf(nil, "%d", r.Offset)},
			{Key: dlq.HeaderConnector, Value: []byte(name)},
			{Key: dlq.HeaderStage, Value: []byte("TASK_PUT")},
		}}
	}
	first := &kgo.Record{Topic: gone, Key: []byte("g"), Value: []byte("g")}
	produce(first)
	produce(deadLetter(first))
	if _, err := adm.DeleteTopics(ctx, gone); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Minute, func() bool {
		md, err := adm.ListTopics(ctx, gone)
		return err == nil && !md.Has(gone)
	}, func() string { return gone + " deleted" })
	later := []*kgo.Record{{Topic: orig, Key: []byte("a"), Value: []byte("a")}, {Topic: orig, Key: []byte("b"), Value: []byte("b")}}
	produce(later...)
	produce(deadLetter(later[0]), deadLetter(later[1]))

	worker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector", "errors.deadletterqueue.topic.name": dead})
	}))
	t.Cleanup(worker.Close)
	cli := r.cli(t, worker.URL)
	replay := func(args ...string) (int, string, string) {
		return cli(append([]string{"replay", name, "--progress=never"}, args...)...)
	}
	listed := fmt.Sprintf("DLQ record 0@0 (from %s[0]@0): topic %s does not exist", gone, gone)

	code, out, errOut := replay("--dry-run")
	if code != 1 || !strings.Contains(out, "would replay 2 records") || !strings.Contains(out, listed) || !strings.Contains(errOut, "1 records cannot be replayed") {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = replay("-o", "json")
	var doc struct {
		Replayed      int `json:"replayed"`
		NotReplayable []struct {
			Partition         int32  `json:"partition"`
			Offset            int64  `json:"offset"`
			OriginalTopic     string `json:"original_topic"`
			OriginalPartition int32  `json:"original_partition"`
			Reason            string `json:"reason"`
		} `json:"not_replayable"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("replay -o json: %v\n%s", err, out)
	}
	if code != 1 || doc.Replayed != 2 || len(doc.NotReplayable) != 1 || doc.NotReplayable[0].OriginalTopic != gone ||
		doc.NotReplayable[0].Offset != 0 || doc.NotReplayable[0].Reason != "topic "+gone+" does not exist" ||
		!strings.Contains(errOut, "1 records could not be replayed and are recorded as not replayable") {
		t.Fatalf("replay: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = replay()
	if code != 0 || !strings.Contains(out, "replayed 0 records") || !strings.Contains(out, "2 already replayed") || !strings.Contains(out, "1 found not replayable by an earlier run") {
		t.Errorf("the next run: exit %d\n%s%s", code, out, errOut)
	}
}
