package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/cdc-sentinel/cdc-sentinel/internal/retention"
)

// RetentionRead is what a topic's retention needs beyond its backlog: the
// topic's retention configuration and, for each partition the group has
// committed, the committed offset beside the partition's log start.
type RetentionRead struct {
	Config retention.TopicRetention
	// ConfigErr is set when the topic's configuration could not be read.
	ConfigErr error
	// Offsets holds every committed partition of the topic when StartErr
	// is nil; a partition whose log start could not be read sets it.
	Offsets  []retention.PartitionOffsets
	StartErr error
}

// retentionReads are the log starts and configurations of topics, read
// while the end offsets are.
type retentionReads struct {
	wait    func()
	startOf func(Partition) (int64, error)
	configs map[string]retention.TopicRetention
	cfgErr  func(topic string) error
}

// startRetentionReads starts reading the log start offsets and the
// retention configuration of topics under ctx; wait returns once both
// have answered or ctx ended.
func (c *Client) startRetentionReads(ctx context.Context, topics []string) *retentionReads {
	r := &retentionReads{}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		starts, err := c.PartitionStarts(ctx, topics...)
		r.startOf = offsetOf("log start", starts, err)
	}()
	go func() {
		defer wg.Done()
		r.configs, r.cfgErr = c.TopicRetentions(ctx, topics...)
	}()
	r.wait = wg.Wait
	return r
}

// fill sets the Retention of each topic of one group's backlog from its
// committed offsets cm.
func (r *retentionReads) fill(topics map[string]TopicBacklog, cm map[Partition]int64) {
	for p, committed := range cm {
		tl, ok := topics[p.Topic]
		if !ok {
			continue // deleted, or left out
		}
		if tl.Retention == nil {
			tl.Retention = &RetentionRead{Config: r.configs[p.Topic], ConfigErr: r.cfgErr(p.Topic)}
		}
		start, err := r.startOf(p)
		if err != nil {
			tl.Retention.StartErr = errors.Join(tl.Retention.StartErr, err)
		} else {
			tl.Retention.Offsets = append(tl.Retention.Offsets, retention.PartitionOffsets{Partition: p.Partition, Committed: committed, Start: start})
		}
		topics[p.Topic] = tl
	}
	for t, tl := range topics {
		if tl.Retention != nil && tl.Retention.StartErr != nil {
			tl.Retention.Offsets = nil
			topics[t] = tl
		}
	}
}

// skipDeleted moves each read position below its partition's log start
// to the start: the oldest record a sink behind retention can still read
// is there, and a fetch below it is out of range (the broker's answer
// then does not say where the log starts).
func (r *retentionReads) skipDeleted(positions map[Partition]int64) {
	for p, off := range positions {
		if start, err := r.startOf(p); err == nil && start > off {
			positions[p] = start
		}
	}
}

// offsetOf looks up a partition's offset in a listing of what.
func offsetOf(what string, listed map[string]TopicPartitions, listErr error) func(Partition) (int64, error) {
	return func(p Partition) (int64, error) {
		if listErr != nil {
			return 0, listErr
		}
		tp := listed[p.Topic]
		if !tp.Exists {
			return 0, errTopicGone
		}
		if off, ok := tp.Ends[p.Partition]; ok {
			return off, nil
		}
		if tp.Err != nil {
			return 0, tp.Err
		}
		return 0, fmt.Errorf("%s offset of %s: not listed", what, p)
	}
}

// Kafka's topic configuration keys that decide deletion.
const (
	cfgRetentionMs    = "retention.ms"
	cfgRetentionBytes = "retention.bytes"
	cfgCleanupPolicy  = "cleanup.policy"
)

// TopicRetentions reads the retention configuration of topics in one
// DescribeConfigs request (answered by any broker) asking for the three
// keys only: a topic's whole configuration with its synonyms is tens of
// entries, and at a few thousand topics that answer dominated the read.
// A topic whose configuration did not come back, or does not parse, has
// an error from errOf; the others are in the map. Values not set on the
// topic are the broker's defaults, as the broker reports them.
func (c *Client) TopicRetentions(ctx context.Context, topics ...string) (map[string]retention.TopicRetention, func(topic string) error) {
	out := make(map[string]retention.TopicRetention, len(topics))
	errs := map[string]error{}
	req := kmsg.NewPtrDescribeConfigsRequest()
	for _, t := range topics {
		r := kmsg.NewDescribeConfigsRequestResource()
		r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeTopic, t
		r.ConfigNames = []string{cfgRetentionMs, cfgRetentionBytes, cfgCleanupPolicy}
		req.Resources = append(req.Resources, r)
	}
	resp, err := req.RequestWith(ctx, c.kgo)
	if err != nil {
		err = fmt.Errorf("describing the configuration of %d topics: %w", len(topics), err)
		return out, func(string) error { return err }
	}
	for _, rc := range resp.Resources {
		if err := kerr.ErrorForCode(rc.ErrorCode); err != nil {
			errs[rc.ResourceName] = fmt.Errorf("configuration of topic %s: %w", rc.ResourceName, err)
			continue
		}
		cfgs := make([]kadm.Config, 0, len(rc.Configs))
		for _, cv := range rc.Configs {
			cfgs = append(cfgs, kadm.Config{Key: cv.Name, Value: cv.Value})
		}
		r, err := parseRetention(cfgs)
		if err != nil {
			errs[rc.ResourceName] = fmt.Errorf("configuration of topic %s: %w", rc.ResourceName, err)
			continue
		}
		out[rc.ResourceName] = r
	}
	return out, func(topic string) error {
		if err := errs[topic]; err != nil {
			return err
		}
		if _, ok := out[topic]; !ok {
			return fmt.Errorf("configuration of topic %s: no answer", topic)
		}
		return nil
	}
}

// parseRetention reads the deletion settings from a topic's configs;
// Kafka's own defaults (7 days, no size limit, delete) stand for keys a
// broker leaves out.
func parseRetention(cfgs []kadm.Config) (retention.TopicRetention, error) {
	r := retention.TopicRetention{Ms: 7 * 24 * 3600 * 1000, Bytes: -1, Delete: true}
	for _, cfg := range cfgs {
		if cfg.Value == nil {
			continue
		}
		v := strings.TrimSpace(*cfg.Value)
		var err error
		switch cfg.Key {
		case cfgRetentionMs:
			r.Ms, err = strconv.ParseInt(v, 10, 64)
		case cfgRetentionBytes:
			r.Bytes, err = strconv.ParseInt(v, 10, 64)
		case cfgCleanupPolicy:
			r.Delete = false
			for _, p := range strings.Split(v, ",") {
				if strings.TrimSpace(p) == "delete" {
					r.Delete = true
				}
			}
		}
		if err != nil {
			return r, fmt.Errorf("%s=%q is not a number", cfg.Key, v)
		}
	}
	return r, nil
}
