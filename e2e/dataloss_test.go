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

	"github.com/twmb/franz-go/pkg/kadm"
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
	p := stackPipeline(t, "loss")
	env := p.env
	l := setUpLossPipeline(t, p)
	s := startStack(t, p, lossConfig(p, l), fast)
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

// lossPipeline is the scenario's own replication, whose source takes
// signals (a reconcile's repair sends one), and how many of its rows are
// there before the sink pauses, written while it is paused, and lost.
type lossPipeline struct {
	replication
	initial, written, lost int
}

func setUpLossPipeline(t *testing.T, p *pipeline) lossPipeline {
	t.Helper()
	l := lossPipeline{initial: 10, written: 30, lost: 20}
	l.replication = p.replicate(t, l.initial, true)
	return l
}

// lossConfig watches the local pipeline with the scenario's table, whose
// signals go to its source connector, and remediates with the shipped
// rule reconcile-after-data-loss restricted to this run's connectors.
func lossConfig(p *pipeline, l lossPipeline) string {
	return watchConfig(p.env) + "tables:\n" + itemsTable(l.table) + fmt.Sprintf(`    signal: {connector: %[1]s, connect_cluster: local, table: %[2]q, repair_timeout: 4m}
remediation:
  max_actions_per_hour: 30
  verify_timeout: 60s
  rules:
    - name: reconcile-after-data-loss
      match: ['alertname="CDCDataLost"', 'connector=~"%[3]s_.*"']
      action: reconcile
      args: {repair: 'true'}
      cooldown: 1h
`, l.source, "public."+l.signal, p.prefix)
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
	var rows string
	p.queryRow(t, dsn, fmt.Sprintf(`SELECT coalesce(string_agg(id || '=' || name, ',' ORDER BY id), '') FROM public.%s`, table), &rows)
	return rows
}
