package reconcile

import (
	"context"
	"fmt"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
)

// NotificationSource is the topic a source connector writes its
// notifications to.
type NotificationSource interface {
	// Mark is where the topic ends now. It is taken before a repair's
	// signals are sent, so no notification about its snapshots can come
	// before it.
	Mark(ctx context.Context) (NotificationCursor, error)
	// Read returns the notifications written after the cursor and moves
	// it past them. A record that cannot be read is returned in bad
	// (never dropped silently); err is for the topic that cannot be read
	// at all (the cursor then stays where it was).
	Read(ctx context.Context, cur *NotificationCursor) (ns []Notification, bad []error, err error)
	Topic() string
}

// NotificationCursor is the next offset to read in each partition. A
// partition it does not hold appeared after the mark (the topic is
// created by the connector's first notification) and is read from its
// start.
type NotificationCursor map[int32]int64

// KafkaNotifications reads a notification topic with the project's
// Kafka client; it only reads (no consumer group, nothing committed).
type KafkaNotifications struct {
	Client *kafka.Client
	Name   string
}

// Topic implements NotificationSource.
func (k KafkaNotifications) Topic() string { return k.Name }

// Mark implements NotificationSource.
func (k KafkaNotifications) Mark(ctx context.Context) (NotificationCursor, error) {
	ends, err := k.Client.PartitionEnds(ctx, k.Name)
	if err != nil {
		return nil, fmt.Errorf("notification topic %s: %w", k.Name, err)
	}
	tp := ends[k.Name]
	if tp.Err != nil {
		return nil, fmt.Errorf("notification topic %s: %w", k.Name, tp.Err)
	}
	cur := NotificationCursor{}
	for p, end := range tp.Ends {
		cur[p] = end
	}
	return cur, nil
}

// readBatch bounds the records one partition gives per Read.
const readBatch = 500

// Read implements NotificationSource.
func (k KafkaNotifications) Read(ctx context.Context, cur *NotificationCursor) ([]Notification, []error, error) {
	ends, err := k.Client.PartitionEnds(ctx, k.Name)
	if err != nil {
		return nil, nil, fmt.Errorf("notification topic %s: %w", k.Name, err)
	}
	tp := ends[k.Name]
	var ns []Notification
	var bad []error
	for p, end := range tp.Ends {
		from := (*cur)[p]
		for from < end {
			res, err := k.Client.ReadRecords(ctx, kafka.Partition{Topic: k.Name, Partition: p}, from, readBatch)
			if err != nil {
				return ns, bad, fmt.Errorf("notification topic %s: %w", k.Name, err)
			}
			for _, rec := range res.Records {
				n, err := ParseNotification(rec.Value)
				if err != nil {
					bad = append(bad, fmt.Errorf("%s[%d] offset %d: %w", k.Name, p, rec.Offset, err))
					continue
				}
				ns = append(ns, n)
			}
			if res.Next <= from {
				break
			}
			from = res.Next
			(*cur)[p] = from
		}
	}
	return ns, bad, tp.Err
}

// follow is what a repair leaves to be followed: where the
// notification topic ended before its signals went out.
type follow struct {
	src        NotificationSource
	cursor     NotificationCursor
	collection string
	anyID      bool
	timeout    time.Duration
	// unavailable says why the repair cannot be followed ("" when it can).
	unavailable string
}

// RepairFollower follows the incremental snapshots one repair started,
// through the source connector's notifications, to their end. The
// runner (the API and the remediator) and the reconcile command follow
// a repair with it, so both tell its progress the same way. One
// goroutine uses a follower.
type RepairFollower struct {
	fl  *follow
	tr  *repairTracker
	now func() time.Time
}

// Follower returns the follower of the repair's snapshots, or nil when
// there is nothing to follow: no signal was sent, or the run was not
// started with StartOptions.Follow. now is its clock (nil: time.Now).
func (res *RepairResult) Follower(now func() time.Time) *RepairFollower {
	if res == nil || res.follow == nil || len(res.Signals) == 0 {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	fl := res.follow
	t0 := now().UTC()
	var topic string
	if fl.src != nil {
		topic = fl.src.Topic()
	}
	tr := newRepairTracker(topic, fl.collection, res.Signals, fl.anyID, t0, fl.timeout)
	if fl.unavailable != "" {
		tr.finish(RepairUnavailable, fl.unavailable, t0)
	}
	return &RepairFollower{fl: fl, tr: tr, now: func() time.Time { return now().UTC() }}
}

// Progress is the repair's progress so far.
func (f *RepairFollower) Progress() RepairProgress { return f.tr.p }

// Follow reads the notification topic every poll until the repair's
// status is final (completed, failed, aborted, timed out at its
// deadline) or ctx ends, and returns the last progress. After each read,
// step is given the progress, the rows that read reported re-sent, and
// the records it could not read: every record is read, so a malformed
// one is counted in the progress, never lost.
func (f *RepairFollower) Follow(ctx context.Context, poll time.Duration, step func(p RepairProgress, rows int64, bad []error)) RepairProgress {
	if f.tr.p.Final() {
		return f.tr.p
	}
	timer := time.NewTimer(poll)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return f.tr.p
		case <-timer.C:
		}
		rows, bad := f.read(ctx, max(poll, 10*time.Second))
		if step != nil {
			step(f.tr.p, rows, bad)
		}
		if f.tr.p.Final() {
			return f.tr.p
		}
		timer.Reset(poll)
	}
}

// read takes one batch of notifications in, within timeout.
func (f *RepairFollower) read(ctx context.Context, timeout time.Duration) (rows int64, bad []error) {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	ns, bad, err := f.fl.src.Read(rctx, &f.fl.cursor)
	cancel()
	now := f.now()
	for _, n := range ns {
		got, _ := f.tr.apply(n, now)
		rows += got
	}
	for _, b := range bad {
		f.tr.malformed(b)
	}
	if err != nil {
		f.tr.p.Error = err.Error()
	} else if !f.tr.p.Final() {
		f.tr.p.Error = ""
	}
	f.tr.expire(now)
	return rows, bad
}
