package reconcile

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
)

var t0 = time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)

func note(id, typ string, data map[string]string) Notification {
	return Notification{ID: id, AggregateType: AggregateIncrementalSnapshot, Type: typ, AdditionalData: data}
}

// started → in progress → table scan completed → completed, with the
// chunk position and the rows re-sent on the way.
func TestRepairTrackerFollowsASnapshotToCompletion(t *testing.T) {
	tr := newRepairTracker("demo.notifications", "inventory.customers", []string{"s1"}, false, t0, time.Minute)
	steps := []struct {
		n      Notification
		status string
		rows   int64
	}{
		{note("s1", NotifyStarted, map[string]string{"data_collections": "inventory.customers"}), RepairStarted, 0},
		{note("s1", NotifyInProgress, map[string]string{"current_collection_in_progress": "inventory.customers", "last_processed_key": "[7]", "maximum_key": "[9]"}), RepairInProgress, 0},
		{note("s1", NotifyTableScanCompleted, map[string]string{"scanned_collection": "inventory.customers", "total_rows_scanned": "3", "status": "SUCCEEDED"}), RepairInProgress, 3},
		{note("s1", NotifyCompleted, nil), RepairCompleted, 0},
	}
	for i, s := range steps {
		rows, changed := tr.apply(s.n, t0.Add(time.Duration(i)*time.Second))
		if !changed || rows != s.rows || tr.p.Status != s.status {
			t.Fatalf("step %d (%s): status %s rows %d changed %v, want %s %d", i, s.n.Type, tr.p.Status, rows, changed, s.status, s.rows)
		}
	}
	p := tr.p
	if p.RowsScanned != 3 || p.LastProcessedKey != "[7]" || p.MaximumKey != "[9]" || p.TableScanStatus != "SUCCEEDED" ||
		p.SnapshotsCompleted != 1 || p.FinishedAt == nil || !p.FinishedAt.Equal(t0.Add(3*time.Second)) || p.Error != "" {
		t.Fatalf("progress %+v", p)
	}
	// Final: a late notification and the deadline change nothing.
	if _, changed := tr.apply(note("s1", NotifyAborted, nil), t0.Add(time.Hour)); changed || tr.expire(t0.Add(time.Hour)) || tr.p.Status != RepairCompleted {
		t.Fatalf("a completed repair changed: %+v", tr.p)
	}
}

// Other snapshots' notifications, and the initial snapshot's, are not the
// repair's; on the Kafka signal channel the repair's are recognised by
// their data collection (SQL Server names it database.schema.table).
func TestRepairTrackerTakesOnlyItsOwnSnapshots(t *testing.T) {
	tr := newRepairTracker("t", "shop.dbo.orders", []string{"s1"}, false, t0, time.Minute)
	for _, n := range []Notification{
		note("other", NotifyCompleted, map[string]string{"data_collections": "shop.dbo.orders"}),
		{ID: "s1", AggregateType: "Initial Snapshot", Type: NotifyCompleted},
	} {
		if _, changed := tr.apply(n, t0); changed {
			t.Fatalf("took %+v", n)
		}
	}
	k := newRepairTracker("t", "shop.dbo.orders", []string{"kafka-signal"}, true, t0, time.Minute)
	if _, changed := k.apply(note("12", NotifyStarted, map[string]string{"data_collections": "shop.dbo.customers, shop.dbo.orders"}), t0); !changed || k.p.Status != RepairStarted {
		t.Fatalf("kafka-channel snapshot not recognised: %+v", k.p)
	}
	if _, changed := k.apply(note("13", NotifyStarted, map[string]string{"data_collections": "shop.dbo.orders_archive"}), t0); changed {
		t.Fatal("took another table's snapshot")
	}
}

// A repair in several signals completes when every snapshot has.
func TestRepairTrackerWaitsForEverySnapshot(t *testing.T) {
	tr := newRepairTracker("t", "c", []string{"s1", "s2"}, false, t0, time.Minute)
	tr.apply(note("s1", NotifyCompleted, nil), t0)
	tr.apply(note("s1", NotifyCompleted, nil), t0) // a duplicate counts once
	if tr.p.Final() || tr.p.SnapshotsCompleted != 1 {
		t.Fatalf("%+v", tr.p)
	}
	tr.apply(note("s2", NotifyCompleted, nil), t0)
	if tr.p.Status != RepairCompleted || tr.p.SnapshotsCompleted != 2 {
		t.Fatalf("%+v", tr.p)
	}
}

func TestRepairTrackerEndings(t *testing.T) {
	for name, tc := range map[string]struct {
		n      Notification
		status string
		why    string
	}{
		"aborted":     {note("s1", NotifyAborted, nil), RepairAborted, "stopped"},
		"skipped":     {note("s1", NotifySkipped, nil), RepairFailed, "skipped"},
		"scan failed": {note("s1", NotifyTableScanCompleted, map[string]string{"scanned_collection": "inventory.customers", "status": "SQL_EXCEPTION"}), RepairFailed, "inventory.customers ended SQL_EXCEPTION"},
	} {
		t.Run(name, func(t *testing.T) {
			tr := newRepairTracker("t", "inventory.customers", []string{"s1"}, false, t0, time.Minute)
			tr.apply(note("s1", NotifyStarted, nil), t0)
			tr.apply(tc.n, t0.Add(time.Second))
			if tr.p.Status != tc.status || !strings.Contains(tr.p.Error, tc.why) || tr.p.FinishedAt == nil {
				t.Fatalf("%+v", tr.p)
			}
		})
	}
	tr := newRepairTracker("t", "c", []string{"s1"}, false, t0, time.Minute)
	tr.apply(note("s1", NotifyPaused, nil), t0)
	if tr.p.Status != RepairPaused {
		t.Fatalf("%+v", tr.p)
	}
	tr.apply(note("s1", NotifyResumed, nil), t0)
	if tr.p.Status != RepairInProgress {
		t.Fatalf("%+v", tr.p)
	}
}

// A repair that never completes times out at its deadline, saying what
// was last heard.
func TestRepairTrackerTimesOut(t *testing.T) {
	tr := newRepairTracker("t", "c", []string{"s1"}, false, t0, 10*time.Minute)
	if tr.expire(t0.Add(10*time.Minute - time.Nanosecond)) {
		t.Fatal("expired before its deadline")
	}
	tr.apply(Notification{ID: "s1", AggregateType: AggregateIncrementalSnapshot, Type: NotifyInProgress, TimestampMillis: t0.Add(time.Minute).UnixMilli(),
		AdditionalData: map[string]string{"last_processed_key": "[1024]"}}, t0.Add(time.Minute))
	if !tr.expire(t0.Add(10 * time.Minute)) {
		t.Fatal("not expired at its deadline")
	}
	want := "the repair did not complete within 10m0s (0 of 1 snapshots completed; last notification IN_PROGRESS at 2026-11-29T03:01:00Z, last processed key [1024])"
	if tr.p.Status != RepairTimedOut || tr.p.Error != want {
		t.Fatalf("got %s %q\nwant %q", tr.p.Status, tr.p.Error, want)
	}
	silent := newRepairTracker("t", "c", []string{"s1"}, false, t0, time.Minute)
	silent.expire(t0.Add(time.Hour))
	if !strings.Contains(silent.p.Error, "nothing heard from the connector") {
		t.Fatal(silent.p.Error)
	}
}

// fakeNotifications hands out what the test queues, one batch per Read.
type fakeNotifications struct {
	mu      sync.Mutex
	batches [][]Notification
	bad     []error
	reads   chan struct{}
}

func (f *fakeNotifications) Topic() string { return "demo.notifications" }
func (f *fakeNotifications) Mark(context.Context) (NotificationCursor, error) {
	return NotificationCursor{0: 5}, nil
}
func (f *fakeNotifications) Read(context.Context, *NotificationCursor) ([]Notification, []error, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case f.reads <- struct{}{}:
	default:
	}
	bad := f.bad
	f.bad = nil
	if len(f.batches) == 0 {
		return nil, bad, nil
	}
	b := f.batches[0]
	f.batches = f.batches[1:]
	return b, bad, nil
}

type okSignaler struct{}

func (okSignaler) Signal(context.Context, string, string, []byte) error { return nil }
func (okSignaler) Describe() string                                     { return "table s.sig" }

// followRepair hands the runner a succeeded job whose repair sent
// signals, as run does once Table.Run returns (no database needed).
func followRepair(t *testing.T, r *Runner, tab Table, signals []string) string {
	t.Helper()
	fl := tab.markNotifications(context.Background(), tab.DataCollection)
	job := &Job{ID: newID(), Table: tab.Name, Status: "succeeded", Repair: true, done: make(chan struct{})}
	close(job.done)
	r.jobs.mu.Lock()
	r.jobs.jobs[job.ID] = job
	r.startFollowing(job, tab.Name, &RepairResult{Signals: signals, follow: fl})
	r.jobs.mu.Unlock()
	return job.ID
}

// waitRepair polls the job until its repair is final (generous deadline;
// nothing is timed).
func waitRepair(t *testing.T, r *Runner, id string) RepairProgress {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if j, ok := r.Get(id); ok && j.RepairProgress != nil && j.RepairProgress.Final() {
			return *j.RepairProgress
		}
		time.Sleep(5 * time.Millisecond)
	}
	j, _ := r.Get(id)
	t.Fatalf("repair never final: %+v", j.RepairProgress)
	return RepairProgress{}
}

// The runner follows a repair after its job succeeded: the job shows the
// progress, the counters count the rows and the outcome, a malformed
// record is counted, never dropped silently.
func TestRunnerFollowsARepairToCompletion(t *testing.T) {
	src := &fakeNotifications{reads: make(chan struct{}, 1), bad: []error{errors.New("demo.notifications[0] offset 6: empty notification record")},
		batches: [][]Notification{
			{note("s1", NotifyStarted, nil), note("unrelated", NotifyStarted, nil)},
			{},
			{note("s1", NotifyTableScanCompleted, map[string]string{"total_rows_scanned": "2", "status": "SUCCEEDED"}), note("s1", NotifyCompleted, nil)},
		}}
	tab := Table{Name: "customers", Signaler: okSignaler{}, DataCollection: "inventory.customers",
		Notifications: func(context.Context) (NotificationSource, error) { return src, nil }}
	r := newRunner(t, []Table{tab}, Options{RepairPoll: time.Millisecond})
	id := followRepair(t, r, tab, []string{"s1"})
	p := waitRepair(t, r, id)
	if p.Status != RepairCompleted || p.RowsScanned != 2 || p.Malformed != 1 || !strings.Contains(p.LastMalformed, "offset 6") || p.NotificationTopic != "demo.notifications" {
		t.Fatalf("%+v", p)
	}
	st := r.ReconcileTables()[0]
	if st.RepairRows != 2 || st.RepairsCompleted != 1 || st.RepairsTimedOut != 0 {
		t.Fatalf("%+v", st)
	}
}

// With a fake clock that jumps past the deadline, the repair times out
// and is counted so.
func TestRunnerReportsARepairThatNeverCompletes(t *testing.T) {
	src := &fakeNotifications{reads: make(chan struct{}, 1)}
	var mu sync.Mutex
	now := t0
	tab := Table{Name: "customers", Signaler: okSignaler{}, RepairTimeout: time.Minute,
		Notifications: func(context.Context) (NotificationSource, error) { return src, nil }}
	r := newRunner(t, []Table{tab}, Options{RepairPoll: time.Millisecond, Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	id := followRepair(t, r, tab, []string{"s1"})
	<-src.reads // following has begun, at t0
	mu.Lock()
	now = t0.Add(time.Hour)
	mu.Unlock()
	p := waitRepair(t, r, id)
	if p.Status != RepairTimedOut || !strings.Contains(p.Error, "did not complete within 1m0s") || !p.Deadline.Equal(t0.Add(time.Minute)) {
		t.Fatalf("%+v", p)
	}
	if st := r.ReconcileTables()[0]; st.RepairsTimedOut != 1 {
		t.Fatalf("%+v", st)
	}
}

// A repair whose notifications cannot be found still runs, and its job
// says why it is not followed.
func TestRunnerShowsWhyARepairIsNotFollowed(t *testing.T) {
	tab := Table{Name: "customers", Signaler: okSignaler{},
		Notifications: func(context.Context) (NotificationSource, error) {
			return nil, errors.New("source connector demo-source does not send notifications to Kafka")
		}}
	r := newRunner(t, []Table{tab}, Options{})
	id := followRepair(t, r, tab, []string{"s1"})
	j, _ := r.Get(id)
	if p := j.RepairProgress; p == nil || p.Status != RepairUnavailable || !strings.Contains(p.Error, "does not send notifications") {
		t.Fatalf("%+v", p)
	}
}

// Where a repair's notifications are read from, and each reason a user
// can meet for not following it, in words that say what to set.
func TestNotificationsOf(t *testing.T) {
	kc, err := kafka.New(config.Kafka{Brokers: []string{"127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	live := func(name string, cfg map[string]string, err error) SourceConfig {
		return func(context.Context, config.Table) (string, map[string]string, error) { return name, cfg, err }
	}
	sink := map[string]string{"notification.enabled.channels": "log,SINK", "notification.sink.topic.name": "live.notifications"}
	for name, tc := range map[string]struct {
		topic string
		kc    *kafka.Client
		src   SourceConfig
		want  string // topic, or the error
	}{
		"configured topic wins":   {"conf.notifications", kc, live("src", sink, nil), "conf.notifications"},
		"read from the connector": {"", kc, live("src", sink, nil), "live.notifications"},
		"no kafka section":        {"conf.notifications", nil, nil, "no kafka section"},
		"channel off":             {"", kc, live("src", map[string]string{"notification.enabled.channels": "log"}, nil), "source connector src does not send notifications to Kafka: set notification.enabled.channels=sink"},
		"topic unset":             {"", kc, live("src", map[string]string{"notification.enabled.channels": "sink"}, nil), "does not send notifications to Kafka"},
		"no connector found":      {"", kc, live("", nil, nil), "set signal.notification_topic"},
		"connect unreachable":     {"", kc, live("", nil, errors.New("connection refused")), "reading the source connector's notification settings: connection refused"},
		"nothing to ask":          {"", kc, nil, "no signal.notification_topic and no source connector"},
	} {
		t.Run(name, func(t *testing.T) {
			tab := config.Table{Name: "orders", Signal: &config.Signal{Connector: "src", NotificationTopic: tc.topic}}
			src, err := NotificationsOf(tab, tc.kc, tc.src)(context.Background())
			got := ""
			if err != nil {
				got = err.Error()
			} else {
				got = src.Topic()
			}
			if !strings.Contains(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// followed is a repair result as Table.Run leaves it when asked to
// follow: its signals and where the notification topic ended.
func followed(t *testing.T, tab Table, signals ...string) *RepairResult {
	t.Helper()
	return &RepairResult{Signals: signals, follow: tab.markNotifications(context.Background(), tab.DataCollection)}
}

// The reconcile command's --wait follows a repair with the same
// follower as the runner: each read is handed to step, a malformed
// record is counted, and Follow returns once the snapshots complete.
func TestFollowerFollowsARepairToItsEnd(t *testing.T) {
	src := &fakeNotifications{bad: []error{errors.New("offset 6: empty notification record")},
		batches: [][]Notification{
			{note("s1", NotifyStarted, nil)},
			{note("s1", NotifyTableScanCompleted, map[string]string{"total_rows_scanned": "4", "status": "SUCCEEDED"}), note("s1", NotifyCompleted, nil)},
		}}
	tab := Table{Name: "customers", Signaler: okSignaler{}, DataCollection: "inventory.customers",
		Notifications: func(context.Context) (NotificationSource, error) { return src, nil }}
	f := followed(t, tab, "s1").Follower(func() time.Time { return t0 })
	if p := f.Progress(); p.Status != RepairWaiting || p.NotificationTopic != "demo.notifications" || p.Snapshots != 1 {
		t.Fatalf("before the first read: %+v", p)
	}
	var statuses []string
	var rows int64
	var bad int
	p := f.Follow(context.Background(), time.Millisecond, func(p RepairProgress, r int64, b []error) {
		statuses = append(statuses, p.Status)
		rows += r
		bad += len(b)
	})
	if got := strings.Join(statuses, " "); got != "started completed" {
		t.Errorf("steps: %s", got)
	}
	if p.Status != RepairCompleted || p.RowsScanned != 4 || rows != 4 || bad != 1 || p.Malformed != 1 {
		t.Fatalf("rows %d, bad %d, %+v", rows, bad, p)
	}
}

// Interrupting the wait returns the progress so far, not final: the
// repair goes on in the connector.
func TestFollowerStopsWithItsContext(t *testing.T) {
	src := &fakeNotifications{reads: make(chan struct{}, 1)}
	tab := Table{Name: "customers", Signaler: okSignaler{},
		Notifications: func(context.Context) (NotificationSource, error) { return src, nil }}
	f := followed(t, tab, "s1").Follower(nil)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-src.reads
		cancel()
	}()
	if p := f.Follow(ctx, time.Millisecond, nil); p.Final() || p.Status != RepairWaiting {
		t.Fatalf("%+v", p)
	}
}

// Nothing to follow: no signal went out, or the run was not asked to
// follow. A repair whose topic cannot be found is final at once, saying
// why.
func TestFollowerOfARepairThatCannotBeFollowed(t *testing.T) {
	if (*RepairResult)(nil).Follower(nil) != nil || (&RepairResult{Signals: []string{"s1"}}).Follower(nil) != nil {
		t.Fatal("a follower of nothing")
	}
	tab := Table{Name: "customers", Signaler: okSignaler{}}
	f := followed(t, tab, "s1").Follower(nil)
	p := f.Follow(context.Background(), time.Hour, func(RepairProgress, int64, []error) { t.Fatal("a read of no topic") })
	if p.Status != RepairUnavailable || !strings.Contains(p.Error, "no notification topic known") {
		t.Fatalf("%+v", p)
	}
}
