package kafka

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Records are read without joining a consumer group or committing
// anything: the scrape path and `dlq inspect` only look, so they send
// Fetch requests straight to each partition's leader from offsets they
// choose, over the client's existing connections.

// Partition names one partition of a topic.
type Partition struct {
	Topic     string
	Partition int32
}

func (p Partition) String() string { return fmt.Sprintf("%s[%d]", p.Topic, p.Partition) }

// route is where a partition is read from.
type route struct {
	leader  int32
	epoch   int32
	topicID [16]byte
}

// ErrUnknownTopic is returned for a topic the brokers do not know.
var ErrUnknownTopic = errors.New("topic does not exist")

// routes looks up the leader of every partition of topics, from the
// client's metadata cache when it is fresh. A topic that cannot be
// routed has its error in the second map.
func (c *Client) routes(ctx context.Context, topics []string) (map[Partition]route, map[string]error, error) {
	return c.routesNoOlderThan(ctx, topics, 0)
}

// routesNoOlderThan is routes with cached metadata at most maxAge old
// (0: the client's MetadataMinAge).
func (c *Client) routesNoOlderThan(ctx context.Context, topics []string, maxAge time.Duration) (map[Partition]route, map[string]error, error) {
	req := kmsg.NewPtrMetadataRequest()
	for _, t := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(t)
		req.Topics = append(req.Topics, rt)
	}
	resp, err := c.kgo.RequestCachedMetadata(ctx, req, maxAge)
	if err != nil {
		return nil, nil, fmt.Errorf("metadata of %d topics: %w", len(topics), err)
	}
	out := map[Partition]route{}
	bad := map[string]error{}
	for _, t := range resp.Topics {
		name := ""
		if t.Topic != nil {
			name = *t.Topic
		}
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			if errors.Is(err, kerr.UnknownTopicOrPartition) {
				err = ErrUnknownTopic
			}
			bad[name] = fmt.Errorf("metadata of %s: %w", name, err)
			continue
		}
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil && p.Leader < 0 {
				continue // no leader: reading it fails below, as unknown
			}
			out[Partition{name, p.Partition}] = route{leader: p.Leader, epoch: p.LeaderEpoch, topicID: t.TopicID}
		}
	}
	return out, bad, nil
}

// fetchAt reads p from offset on, directly from its leader, without
// waiting for new data. maxBytes bounds the answer, except that a
// broker always returns the first record batch whole, so a single read
// makes progress whatever the batch size. The returned offset is where
// the next read continues.
func (c *Client) fetchAt(ctx context.Context, p Partition, r route, offset int64, maxBytes int32) (kgo.FetchPartition, int64, error) {
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis = 0
	req.MinBytes = 0
	req.MaxBytes = maxBytes
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = p.Topic, r.topicID
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition = p.Partition
	rp.FetchOffset = offset
	rp.PartitionMaxBytes = maxBytes
	rp.CurrentLeaderEpoch = r.epoch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)

	kresp, err := c.kgo.Broker(int(r.leader)).RetriableRequest(ctx, req)
	if err != nil {
		return kgo.FetchPartition{}, offset, fmt.Errorf("fetching %s at %d from broker %d: %w", p, offset, r.leader, err)
	}
	resp := kresp.(*kmsg.FetchResponse)
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return kgo.FetchPartition{}, offset, fmt.Errorf("fetching %s at %d: %w", p, offset, err)
	}
	for i := range resp.Topics {
		for j := range resp.Topics[i].Partitions {
			raw := &resp.Topics[i].Partitions[j]
			if raw.Partition != p.Partition {
				continue
			}
			fp, next := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{
				Offset:    offset,
				Topic:     p.Topic,
				Partition: p.Partition,
			}, raw, kgo.DefaultDecompressor(), nil)
			if fp.Err != nil {
				return fp, offset, fmt.Errorf("fetching %s at %d: %w", p, offset, fp.Err)
			}
			return fp, next, nil
		}
	}
	return kgo.FetchPartition{}, offset, fmt.Errorf("fetching %s at %d: the broker's answer does not hold the partition", p, offset)
}

// ReadResult is what ReadRecords found in one partition.
type ReadResult struct {
	Records []*kgo.Record
	// Next is the offset after the last record read (where a later read
	// continues); End is the partition's end offset (high watermark) as
	// of the last fetch, Start its first offset.
	Next, End, Start int64
	// Skipped is how many offsets below Start the read was asked to begin
	// at: records retention deleted before they were read.
	Skipped int64
}

// ReadRecords reads at most max records of p from offset from on,
// stopping early at the end of the partition. An offset below the
// partition's start (records deleted by retention) reads from the start,
// counting the offsets passed over in Skipped.
// It reads only; nothing is committed.
func (c *Client) ReadRecords(ctx context.Context, p Partition, from int64, max int) (ReadResult, error) {
	res, err := c.readRecordsRouted(ctx, p, from, max, 0)
	if errors.Is(err, kerr.UnknownTopicID) {
		// The cached id is a deleted topic's: the topic was created
		// again under its name. Ask for its id afresh, once.
		res, err = c.readRecordsRouted(ctx, p, from, max, time.Nanosecond)
	}
	return res, err
}

func (c *Client) readRecordsRouted(ctx context.Context, p Partition, from int64, max int, maxAge time.Duration) (ReadResult, error) {
	routes, bad, err := c.routesNoOlderThan(ctx, []string{p.Topic}, maxAge)
	if err != nil {
		return ReadResult{}, err
	}
	if err := bad[p.Topic]; err != nil {
		return ReadResult{}, err
	}
	r, ok := routes[p]
	if !ok {
		return ReadResult{}, fmt.Errorf("%s: no such partition or no leader", p)
	}
	return c.readRecords(ctx, p, r, from, max, fetchBytes)
}

// fetchBytes bounds one fetch of ReadRecords: enough for many small
// dead-lettered records, small enough to keep a scrape's memory flat.
const fetchBytes = 1 << 20

func (c *Client) readRecords(ctx context.Context, p Partition, r route, from int64, max int, maxBytes int32) (ReadResult, error) {
	res := ReadResult{Next: from, End: -1, Start: -1}
	for outOfRange := 0; len(res.Records) < max; {
		fp, next, err := c.fetchAt(ctx, p, r, res.Next, maxBytes)
		if errors.Is(err, kerr.OffsetOutOfRange) && outOfRange < 2 {
			outOfRange++
			start := fp.LogStartOffset
			if start <= res.Next {
				// The broker's out-of-range answer need not carry the
				// log start: ask for it.
				if start, err = c.logStart(ctx, p); err != nil {
					return res, err
				}
			}
			if start > res.Next {
				// Deleted by retention: what remains starts later.
				res.Skipped += start - res.Next
			}
			// Else past the end: the topic was re-created with fewer
			// records. Either way what it holds begins at its log start.
			res.Next = start
			continue
		}
		if err != nil {
			return res, err
		}
		res.End, res.Start = fp.HighWatermark, fp.LogStartOffset
		for _, rec := range fp.Records {
			if len(res.Records) == max {
				break
			}
			res.Records = append(res.Records, rec)
			res.Next = rec.Offset + 1
		}
		if len(res.Records) == max {
			break
		}
		if next > res.Next {
			res.Next = next // skipped control records or aborted batches
		}
		if len(fp.Records) == 0 && next <= res.Next || res.Next >= fp.HighWatermark {
			break
		}
	}
	return res, nil
}

// RecordTimes gives, for each position, the timestamp of the first
// record at or after it (the next record a consumer at that position
// would read). Each position costs one fetch to its partition's leader,
// at most parallel at a time; positions whose partition has no such
// record, whose leader did not answer before ctx ends, or that fail
// otherwise have an error instead. A dead broker delays only the
// positions it leads.
func (c *Client) RecordTimes(ctx context.Context, positions map[Partition]int64, parallel int) map[Partition]TimeResult {
	out := make(map[Partition]TimeResult, len(positions))
	if len(positions) == 0 {
		return out
	}
	jobs := c.routePositions(ctx, positions, out)
	// First one Fetch per leader for all its partitions: a broker serves
	// one connection's requests one at a time, so per-partition fetches
	// would queue. A partition that comes back without a whole record
	// (its first batch is larger than its share) is fetched alone after.
	results := c.firstRecordsByLeader(ctx, jobs)
	c.fetchAlone(ctx, jobs, results, parallel)
	for i, j := range jobs {
		out[j.p] = results[i]
	}
	return out
}

// routePositions finds the leader of each position's partition; those
// it cannot route get their error in out.
func (c *Client) routePositions(ctx context.Context, positions map[Partition]int64, out map[Partition]TimeResult) []fetchItem {
	topics := map[string]bool{}
	for p := range positions {
		topics[p.Topic] = true
	}
	names := make([]string, 0, len(topics))
	for t := range topics {
		names = append(names, t)
	}
	sort.Strings(names)
	routes, bad, err := c.routes(ctx, names)
	if err != nil {
		for p := range positions {
			out[p] = TimeResult{Err: err}
		}
		return nil
	}
	var jobs []fetchItem
	for p, off := range positions {
		if err := bad[p.Topic]; err != nil {
			out[p] = TimeResult{Err: err}
			continue
		}
		r, ok := routes[p]
		if !ok {
			out[p] = TimeResult{Err: fmt.Errorf("%s: no leader known", p)}
			continue
		}
		jobs = append(jobs, fetchItem{p, r, off})
	}
	return jobs
}

// firstRecordsByLeader reads the first record of every job with one
// Fetch per leader, the leaders in parallel.
func (c *Client) firstRecordsByLeader(ctx context.Context, jobs []fetchItem) []TimeResult {
	byLeader := map[int32][]int{}
	for i, j := range jobs {
		byLeader[j.r.leader] = append(byLeader[j.r.leader], i)
	}
	results := make([]TimeResult, len(jobs))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for leader, idx := range byLeader {
		wg.Go(func() {
			items := make([]fetchItem, len(idx))
			for k, i := range idx {
				items[k] = jobs[i]
			}
			got := c.firstRecords(ctx, leader, items)
			mu.Lock()
			defer mu.Unlock()
			for k, i := range idx {
				results[i] = got[k]
			}
		})
	}
	wg.Wait()
	return results
}

// fetchAlone fetches, at most parallel at a time, the jobs the shared
// Fetch found no whole record for.
func (c *Client) fetchAlone(ctx context.Context, jobs []fetchItem, results []TimeResult, parallel int) {
	if parallel < 1 {
		parallel = 1
	}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, j := range jobs {
		if results[i].Err == nil && !results[i].Time.IsZero() {
			continue
		}
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				results[i] = TimeResult{Err: fmt.Errorf("%s: %w", j.p, ctx.Err())}
				return
			}
			// One record suffices: ask for one byte, and the broker
			// sends the batch holding the position whole.
			res, err := c.readRecords(ctx, j.p, j.r, j.off, 1, 1)
			switch {
			case err != nil:
				results[i] = TimeResult{Err: err}
			case len(res.Records) == 0:
				results[i] = TimeResult{Err: fmt.Errorf("%s: no record at or after offset %d", j.p, j.off)}
			default:
				results[i] = TimeResult{Time: res.Records[0].Timestamp, Offset: res.Records[0].Offset}
			}
		})
	}
	wg.Wait()
}

// TimeResult is the timestamp of one record, or why it is unknown.
type TimeResult struct {
	Time   time.Time
	Offset int64
	Err    error
}

type fetchItem struct {
	p   Partition
	r   route
	off int64
}

// firstRecordShare is what one partition may take of a shared Fetch:
// more than a typical producer batch (16 KiB by default), and the whole
// answer stays within firstRecordsMax.
const (
	firstRecordShare = 64 << 10
	firstRecordsMax  = 16 << 20
)

// firstRecords reads, in one Fetch to leader, the record at or after each
// item's offset. Items it could not settle (no whole record came back,
// or an error) have a zero result; the caller fetches them alone.
func (c *Client) firstRecords(ctx context.Context, leader int32, items []fetchItem) []TimeResult {
	out := make([]TimeResult, len(items))
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis = 0
	req.MinBytes = 0
	req.MaxBytes = int32(min(len(items)*firstRecordShare, firstRecordsMax))
	type key struct {
		topic string
		part  int32
	}
	at := map[key]int{}
	byID := map[[16]byte]string{}
	topicIdx := map[string]int{}
	for k, it := range items {
		ti, ok := topicIdx[it.p.Topic]
		if !ok {
			rt := kmsg.NewFetchRequestTopic()
			rt.Topic, rt.TopicID = it.p.Topic, it.r.topicID
			req.Topics = append(req.Topics, rt)
			ti = len(req.Topics) - 1
			topicIdx[it.p.Topic] = ti
			byID[it.r.topicID] = it.p.Topic
		}
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition = it.p.Partition
		rp.FetchOffset = it.off
		rp.PartitionMaxBytes = firstRecordShare
		rp.CurrentLeaderEpoch = it.r.epoch
		req.Topics[ti].Partitions = append(req.Topics[ti].Partitions, rp)
		at[key{it.p.Topic, it.p.Partition}] = k
	}
	kresp, err := c.kgo.Broker(int(leader)).RetriableRequest(ctx, req)
	if err != nil {
		return out
	}
	resp := kresp.(*kmsg.FetchResponse)
	if kerr.ErrorForCode(resp.ErrorCode) != nil {
		return out
	}
	for i := range resp.Topics {
		name := resp.Topics[i].Topic
		if name == "" {
			name = byID[resp.Topics[i].TopicID]
		}
		for j := range resp.Topics[i].Partitions {
			raw := &resp.Topics[i].Partitions[j]
			k, ok := at[key{name, raw.Partition}]
			if !ok {
				continue
			}
			fp, _ := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{
				Offset: items[k].off, Topic: name, Partition: raw.Partition,
			}, raw, kgo.DefaultDecompressor(), nil)
			if fp.Err == nil && len(fp.Records) > 0 {
				out[k] = TimeResult{Time: fp.Records[0].Timestamp, Offset: fp.Records[0].Offset}
			}
		}
	}
	return out
}

// logStart reads p's log start offset: the first offset retention has
// not deleted.
func (c *Client) logStart(ctx context.Context, p Partition) (int64, error) {
	listed, err := c.adm.ListStartOffsets(ctx, p.Topic)
	if err != nil {
		return 0, fmt.Errorf("reading the log start of %s: %w", p, err)
	}
	o, ok := listed.Lookup(p.Topic, p.Partition)
	if !ok {
		return 0, fmt.Errorf("reading the log start of %s: no answer for the partition", p)
	}
	if o.Err != nil {
		return 0, fmt.Errorf("reading the log start of %s: %w", p, o.Err)
	}
	return o.Offset, nil
}
