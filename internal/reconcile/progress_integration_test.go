package reconcile

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/collector"
	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect/connecttest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// asPrometheus lets testutil scrape a cdc-sentinel collector.
type asPrometheus struct{ c collector.Collector }

func (a asPrometheus) Describe(chan<- *prometheus.Desc) {}
func (a asPrometheus) Collect(ch chan<- prometheus.Metric) {
	_ = a.c.Collect(context.Background(), ch)
}

// TestPipelineRepairProgressFollowsDebeziumNotifications runs on the
// real pipeline, with a PostgreSQL source connector of its own (its own
// slot, publication, topic prefix, signal table and notification topic,
// the sink notification channel on): a reconcile finds two rows missing
// and one changed in the target, the repair's incremental snapshot is
// followed through the connector's notifications to its completion, and
// the API and cdc_reconcile_repair_rows_total show it.
func TestPipelineRepairProgressFollowsDebeziumNotifications(t *testing.T) {
	p := testenv.Need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	id := fmt.Sprintf("%d_%d", os.Getpid(), time.Now().UnixNano()%1_000_000)
	schema, slot, pub := "it_progress_"+id, "it_progress_slot_"+id, "it_progress_pub_"+id
	prefix := "itprog" + id
	topic := prefix + ".notifications"
	name := "it-progress-" + id
	src, tgt := p.SourceDB(t), p.TargetDB(t)
	exec := func(db *sql.DB, stmts ...string) {
		t.Helper()
		for _, s := range stmts {
			if _, err := db.ExecContext(ctx, s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
	}
	cl := connecttest.Local(t, p)
	kc, err := kafka.New(config.Kafka{Brokers: strings.Split(p.KafkaBrokers, ","), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)

	// Cleanups run last-first: the connector goes before its slot.
	t.Cleanup(func() {
		bg := context.Background()
		_, _ = src.ExecContext(bg, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
		_, _ = src.ExecContext(bg, "DROP PUBLICATION IF EXISTS "+pub)
		_, _ = tgt.ExecContext(bg, "DROP TABLE IF EXISTS public."+schema)
		for i := 0; i < 30; i++ { // the slot stays active a moment after the task stops
			_, err := src.ExecContext(bg, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", slot)
			if err == nil {
				break
			}
			time.Sleep(time.Second)
		}
		_, _ = kadm.NewClient(kc.Kgo()).DeleteTopics(bg, topic, prefix+"."+schema+".items")
	})
	exec(src,
		"CREATE SCHEMA "+schema,
		"CREATE TABLE "+schema+".items (id int PRIMARY KEY, name text NOT NULL)",
		"CREATE TABLE "+schema+".debezium_signal (id varchar(42) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048) NULL)",
		"INSERT INTO "+schema+".items SELECT g, 'item ' || g FROM generate_series(1, 20) g",
		"CREATE PUBLICATION "+pub+" FOR TABLE "+schema+".items, "+schema+".debezium_signal")
	// The target holds the rows as a sink would have written them, less
	// two, and one changed.
	exec(tgt,
		"CREATE TABLE public."+schema+" (id int PRIMARY KEY, name text NOT NULL)",
		"INSERT INTO public."+schema+" SELECT g, 'item ' || g FROM generate_series(1, 20) g WHERE g NOT IN (4, 11)",
		"UPDATE public."+schema+" SET name = 'stale' WHERE id = 17")

	source := p.PostgresSource(prefix, slot, pub, schema+".items")
	for k, v := range map[string]string{
		"snapshot.mode":                   "no_data",
		"signal.enabled.channels":         "source",
		"signal.data.collection":          schema + ".debezium_signal",
		"notification.enabled.channels":   "sink",
		"notification.sink.topic.name":    topic,
		"incremental.snapshot.chunk.size": "2",
	} {
		source[k] = v
	}
	if _, err := cl.PutConfig(ctx, name, source); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cl.Delete(context.Background(), name); err != nil {
			t.Errorf("deleting %s: %v", name, err)
		}
	})
	// Signals are read from the slot: wait until it is streaming.
	testenv.Eventually(t, 90*time.Second, func() bool {
		var active bool
		err := src.QueryRowContext(ctx, "SELECT active FROM pg_replication_slots WHERE slot_name = $1", slot).Scan(&active)
		return err == nil && active
	}, func() string { return "the connector's slot " + slot + " never became active" })

	tab := Table{
		Name: "items",
		Sides: func() (sqldialect.Side, sqldialect.Side, error) {
			return sqldialect.Side{DB: src, Dialect: sqldialect.Postgres{}, Table: schema + ".items"},
				sqldialect.Side{DB: tgt, Dialect: sqldialect.Postgres{}, Table: "public." + schema}, nil
		},
		Signaler:       TableSignaler{DB: src, Dialect: sqldialect.Postgres{}, Table: schema + ".debezium_signal"},
		DataCollection: schema + ".items",
		RepairTimeout:  3 * time.Minute,
	}
	// The topic comes from the connector's own settings, read live.
	tab.Notifications = NotificationsOf(config.Table{Name: "items", Signal: &config.Signal{Connector: name}}, kc,
		func(ctx context.Context, _ config.Table) (string, map[string]string, error) {
			c, err := cl.Config(ctx, name)
			return name, c, err
		})
	r := newRunner(t, []Table{tab}, Options{RepairPoll: 200 * time.Millisecond})
	id, serr := r.Start(ctx, "items", StartOptions{Repair: true})
	if serr != nil {
		t.Fatalf("start: %v", serr)
	}
	seen := map[string]bool{}
	var job Job
	testenv.Eventually(t, 3*time.Minute, func() bool {
		job, _ = r.Get(id)
		if job.RepairProgress == nil {
			return false
		}
		seen[job.RepairProgress.Status] = true
		return job.RepairProgress.Final()
	}, func() string { b, _ := json.Marshal(job); return "repair never ended: " + string(b) })
	b, _ := json.MarshalIndent(job.RepairProgress, "", "  ")
	t.Logf("statuses seen %v; final progress %s", seen, b)
	rp := job.RepairProgress
	if job.Status != "succeeded" || job.Report.MissingCount != 2 || job.Report.ChangedCount != 1 || len(job.Report.Repair.Signals) != 1 {
		t.Fatalf("job %s, report %+v", job.Status, job.Report)
	}
	if rp.Status != RepairCompleted || rp.NotificationTopic != topic || rp.SnapshotsCompleted != 1 || rp.RowsScanned != 3 ||
		rp.LastNotification != NotifyCompleted || rp.TableScanStatus != "SUCCEEDED" || rp.Malformed != 0 {
		t.Fatalf("repair progress %s", b)
	}
	// The topic holds the whole sequence for the repair's signal, each
	// record readable.
	res, err := kc.ReadRecords(ctx, kafka.Partition{Topic: topic}, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for i, rec := range res.Records {
		if i == 0 {
			t.Logf("first notification record: %s", rec.Value)
		}
		n, err := ParseNotification(rec.Value)
		if err != nil {
			t.Fatalf("record %d: %v", rec.Offset, err)
		}
		if n.ID == job.Report.Repair.Signals[0] && (len(types) == 0 || types[len(types)-1] != n.Type) {
			types = append(types, n.Type)
		}
	}
	if got := strings.Join(types, " "); got != "STARTED IN_PROGRESS TABLE_SCAN_COMPLETED COMPLETED" {
		t.Errorf("notification types for the signal: %s", got)
	}
	want := fmt.Sprintf(`
# HELP cdc_reconcile_repair_rows_total Rows repairs re-sent through incremental snapshots, as the source connector's notifications count them (total_rows_scanned of each table scan).
# TYPE cdc_reconcile_repair_rows_total counter
cdc_reconcile_repair_rows_total{table="items"} %d
`, 3)
	if err := testutil.CollectAndCompare(asPrometheus{collector.NewReconcileCollector(r)}, strings.NewReader(want), "cdc_reconcile_repair_rows_total"); err != nil {
		t.Fatal(err)
	}

	// What `reconcile --repair --wait` does: one run asked to follow,
	// then its follower to the snapshot's end. No sink writes the
	// target here, so the first repair's rows are still missing too.
	exec(tgt, "DELETE FROM public."+schema+" WHERE id = 9")
	rep, err := tab.Run(ctx, StartOptions{Repair: true, Follow: true}, Options{})
	if err != nil || rep.MissingCount != 3 || rep.ChangedCount != 1 {
		t.Fatalf("second run: %v %+v", err, rep)
	}
	fp := rep.Repair.Follower(nil).Follow(ctx, 200*time.Millisecond, nil)
	if fp.Status != RepairCompleted || fp.RowsScanned != 4 || fp.NotificationTopic != topic || fp.SnapshotsCompleted != 1 {
		t.Fatalf("followed repair: %+v", fp)
	}
}

// The connector creates its notification topic with its first
// notification, which can come after the mark: a topic that did not
// exist then is read from its start, and a malformed record is returned
// as such, never dropped.
func TestPipelineNotificationTopicCreatedAfterTheMark(t *testing.T) {
	p := testenv.Need(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	kc, err := kafka.New(config.Kafka{Brokers: strings.Split(p.KafkaBrokers, ","), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	topic := fmt.Sprintf("it-progress-late-%d-%d", os.Getpid(), time.Now().UnixNano())
	src := KafkaNotifications{Client: kc, Name: topic}
	cur, err := src.Mark(ctx)
	if err != nil || len(cur) != 0 {
		t.Fatalf("mark of a missing topic: %v %v", cur, err)
	}
	adm := kadm.NewClient(kc.Kgo())
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = adm.DeleteTopics(context.Background(), topic) })
	for _, v := range []string{
		`{"id":"s1","type":"STARTED","aggregate_type":"Incremental Snapshot","additional_data":{},"timestamp":1}`,
		`not a notification`,
		`{"id":"s1","type":"COMPLETED","aggregate_type":"Incremental Snapshot","additional_data":{},"timestamp":2}`,
	} {
		if err := kc.Kgo().ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	var ns []Notification
	var bad []error
	testenv.Eventually(t, 30*time.Second, func() bool {
		got, b, err := src.Read(ctx, &cur)
		ns, bad = append(ns, got...), append(bad, b...)
		return err == nil && len(ns)+len(bad) == 3
	}, func() string { return fmt.Sprintf("read %d notifications, %d bad", len(ns), len(bad)) })
	if len(ns) != 2 || ns[0].Type != NotifyStarted || ns[1].Type != NotifyCompleted || len(bad) != 1 ||
		!strings.Contains(bad[0].Error(), "offset 1") || cur[0] != 3 {
		t.Fatalf("notifications %+v, bad %v, cursor %v", ns, bad, cur)
	}
}
