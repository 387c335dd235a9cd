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

// follow is what a repair leaves for the runner to follow: where the
// notification topic ended before its signals went out.
type follow struct {
	src     NotificationSource
	cursor  NotificationCursor
	anyID   bool
	timeout time.Duration
	// unavailable says why the repair cannot be followed ("" when it can).
	unavailable string
}
