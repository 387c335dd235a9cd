package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect/connecttest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// The whole DLQ story on the real pipeline: a JDBC sink whose
// configuration is wrong (a Cast transform its records cannot pass)
// dead-letters them; `dlq inspect` shows them with their origin and
// error; once the configuration is fixed, `dlq replay` sends them back
// and the sink writes them; a second replay sends nothing.
func TestRealDLQInspectAndReplayAfterAFix(t *testing.T) {
	r := newRealDLQ(t, "dlqreplay", 5*time.Minute, kgo.AllowAutoTopicCreation())
	p, ctx, name, kc, adm := r.p, r.ctx, r.name, r.kc, r.adm
	table := strings.ReplaceAll(name, "-", "_")
	dlqTopic := name + "-dlq"
	// The golden shapes name the topic as a fixed run would.
	shape := func(golden, out string) { compareShape(t, golden, strings.ReplaceAll(out, name, "it-dlqreplay")) }
	cc := connecttest.Local(t, p)
	db := p.TargetDB(t)
	cleanup := func() {
		_ = cc.Delete(context.Background(), name)
		adm.DeleteTopics(context.Background(), name, dlqTopic)
		db.Exec(`DROP TABLE IF EXISTS ` + table)
	}
	cleanup()
	t.Cleanup(cleanup)

	cfg := p.JDBCSink(name, table)
	cfg["schema.evolution"] = "basic"
	cfg["errors.tolerance"] = "all"
	cfg["errors.deadletterqueue.topic.name"] = dlqTopic
	cfg["errors.deadletterqueue.topic.replication.factor"] = "1"
	cfg["errors.deadletterqueue.context.headers.enable"] = "true"
	broken := map[string]string{}
	for k, v := range cfg {
		broken[k] = v
	}
	broken["transforms"] = "cast"
	broken["transforms.cast.type"] = "org.apache.kafka.connect.transforms.Cast$Value"
	broken["transforms.cast.spec"] = "v:int32" // "x" is no int32
	if _, err := cc.PutConfig(ctx, name, broken); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for i, v := range []string{"x", "y", "z"} {
		recs = append(recs, &kgo.Record{Topic: name,
			Key:   fmt.Appendf(nil, `{"schema":{"type":"struct","fields":[{"field":"id","type":"int32","optional":false}]},"payload":{"id":%d}}`, i+1),
			Value: fmt.Appendf(nil, `{"schema":{"type":"struct","fields":[{"field":"id","type":"int32","optional":false},{"field":"v","type":"string","optional":true}]},"payload":{"id":%d,"v":%q}}`, i+1, v),
		})
	}
	if err := kc.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	cli := r.cli(t, p.ConnectURL)

	// Inspect until the sink has dead-lettered all three.
	var doc struct {
		Total   int64 `json:"total"`
		Records []struct {
			OriginalTopic     string `json:"original_topic"`
			OriginalPartition int32  `json:"original_partition"`
			OriginalOffset    int64  `json:"original_offset"`
			Stage             string `json:"stage"`
			ExceptionClass    string `json:"exception_class"`
			ExceptionMessage  string `json:"exception_message"`
			Value             string `json:"value"`
		} `json:"records"`
	}
	deadline := time.Now().Add(120 * time.Second)
	for {
		code, out, errOut := cli("inspect", name, "-o", "json")
		if code == 0 {
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatalf("inspect -o json: %v\n%s", err, out)
			}
			if doc.Total == 3 && len(doc.Records) == 3 {
				shape("dlq-inspect", out)
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sink did not dead-letter 3 records in 120s: exit %d\n%s%s", code, out, errOut)
		}
		time.Sleep(time.Second)
	}
	for i, r := range doc.Records {
		if r.OriginalTopic != name || r.OriginalPartition != 0 || r.OriginalOffset != int64(i) || r.Stage != "TRANSFORMATION" || r.ExceptionClass == "" || !strings.Contains(r.Value, `"v":`) {
			t.Errorf("record %d: %+v", i, r)
		}
	}
	if code, out, _ := cli("inspect", name); code != 0 || !strings.Contains(out, "TRANSFORMATION") || !strings.Contains(out, name+"[0]@2") {
		t.Errorf("inspect table: exit %d\n%s", code, out)
	}

	// Fix the configuration; the dead-lettered records are not retried
	// by Connect, so the rows are still missing.
	if _, err := cc.PutConfig(ctx, name, cfg); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := cli("replay", name, "--dry-run"); code != 0 || !strings.Contains(out, "would replay 3 records ("+name+": 3)") {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := cli("replay", name, "--dry-run", "-o", "json"); code != 0 || !strings.Contains(out, `"replayed": 3`) {
		t.Fatalf("dry run -o json: exit %d\n%s%s", code, out, errOut)
	} else {
		shape("dlq-replay", out)
	}
	code, out, errOut := cli("replay", name, "--progress=never")
	if code != 0 || !strings.Contains(out, "replayed 3 records") {
		t.Fatalf("replay: exit %d\n%s%s", code, out, errOut)
	}
	deadline = time.Now().Add(120 * time.Second)
	for {
		var n int
		var vs string
		err := db.QueryRowContext(ctx, `SELECT count(*), string_agg(v, ',' ORDER BY id) FROM `+table).Scan(&n, &vs)
		if err == nil && n == 3 && vs == "x,y,z" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replayed rows did not reach the target in 120s: %d rows %q (%v)", n, vs, err)
		}
		time.Sleep(time.Second)
	}
	if code, out, errOut := cli("replay", name); code != 0 || !strings.Contains(out, "replayed 0 records") || !strings.Contains(out, "3 already replayed") {
		t.Errorf("second replay must send nothing: exit %d\n%s%s", code, out, errOut)
	}
}

// realDLQ is where a `dlq` command test on the real pipeline starts: a
// name of this run's own for its connector and topics (Kafka deletes
// topics in the background, and a DLQ topic of an earlier run deleted and
// created again under the same name while this one runs would be another
// topic, another id, to the replay ledger), the pipeline's Kafka, the
// test's deadline and a replay storage path of its own.
type realDLQ struct {
	p       *testenv.Pipeline
	ctx     context.Context
	name    string
	kc      *kgo.Client
	adm     *kadm.Client
	storage string
}

func newRealDLQ(t *testing.T, what string, deadline time.Duration, opts ...kgo.Opt) *realDLQ {
	t.Helper()
	p := testenv.Need(t)
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	t.Cleanup(cancel)
	kc := p.KafkaClient(t, opts...)
	return &realDLQ{p: p, ctx: ctx, name: fmt.Sprintf("it-%s-%d", what, time.Now().UnixNano()),
		kc: kc, adm: kadm.NewClient(kc), storage: t.TempDir()}
}

// cli runs `cdc-sentinel dlq ARGS` with a configuration naming the
// Connect worker at connectURL and the pipeline's Kafka; a replay records
// what it sent under the test's storage path.
func (r *realDLQ) cli(t *testing.T, connectURL string) func(args ...string) (int, string, string) {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "cdc-sentinel.yml")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("connect_clusters:\n  - name: local\n    url: %s\nkafka:\n  brokers: [%s]\n", connectURL, r.p.KafkaBrokers)), 0o600); err != nil {
		t.Fatal(err)
	}
	return func(args ...string) (int, string, string) {
		if args[0] == "replay" {
			args = append(args, "--storage.path="+r.storage)
		}
		return runConnectorsCLI(append([]string{"--config.file=" + conf, "dlq"}, args...)...)
	}
}
