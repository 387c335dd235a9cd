package reconcile

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Repair statuses, as RepairProgress.Status shows them. waiting,
// started, in_progress and paused last until one of the final ones.
const (
	RepairWaiting     = "waiting" // signals sent, nothing heard yet
	RepairStarted     = "started"
	RepairInProgress  = "in_progress"
	RepairPaused      = "paused"
	RepairCompleted   = "completed"
	RepairAborted     = "aborted"
	RepairFailed      = "failed" // a table scan did not succeed, or the snapshot was skipped
	RepairTimedOut    = "timed_out"
	RepairUnavailable = "unavailable" // no notification topic to follow
)

// RepairProgress is how far the incremental snapshots a repair started
// have got, as the source connector's notifications tell it.
type RepairProgress struct {
	Status            string `json:"status"`
	NotificationTopic string `json:"notification_topic,omitempty"`
	// Snapshots is how many incremental snapshots the repair started (one
	// per signal); SnapshotsCompleted how many have reported COMPLETED.
	Snapshots          int `json:"snapshots"`
	SnapshotsCompleted int `json:"snapshots_completed"`
	// RowsScanned are the rows the snapshots re-sent, summed from their
	// TABLE_SCAN_COMPLETED notifications.
	RowsScanned       int64  `json:"rows_scanned"`
	CurrentCollection string `json:"current_collection,omitempty"`
	// LastProcessedKey and MaximumKey are the last chunk's position, as
	// Debezium writes them (the key's value, "42", for a one-column key).
	LastProcessedKey string `json:"last_processed_key,omitempty"`
	MaximumKey       string `json:"maximum_key,omitempty"`
	// TableScanStatus is the last TABLE_SCAN_COMPLETED status (SUCCEEDED,
	// EMPTY, NO_PRIMARY_KEY, SKIPPED, SQL_EXCEPTION, UNKNOWN_SCHEMA).
	TableScanStatus    string     `json:"table_scan_status,omitempty"`
	LastNotification   string     `json:"last_notification,omitempty"`
	LastNotificationAt *time.Time `json:"last_notification_at,omitempty"`
	StartedAt          time.Time  `json:"started_at"`
	Deadline           time.Time  `json:"deadline"`
	FinishedAt         *time.Time `json:"finished_at,omitempty"`
	// Malformed counts notification records that could not be read;
	// LastMalformed says why the last one could not.
	Malformed     int    `json:"notifications_malformed,omitempty"`
	LastMalformed string `json:"last_malformed,omitempty"`
	Error         string `json:"error,omitempty"`
}

// Final reports whether the status can no longer change.
func (p RepairProgress) Final() bool {
	switch p.Status {
	case RepairCompleted, RepairAborted, RepairFailed, RepairTimedOut, RepairUnavailable:
		return true
	}
	return false
}

// repairTracker turns notifications into a RepairProgress. It is pure:
// times come from the caller, so it is tested with any clock.
type repairTracker struct {
	p          RepairProgress
	signals    map[string]bool
	collection string
	// anyID: on the Kafka signal channel the signal's id is Debezium's
	// own, not the one cdc-sentinel chose, so the repair's snapshots are
	// recognised by their data collection instead.
	anyID     bool
	completed map[string]bool
}

func newRepairTracker(topic, collection string, signals []string, anyID bool, now time.Time, timeout time.Duration) *repairTracker {
	t := &repairTracker{signals: map[string]bool{}, collection: collection, anyID: anyID, completed: map[string]bool{},
		p: RepairProgress{Status: RepairWaiting, NotificationTopic: topic, Snapshots: len(signals), StartedAt: now, Deadline: now.Add(timeout)}}
	for _, s := range signals {
		t.signals[s] = true
	}
	return t
}

// ours says whether n is about one of the repair's snapshots.
func (t *repairTracker) ours(n Notification) bool {
	if n.AggregateType != AggregateIncrementalSnapshot {
		return false
	}
	if t.signals[n.ID] {
		return true
	}
	if !t.anyID {
		return false
	}
	for _, key := range []string{"data_collections", "data_collection", "scanned_collection", "current_collection_in_progress"} {
		for _, c := range strings.Split(n.AdditionalData[key], ",") {
			if strings.TrimSpace(c) == t.collection {
				return true
			}
		}
	}
	return false
}

// apply takes one notification in; it returns the rows it reports
// re-sent (for the counter) and whether the progress changed.
func (t *repairTracker) apply(n Notification, now time.Time) (rows int64, changed bool) {
	if t.p.Final() || !t.ours(n) {
		return 0, false
	}
	at := now
	if n.TimestampMillis > 0 {
		at = time.UnixMilli(n.TimestampMillis).UTC()
	}
	t.p.LastNotification, t.p.LastNotificationAt = n.Type, &at
	d := n.AdditionalData
	switch n.Type {
	case NotifyStarted, NotifyResumed:
		t.p.Status = RepairStarted
		if n.Type == NotifyResumed {
			t.p.Status = RepairInProgress
		}
	case NotifyPaused:
		t.p.Status = RepairPaused
	case NotifyInProgress:
		t.p.Status = RepairInProgress
		t.p.CurrentCollection = d["current_collection_in_progress"]
		t.p.LastProcessedKey, t.p.MaximumKey = d["last_processed_key"], d["maximum_key"]
	case NotifyTableScanCompleted:
		t.p.Status = RepairInProgress
		t.p.TableScanStatus = d["status"]
		if r, err := strconv.ParseInt(d["total_rows_scanned"], 10, 64); err == nil && r > 0 {
			rows = r
			t.p.RowsScanned += r
		}
		if s := d["status"]; s != "" && s != "SUCCEEDED" && s != "EMPTY" {
			t.finish(RepairFailed, fmt.Sprintf("the table scan of %s ended %s", cmp.Or(d["scanned_collection"], d["data_collection"], t.collection), s), now)
		}
	case NotifyCompleted:
		t.completed[n.ID] = true
		t.p.SnapshotsCompleted = len(t.completed)
		if t.p.SnapshotsCompleted >= t.p.Snapshots {
			t.finish(RepairCompleted, "", now)
		}
	case NotifyAborted:
		t.finish(RepairAborted, "the incremental snapshot was stopped (stop-snapshot signal or connector)", now)
	case NotifySkipped:
		t.finish(RepairFailed, "the connector skipped the incremental snapshot", now)
	}
	return rows, true
}

// malformed records a notification record that could not be read: it is
// counted and shown, never silently dropped.
func (t *repairTracker) malformed(err error) {
	t.p.Malformed++
	t.p.LastMalformed = err.Error()
}

// expire ends a repair still open at its deadline; it reports whether
// it did.
func (t *repairTracker) expire(now time.Time) bool {
	if t.p.Final() || now.Before(t.p.Deadline) {
		return false
	}
	last := "nothing heard from the connector"
	if t.p.LastNotification != "" {
		last = "last notification " + t.p.LastNotification + " at " + t.p.LastNotificationAt.Format(time.RFC3339)
		if t.p.LastProcessedKey != "" {
			last += ", last processed key " + t.p.LastProcessedKey
		}
	}
	t.finish(RepairTimedOut, fmt.Sprintf("the repair did not complete within %s (%d of %d snapshots completed; %s)",
		t.p.Deadline.Sub(t.p.StartedAt), t.p.SnapshotsCompleted, t.p.Snapshots, last), now)
	return true
}

func (t *repairTracker) finish(status, why string, now time.Time) {
	t.p.Status, t.p.Error = status, why
	t.p.FinishedAt = &now
}
