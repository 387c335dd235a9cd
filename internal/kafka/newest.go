package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// newestTail is how many records at the end of each partition are read
// to find the newest one with a value: deletes leave tombstones (no
// value) behind their change events.
const newestTail = 8

// NewestValue returns the value of the newest record on topic that has
// one (the latest by record timestamp over the partitions' last few
// records; tombstones skipped). ok is false when the topic holds no such
// record. It reads only: one fetch per non-empty partition.
func (c *Client) NewestValue(ctx context.Context, topic string) (value []byte, ok bool, err error) {
	ends, err := c.PartitionEnds(ctx, topic)
	if err != nil {
		return nil, false, err
	}
	tp := ends[topic]
	if !tp.Exists {
		return nil, false, fmt.Errorf("%s: %w", topic, ErrUnknownTopic)
	}
	var newest time.Time
	errs := []error{tp.Err}
	for p, end := range tp.Ends {
		if end <= 0 {
			continue
		}
		res, err := c.ReadRecords(ctx, Partition{Topic: topic, Partition: p}, max(end-newestTail, 0), newestTail)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, r := range res.Records {
			if r.Value != nil && (!ok || !r.Timestamp.Before(newest)) {
				value, newest, ok = r.Value, r.Timestamp, true
			}
		}
	}
	if err := errors.Join(errs...); err != nil && !ok {
		return nil, false, err
	}
	return value, ok, nil
}
