package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// TestClosedLoopRepairsWhatRetentionDeleted closes the data-loss loop on
// real parts: a paused sink's topic loses records it has not consumed
// (DeleteRecords moves the log start as retention does), Prometheus fires
// CDCDataLost from cdc_sink_records_lost_total, Alertmanager sends it to
// cdc-sentinel, and the shipped rule reconcile-after-data-loss runs a
// reconcile with repair of the one table fed through that topic, whose
// incremental snapshot re-sends the lost rows until the target equals the
// source. It logs the time from the deletion to the completed repair.
func TestClosedLoopRepairsWhatRetentionDeleted(t *testing.T) {
	env := needStack(t)
	prefix := "loss_" + randomHex(4)
	p := newPipeline(t, env, prefix)
	l := setUpLossPipeline(t, p)
	s := startStack(t, p, lossConfig(env, prefix, l), fast)
	t.Cleanup(func() {
		if t.Failed() {
			s.diagnose(t, fmt.Sprintf(`cdc_sink_records_lost_total{connector=%q}`, l.sink),
				fmt.Sprintf(`ALERTS{alertname="CDCDataLost",connector=%q}`, l.sink))
		}
	})

	// Written while the sink is paused: rows initial+1 .. initial+written
	// wait in the topic, and the first lost of them are deleted unread.
	ctx := t.Context()
	if err := p.connect.Pause(ctx, l.sink); err != nil {
		t.Fatal(err)
	}
	p.waitTaskState(t, l.sink, "PAUSED", 60*time.Second)
	p.exec(t, env.SourceDSN, fmt.Sprintf(`INSERT INTO public.%s SELECT g, 'item ' || g FROM generate_series(%d, %d) g`,
		l.table, l.initial+1, l.initial+l.written))
	end := int64(l.initial + l.written) // one record per row: the snapshot's, then each insert's
	eventually(t, "the inserts in the topic", 60*time.Second, func(ctx context.Context) (bool, error) {
		ends, err := p.admin.ListEndOffsets(ctx, l.topic)
		if err != nil {
			return false, err
		}
		o, _ := ends.Lookup(l.topic, 0)
		return o.Offset >= end, o.Err
	})

	var tl timeline
	del := kadm.Offsets{}
	del.AddOffset(l.topic, 0, int64(l.initial+l.lost), -1)
	tl.start()
	resp, err := p.admin.DeleteRecords(ctx, del)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("deleting records of %s: %v", l.topic, err)
	}
	tl.mark(t, time.Now(), fmt.Sprintf("DeleteRecords: log start of %s at %d, %d rows' changes gone unread", l.topic, l.initial+l.lost, l.lost))

	// The sink resumes only once the loss is recorded: resumed, it skips
	// the gap and the counter falls to 0, and the alert looks back over it.
	seen := eventually(t, "the loss in Prometheus", 90*time.Second, func(ctx context.Context) (bool, error) {
		s, err := promQuery(ctx, s.promURL, fmt.Sprintf(`cdc_sink_records_lost_total{connector=%q,topic=%q} > 0`, l.sink, l.topic))
		return len(s) == 1, err
	})
	tl.mark(t, seen, "cdc_sink_records_lost_total > 0 in Prometheus")
	if err := p.connect.Resume(ctx, l.sink); err != nil {
		t.Fatal(err)
	}
	tl.mark(t, time.Now(), "sink resumed")

	var rec auditRecord
	eventually(t, "reconcile-after-data-loss recorded", 3*time.Minute, func(ctx context.Context) (bool, error) {
		recs, err := audit(ctx, s.sentinelURL, "reconcile-after-data-loss")
		for _, r := range recs {
			if r.Alert.Labels["connector"] == l.sink && r.Outcome == "success" {
				rec = r
				return true, nil
			}
		}
		return false, err
	})
	if rec.Action != "reconcile" || rec.Alert.Name != "CDCDataLost" || rec.Alert.Labels["topic"] != l.topic || rec.Alert.Labels["stage"] != "sink" {
		t.Errorf("audit record: action %s answering %s %v; want reconcile answering CDCDataLost{stage=sink, topic=%s}", rec.Action, rec.Alert.Name, rec.Alert.Labels, l.topic)
	}
	// Exactly the table fed through the topic: "reconcile started: TABLE RUN".
	started := strings.Fields(strings.TrimPrefix(rec.Detail, "reconcile started: "))
	if len(started) != 2 || started[0] != l.table {
		t.Fatalf("audit detail %q: want one reconcile, of table %s", rec.Detail, l.table)
	}
	tl.mark(t, rec.Alert.StartsAt, "CDCDataLost fired (the alert's startsAt)")
	tl.mark(t, rec.ReceivedAt, "webhook received the alert from Alertmanager")
	tl.mark(t, rec.FinishedAt, "reconcile with repair started (audit record)")

	var job reconcileJob
	completed := eventually(t, "the reconcile's repair completed", 5*time.Minute, func(ctx context.Context) (bool, error) {
		var err error
		job, err = reconcileRun(ctx, s.sentinelURL, started[1])
		if err != nil || job.Status == "running" {
			return false, err
		}
		if job.Status != "succeeded" {
			return false, fmt.Errorf("reconcile %s %s: %s", job.ID, job.Status, job.Error)
		}
		return job.RepairProgress.Status == "completed", nil
	})
	if job.Report.MissingCount < l.lost {
		t.Errorf("the reconcile found %d rows missing, want at least the %d lost", job.Report.MissingCount, l.lost)
	}
	tl.mark(t, *job.FinishedAt, fmt.Sprintf("reconcile compared: %d missing, %d changed; signal sent", job.Report.MissingCount, job.Report.ChangedCount))
	tl.mark(t, completed, "repair's incremental snapshot completed (the source connector's notifications, seen by the test)")
	repaired := eventually(t, "the target equal to the source", 2*time.Minute, func(ctx context.Context) (bool, error) {
		return rowsOf(t, p, env.SourceDSN, l.table) == rowsOf(t, p, env.TargetDSN, l.table), nil
	})
	total := tl.mark(t, repaired, fmt.Sprintf("target equals source (%d rows)", l.initial+l.written))
	t.Logf("loss → repaired in %s\n%s", total, strings.Join(tl.steps, "\n"))
}

// lossPipeline is the scenario's own replication: a Debezium PostgreSQL
// source (its own slot, publication, signal table and notification topic)
// writing topic, and a JDBC sink from topic to the target's table.
type lossPipeline struct {
	table, signal, topic   string
	source, sink           string
	initial, written, lost int
}

func setUpLossPipeline(t *testing.T, p *pipeline) lossPipeline {
	t.Helper()
	l := lossPipeline{
		table: p.prefix + "_items", signal: p.prefix + "_signal",
		source: p.prefix + "_src", sink: p.prefix + "_sink",
		initial: 10, written: 30, lost: 20,
	}
	l.topic = p.prefix + ".public." + l.table
	slot, pub, notifications := p.prefix+"_slot", p.prefix+"_pub", p.prefix+".notifications"
	// Cleanups run last-first: the connector goes before its slot.
	p.execCleanup(t, p.env.SourceDSN,
		"DROP TABLE IF EXISTS public."+l.table, "DROP TABLE IF EXISTS public."+l.signal, "DROP PUBLICATION IF EXISTS "+pub)
	t.Cleanup(func() { dropSlot(t, p, slot) })
	p.exec(t, p.env.SourceDSN,
		fmt.Sprintf(`CREATE TABLE public.%s (id int PRIMARY KEY, name text NOT NULL)`, l.table),
		fmt.Sprintf(`CREATE TABLE public.%s (id varchar(42) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048) NULL)`, l.signal),
		fmt.Sprintf(`INSERT INTO public.%s SELECT g, 'item ' || g FROM generate_series(1, %d) g`, l.table, l.initial),
		fmt.Sprintf(`CREATE PUBLICATION %s FOR TABLE public.%s, public.%s`, pub, l.table, l.signal))
	p.exec(t, p.env.TargetDSN, fmt.Sprintf(`CREATE TABLE public.%s (id int PRIMARY KEY, name text NOT NULL)`, l.table))
	p.execCleanup(t, p.env.TargetDSN, "DROP TABLE IF EXISTS public."+l.table)
	p.createTopics(t, l.topic, notifications)

	src := p.env.PostgresSource(p.prefix, slot, pub, "public."+l.table)
	for k, v := range map[string]string{
		"signal.enabled.channels":       "source",
		"signal.data.collection":        "public." + l.signal,
		"notification.enabled.channels": "sink",
		"notification.sink.topic.name":  notifications,
	} {
		src[k] = v
	}
	p.createConnector(t, l.source, src)
	p.createConnector(t, l.sink, p.sinkConfig(l.topic, l.table))
	eventually(t, "the snapshot at the target", 2*time.Minute, func(ctx context.Context) (bool, error) {
		return p.count(t, p.env.TargetDSN, "SELECT count(*) FROM public."+l.table) == l.initial, nil
	})
	return l
}

// dropSlot drops the replication slot, which stays active a moment after
// its connector is deleted.
func dropSlot(t *testing.T, p *pipeline, slot string) {
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

// lossConfig watches the local pipeline with the scenario's table, whose
// signals go to its source connector, and remediates with the shipped
// rule reconcile-after-data-loss restricted to this run's connectors.
func lossConfig(env *testenv.Pipeline, prefix string, l lossPipeline) string {
	return fmt.Sprintf(`connect_clusters:
  - name: local
    url: %[1]s
    timeout: 10s
kafka:
  brokers: [%[2]q]
databases:
  - name: source
    driver: postgres
    dsn: %[3]q
  - name: target
    driver: postgres
    dsn: %[4]q
tables:
  - name: %[5]s
    source: {database: source, table: %[6]q}
    target: {database: target, table: %[6]q}
    key: [id]
    columns: [id, name]
    signal: {connector: %[7]s, connect_cluster: local, table: %[8]q, repair_timeout: 4m}
remediation:
  max_actions_per_hour: 30
  verify_timeout: 60s
  rules:
    - name: reconcile-after-data-loss
      match: ['alertname="CDCDataLost"', 'connector=~"%[9]s_.*"']
      action: reconcile
      args: {repair: 'true'}
      cooldown: 1h
`, env.ConnectURL, env.KafkaBrokers, env.SourceDSN, env.TargetDSN, l.table, "public."+l.table, l.source, "public."+l.signal, prefix)
}

// reconcileJob is the part of GET /api/v1/reconcile/{id} the test reads.
type reconcileJob struct {
	ID         string     `json:"id"`
	Status     string     `json:"status"`
	Error      string     `json:"error"`
	FinishedAt *time.Time `json:"finished_at"`
	Report     struct {
		MissingCount int `json:"missing_count"`
		ChangedCount int `json:"changed_count"`
	} `json:"report"`
	RepairProgress struct {
		Status string `json:"status"`
	} `json:"repair_progress"`
}

func reconcileRun(ctx context.Context, sentinelURL, id string) (reconcileJob, error) {
	var job reconcileJob
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, sentinelURL+"/api/v1/reconcile/"+id, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return job, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return job, fmt.Errorf("GET /api/v1/reconcile/%s: %s: %s", id, resp.Status, b)
	}
	return job, json.Unmarshal(b, &job)
}

// rowsOf is the table's rows in key order, as one string.
func rowsOf(t *testing.T, p *pipeline, dsn, table string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var rows string
	if err := conn.QueryRow(ctx, fmt.Sprintf(`SELECT coalesce(string_agg(id || '=' || name, ',' ORDER BY id), '') FROM public.%s`, table)).Scan(&rows); err != nil {
		t.Fatalf("reading %s: %v", table, err)
	}
	return rows
}
