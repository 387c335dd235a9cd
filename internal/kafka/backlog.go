package kafka

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// GroupBacklog is what a consumer group has not consumed yet of each
// topic it has committed offsets for: the records between its committed
// offsets and the end offsets, and the oldest of them. What that makes
// the group's lag is internal/lag's answer (SinkLag).
type GroupBacklog struct {
	Group string
	// Err is set when the group's committed offsets could not be read
	// (its coordinator did not answer in time, say); nothing else is
	// known about the group then.
	Err    error
	Topics map[string]TopicBacklog
}

// TopicBacklog is a group's backlog on one topic, over its partitions.
type TopicBacklog struct {
	// Records is the sum over the group's committed partitions of end
	// offset minus committed offset.
	Records int64
	// Err is set when some partition's end offset could not be read;
	// Records is then a partial sum and must not be reported.
	Err error
	// Oldest is the timestamp of the oldest record the group has not yet
	// consumed (the earliest over the partitions of the record at each
	// committed offset); zero when Records is 0.
	Oldest time.Time
	// OldestKnown tells whether Oldest holds: false when some behind
	// partition's next record could not be read in time, or the reads
	// were over budget.
	OldestKnown bool
	// Retention is set when LagOptions.Retention asked for it.
	Retention *RetentionRead
}

// BacklogOptions bound what GroupBacklogs costs.
type BacklogOptions struct {
	// MaxTimeReads is how many partitions with a backlog may have their
	// next record read (one fetch each) for its oldest record; topics that do not
	// fit have OldestKnown false. 0 reads none.
	MaxTimeReads int
	// Parallel is how many of those reads run at once.
	Parallel int
	// Keep, when set, says which of a group's committed topics to report:
	// a consumer's old commits outlive its interest in a topic.
	Keep func(group, topic string) bool
	// Retention also reads the log starts and retention configuration of
	// the committed topics, alongside their end offsets.
	Retention bool
}

// GroupBacklogs reads the backlog of groups: their committed offsets from the
// group coordinators, the end offsets of the committed partitions from
// their leaders, and, within opts.MaxTimeReads, the timestamp of each
// partition with a backlog's next record. It only reads (no group is joined and
// nothing is committed). ctx's remaining time is shared out between
// those three steps, so a broker that does not answer costs each step
// only its share, and only the groups or partitions it serves are left
// unknown.
func (c *Client) GroupBacklogs(ctx context.Context, groups []string, opts BacklogOptions) map[string]GroupBacklog {
	out := make(map[string]GroupBacklog, len(groups))
	if len(groups) == 0 {
		return out
	}
	cctx, cancel := share(ctx, 1, 3)
	committed, topics := c.committedOffsets(cctx, groups, opts.Keep, out)
	cancel()
	if len(topics) == 0 {
		return out
	}
	ectx, cancel := share(ctx, 1, 2)
	var ret *retentionReads
	if opts.Retention {
		ret = c.startRetentionReads(ectx, topics)
	}
	endOf := c.endOffsets(ectx, topics)
	if ret != nil {
		ret.wait()
	}
	cancel()
	reads := timeReads{budget: opts.MaxTimeReads, positions: map[Partition]int64{}}
	for _, g := range groups {
		cm, ok := committed[g]
		if !ok {
			continue
		}
		gl := out[g]
		gl.Topics = topicBacklogs(g, cm, endOf, &reads)
		if ret != nil {
			ret.fill(gl.Topics, cm)
		}
		out[g] = gl
	}
	if len(reads.positions) == 0 {
		return out
	}
	if ret != nil {
		ret.skipDeleted(reads.positions)
	}
	// The next record of each partition with a backlog, with what time is left
	// but a margin for the caller to report.
	tctx, cancel := share(ctx, 9, 10)
	times := c.RecordTimes(tctx, reads.positions, opts.Parallel)
	cancel()
	fillOldest(out, reads.behind, times)
	return out
}

// committedOffsets reads each group's committed offsets from its
// coordinator, keeping those keep accepts. A group that cannot be read
// gets its error in out; every other group gets an empty entry there and
// its offsets in committed. topics are the committed topics, sorted.
func (c *Client) committedOffsets(ctx context.Context, groups []string, keep func(group, topic string) bool, out map[string]GroupBacklog) (committed map[string]map[Partition]int64, topics []string) {
	fetched := c.adm.FetchManyOffsets(ctx, groups...)
	committed = map[string]map[Partition]int64{}
	topicSet := map[string]bool{}
	for _, g := range groups {
		r, ok := fetched[g]
		switch {
		case !ok:
			out[g] = GroupBacklog{Group: g, Err: fmt.Errorf("committed offsets of group %s: no answer", g)}
			continue
		case r.Err != nil:
			out[g] = GroupBacklog{Group: g, Err: fmt.Errorf("committed offsets of group %s: %w", g, r.Err)}
			continue
		}
		cm := map[Partition]int64{}
		var perr []error
		r.Fetched.Each(func(o kadm.OffsetResponse) {
			if o.Err != nil {
				perr = append(perr, fmt.Errorf("%s[%d]: %w", o.Topic, o.Partition, o.Err))
				return
			}
			if o.At < 0 {
				return // no commit: the consumer has not started on it
			}
			if keep != nil && !keep(g, o.Topic) {
				return
			}
			cm[Partition{o.Topic, o.Partition}] = o.At
			topicSet[o.Topic] = true
		})
		if len(perr) > 0 {
			out[g] = GroupBacklog{Group: g, Err: fmt.Errorf("committed offsets of group %s: %w", g, errors.Join(perr...))}
			continue
		}
		committed[g] = cm
		out[g] = GroupBacklog{Group: g, Topics: map[string]TopicBacklog{}}
	}
	for t := range topicSet {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	return committed, topics
}

// endOffsets lists the end offsets of topics from their leaders and
// returns a partition's end offset; errTopicGone when the topic was
// deleted (there is nothing left to consume).
func (c *Client) endOffsets(ctx context.Context, topics []string) func(Partition) (int64, error) {
	ends, listErr := c.PartitionEnds(ctx, topics...)
	return offsetOf("end", ends, listErr)
}

// groupPartition is one partition of one group with a backlog.
type groupPartition struct {
	group string
	p     Partition
}

// timeReads collects the partitions whose next record is read for the
// oldest unconsumed record, within a budget of reads.
type timeReads struct {
	budget    int
	positions map[Partition]int64
	behind    []groupPartition
}

// add plans the reads of a topic's partitions with a backlog; false when they do
// not all fit in the budget, and then none is read.
func (r *timeReads) add(group string, behind []Partition, committed map[Partition]int64) bool {
	if len(r.positions)+len(behind) > r.budget {
		return false
	}
	for _, p := range behind {
		r.positions[p] = committed[p]
		r.behind = append(r.behind, groupPartition{group, p})
	}
	return true
}

// topicBacklogs sums one group's records behind per topic from its
// committed offsets cm, and plans the reads of the next records of its
// partitions with a backlog. Deleted topics are left out.
func topicBacklogs(group string, cm map[Partition]int64, endOf func(Partition) (int64, error), reads *timeReads) map[string]TopicBacklog {
	byTopic := map[string][]Partition{}
	for p := range cm {
		byTopic[p.Topic] = append(byTopic[p.Topic], p)
	}
	names := make([]string, 0, len(byTopic))
	for t := range byTopic {
		names = append(names, t)
	}
	sort.Strings(names)
	out := map[string]TopicBacklog{}
	for _, t := range names {
		tl, behind, gone := topicBacklog(byTopic[t], cm, endOf)
		if gone {
			continue
		}
		if tl.Err != nil {
			tl.OldestKnown = false
		} else if len(behind) > 0 && !reads.add(group, behind, cm) {
			tl.OldestKnown = false
		}
		out[t] = tl
	}
	return out
}

// topicBacklog sums the records behind over one topic's partitions and names
// those behind; gone when the topic was deleted.
func topicBacklog(partitions []Partition, cm map[Partition]int64, endOf func(Partition) (int64, error)) (tl TopicBacklog, behind []Partition, gone bool) {
	tl.OldestKnown = true
	for _, p := range partitions {
		end, err := endOf(p)
		if errors.Is(err, errTopicGone) {
			return tl, nil, true
		}
		if err != nil {
			tl.Err = err
			continue
		}
		if d := end - cm[p]; d > 0 {
			tl.Records += d
			behind = append(behind, p)
		}
	}
	return tl, behind, false
}

// fillOldest sets each topic's oldest unconsumed record time from the
// records read, and clears it where it is not known.
func fillOldest(out map[string]GroupBacklog, behind []groupPartition, times map[Partition]TimeResult) {
	for _, k := range behind {
		gl := out[k.group]
		tl := gl.Topics[k.p.Topic]
		tr := times[k.p]
		switch {
		case tr.Err != nil:
			tl.OldestKnown = false
		case tl.Oldest.IsZero() || tr.Time.Before(tl.Oldest):
			tl.Oldest = tr.Time
		}
		gl.Topics[k.p.Topic] = tl
	}
	for _, gl := range out {
		for t, tl := range gl.Topics {
			if !tl.OldestKnown {
				tl.Oldest = time.Time{}
				gl.Topics[t] = tl
			}
		}
	}
}

var errTopicGone = errors.New("topic deleted")

// share gives a step num/den of ctx's remaining time, so that a broker
// that hangs holds up this step only, and the steps after it still run.
func share(ctx context.Context, num, den int) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, time.Now().Add(time.Until(dl)*time.Duration(num)/time.Duration(den)))
}
