package kafka

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// GroupLag is how far a consumer group is behind the end of each topic
// it has committed offsets for.
type GroupLag struct {
	Group string
	// Err is set when the group's committed offsets could not be read
	// (its coordinator did not answer in time, say); nothing else is
	// known about the group then.
	Err    error
	Topics map[string]TopicLag
}

// TopicLag is a group's lag on one topic, over its partitions.
type TopicLag struct {
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
	// OldestKnown tells whether Oldest holds: false when some lagging
	// partition's next record could not be read in time, or the reads
	// were over budget.
	OldestKnown bool
}

// LagOptions bound what GroupLags costs.
type LagOptions struct {
	// MaxTimeReads is how many lagging partitions may have their next
	// record read (one fetch each) for the time lag; topics that do not
	// fit have OldestKnown false. 0 reads none.
	MaxTimeReads int
	// Parallel is how many of those reads run at once.
	Parallel int
	// Keep, when set, says which of a group's committed topics to report:
	// a consumer's old commits outlive its interest in a topic.
	Keep func(group, topic string) bool
}

// GroupLags reads the lag of groups: their committed offsets from the
// group coordinators, the end offsets of the committed partitions from
// their leaders, and, within opts.MaxTimeReads, the timestamp of each
// lagging partition's next record. It only reads (no group is joined and
// nothing is committed). ctx's remaining time is shared out between
// those three steps, so a broker that does not answer costs each step
// only its share, and only the groups or partitions it serves are left
// unknown.
func (c *Client) GroupLags(ctx context.Context, groups []string, opts LagOptions) map[string]GroupLag {
	out := make(map[string]GroupLag, len(groups))
	if len(groups) == 0 {
		return out
	}

	// Committed offsets, per group from its coordinator.
	cctx, cancel := share(ctx, 1, 3)
	fetched := c.adm.FetchManyOffsets(cctx, groups...)
	cancel()
	committed := map[string]map[Partition]int64{}
	topicSet := map[string]bool{}
	for _, g := range groups {
		r, ok := fetched[g]
		switch {
		case !ok:
			out[g] = GroupLag{Group: g, Err: fmt.Errorf("committed offsets of group %s: no answer", g)}
			continue
		case r.Err != nil:
			out[g] = GroupLag{Group: g, Err: fmt.Errorf("committed offsets of group %s: %w", g, r.Err)}
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
			if opts.Keep != nil && !opts.Keep(g, o.Topic) {
				return
			}
			cm[Partition{o.Topic, o.Partition}] = o.At
			topicSet[o.Topic] = true
		})
		if len(perr) > 0 {
			out[g] = GroupLag{Group: g, Err: fmt.Errorf("committed offsets of group %s: %w", g, errors.Join(perr...))}
			continue
		}
		committed[g] = cm
		out[g] = GroupLag{Group: g, Topics: map[string]TopicLag{}}
	}
	if len(topicSet) == 0 {
		return out
	}

	// End offsets of the committed partitions, per leader.
	topics := make([]string, 0, len(topicSet))
	for t := range topicSet {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	ectx, cancel := share(ctx, 1, 2)
	ends, listErr := c.PartitionEnds(ectx, topics...)
	cancel()
	// endOf is a partition's end offset; errTopicGone when the topic was
	// deleted (there is nothing left to lag behind).
	endOf := func(p Partition) (int64, error) {
		if listErr != nil {
			return 0, listErr
		}
		tp := ends[p.Topic]
		if !tp.Exists {
			return 0, errTopicGone
		}
		if end, ok := tp.Ends[p.Partition]; ok {
			return end, nil
		}
		if tp.Err != nil {
			return 0, tp.Err
		}
		return 0, fmt.Errorf("end offset of %s: not listed", p)
	}

	// Which partitions are behind, and the reads for their next record.
	type key struct {
		group string
		p     Partition
	}
	positions := map[Partition]int64{}
	var lagging []key
	for _, g := range groups {
		cm, ok := committed[g]
		if !ok {
			continue
		}
		gl := out[g]
		byTopic := map[string][]Partition{}
		for p := range cm {
			byTopic[p.Topic] = append(byTopic[p.Topic], p)
		}
		names := make([]string, 0, len(byTopic))
		for t := range byTopic {
			names = append(names, t)
		}
		sort.Strings(names)
		for _, t := range names {
			tl := TopicLag{OldestKnown: true}
			var behind []Partition
			gone := false
			for _, p := range byTopic[t] {
				end, err := endOf(p)
				if errors.Is(err, errTopicGone) {
					gone = true
					break
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
			if gone {
				continue
			}
			if tl.Err != nil {
				tl.OldestKnown = false
			} else if len(behind) > 0 {
				if len(positions)+len(behind) > opts.MaxTimeReads {
					tl.OldestKnown = false
				} else {
					for _, p := range behind {
						positions[p] = cm[p]
						lagging = append(lagging, key{g, p})
					}
				}
			}
			gl.Topics[t] = tl
		}
		out[g] = gl
	}
	if len(positions) == 0 {
		return out
	}

	// The next record of each lagging partition, with what time is left
	// but a margin for the caller to report.
	tctx, cancel := share(ctx, 9, 10)
	times := c.RecordTimes(tctx, positions, opts.Parallel)
	cancel()
	for _, k := range lagging {
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
	return out
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
