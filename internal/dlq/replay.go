package dlq

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
)

// MarkerHeader is added to every record a replay sends, naming the DLQ
// record it came from ("<dlq topic>/<partition>/<offset>"), and
// MarkerTopicIDHeader the DLQ topic's id: after a crash, finding both in
// the original topic proves that record was sent. Records replayed
// before topic ids carry no id; their marker alone counts.
const (
	MarkerHeader        = "cdc-sentinel.replay.of"
	MarkerTopicIDHeader = "cdc-sentinel.replay.of.topic-id"
)

// Producer sends records to the partitions they name. acked[i] tells
// whether recs[i] was acknowledged, also when it fails; a record not
// acknowledged may still have been written.
type Producer interface {
	Produce(ctx context.Context, recs ...*kgo.Record) (acked []bool, err error)
}

// Reader reads a DLQ topic and the original topics without a consumer
// group, and knows a topic's id.
type Reader interface {
	PartitionEnds(ctx context.Context, topics ...string) (map[string]kafka.TopicPartitions, error)
	ReadRecords(ctx context.Context, p kafka.Partition, from int64, max int) (kafka.ReadResult, error)
	TopicID(ctx context.Context, topic string) (id kafka.TopicID, exists bool, err error)
}

// ReplayOptions say what to replay and how.
type ReplayOptions struct {
	// FromOffset skips the DLQ records below it (in every partition);
	// 0 starts at the beginning of what the topic still holds.
	FromOffset int64
	// Max bounds how many records are sent; 0 sends all.
	Max int
	// DryRun reports what would be sent and changes nothing.
	DryRun bool
	// CheckSuperseded leaves out a record whose key has a newer record
	// in its original partition: replaying it would overwrite a newer
	// change at the target with an older one. A record without a key
	// (null) is never superseded: it names no row.
	CheckSuperseded bool
	// ScanMax bounds how many records of one original partition the
	// superseded check and crash recovery read; beyond it the replay
	// refuses rather than guess.
	ScanMax int64
	// BatchSize is how many records are written down and sent at a time.
	BatchSize int
	// Progress, when set, is called as the replay advances.
	Progress func(Progress)
}

// Progress is how far a replay has got.
type Progress struct {
	Phase       string // read, check, replay, recover
	Done, Total int
}

// ReplayReport says what a replay did, or would do (DryRun).
type ReplayReport struct {
	Connector string `json:"connector"`
	Topic     string `json:"dlq_topic"`
	// TopicID is the DLQ topic's id: the ledger knows the topic by it,
	// so one deleted and created again starts afresh.
	TopicID string `json:"dlq_topic_id"`
	DryRun  bool   `json:"dry_run"`
	// Replayed counts the records sent (or to send), by original topic.
	Replayed int            `json:"replayed"`
	ByTopic  map[string]int `json:"by_topic"`
	// Recovered counts the records of a batch a crash interrupted that
	// this run found already sent (Resent: that it sent).
	Recovered int `json:"recovered"`
	Resent    int `json:"resent"`
	// PendingInterrupted is set on a dry run when an interrupted batch
	// waits to be finished.
	PendingInterrupted int `json:"pending_interrupted,omitempty"`
	// AlreadyReplayed were sent by an earlier replay and are left out.
	AlreadyReplayed int `json:"already_replayed"`
	// Superseded have a newer record with the same key in their
	// original partition and are left out.
	Superseded []Ref `json:"superseded"`
	// NoContext lack the headers naming their original topic, partition
	// and connector (errors.deadletterqueue.context.headers.enable=false).
	NoContext int `json:"no_context"`
	// OtherConnector were dead-lettered by another connector sharing the
	// DLQ topic (its __connect.errors.connector.name header): that
	// connector's replay sends them.
	OtherConnector int `json:"other_connector"`
	// Legacy counts the records a ledger entry written before topic ids
	// marks as replayed; they are taken to be this topic's.
	Legacy int64 `json:"legacy_replayed,omitempty"`
	// Orphaned counts the records of a batch cut short on an earlier DLQ
	// topic of this name, deleted since: each was sent once or not at
	// all, and which can no longer be found out.
	Orphaned int `json:"orphaned_pending,omitempty"`
	// NotReplayable name an original topic or partition that no longer
	// exists: they cannot go back. This run found them, recorded them in
	// the ledger (unless DryRun) and went on with the later records;
	// the run fails with ErrNotReplayable.
	NotReplayable []NotReplayable `json:"not_replayable"`
	// NotReplayableEarlier were found not replayable by an earlier run
	// and are left out.
	NotReplayableEarlier int `json:"not_replayable_earlier"`
	// More is true when Max stopped the replay before the topic's end.
	More bool `json:"more"`
}

// ErrNotReplayable says a run met records that cannot go back (see
// ReplayReport.NotReplayable): everything else was replayed.
var ErrNotReplayable = errors.New("records not replayable")

// Replayer re-sends one connector's dead-lettered records to their
// original topics.
type Replayer struct {
	src    Source
	reader Reader
	prod   Producer
	ledger *Ledger
	opts   ReplayOptions
}

// NewReplayer replays src's records, reading with r, sending with p and
// remembering with l.
func NewReplayer(src Source, r Reader, p Producer, l *Ledger, opts ReplayOptions) *Replayer {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 100
	}
	if opts.ScanMax <= 0 {
		opts.ScanMax = 1_000_000
	}
	return &Replayer{src: src, reader: r, prod: p, ledger: l, opts: opts}
}

type candidate struct {
	ref Ref
	rec Record
}

func (c candidate) marker() string {
	return fmt.Sprintf("%s/%d/%d", c.rec.Topic, c.ref.Partition, c.ref.Offset)
}

// topicID reads the DLQ topic's id.
func (r *Replayer) topicID(ctx context.Context) (kafka.TopicID, error) {
	id, exists, err := r.reader.TopicID(ctx, r.src.Topic)
	if err != nil {
		return id, err
	}
	if !exists {
		return id, fmt.Errorf("DLQ topic %s of connector %s does not exist (Connect creates it with the first dead-lettered record)", r.src.Topic, r.src.Connector)
	}
	return id, nil
}

// Run replays. It first finishes a batch a crash interrupted, then sends
// the connector's records no earlier replay sent, in DLQ order per
// partition, each batch written down before it is sent and recorded once
// acknowledged.
func (r *Replayer) Run(ctx context.Context) (*ReplayReport, error) {
	rep := &ReplayReport{Connector: r.src.Connector, Topic: r.src.Topic, DryRun: r.opts.DryRun, ByTopic: map[string]int{}, Superseded: []Ref{}, NotReplayable: []NotReplayable{}}
	id, err := r.topicID(ctx)
	if err != nil {
		return rep, err
	}
	r.src.TopicID = id
	rep.TopicID = id.String()
	st, err := r.ledger.Load(r.src)
	if err != nil {
		return rep, err
	}
	rep.Legacy, rep.Orphaned = st.Legacy, st.Orphaned
	decided, err := r.finishPending(ctx, st, rep)
	if err != nil {
		return rep, err
	}
	cands, err := r.candidates(ctx, st, decided, rep)
	if err != nil {
		return rep, err
	}
	// The records were read by name: they are this topic's only if its
	// id is the same after reading them as before.
	if after, err := r.topicID(ctx); err != nil {
		return rep, err
	} else if after != id {
		return rep, fmt.Errorf("DLQ topic %s was deleted and created again while it was read (id %s, now %s): nothing was sent; run again", r.src.Topic, id, after)
	}
	if cands, err = r.dropNotReplayable(ctx, cands, rep); err != nil {
		return rep, err
	}
	if r.opts.CheckSuperseded {
		if cands, err = r.dropSuperseded(ctx, cands, rep); err != nil {
			return rep, err
		}
	}
	// Max counts what is sent: a superseded record, never sent, must not
	// hold a place (it would come first again on every run).
	if r.opts.Max > 0 && len(cands) > r.opts.Max {
		cands, rep.More = cands[:r.opts.Max], true
	}
	if r.opts.DryRun {
		for _, c := range cands {
			rep.Replayed++
			rep.ByTopic[c.rec.OriginalTopic]++
		}
		return rep, rep.notReplayableErr()
	}
	if err := r.sendAll(ctx, cands, rep); err != nil {
		return rep, err
	}
	return rep, rep.notReplayableErr()
}

// finishPending finishes a batch a crash interrupted (a dry run only
// counts it) and marks its records as replayed in st. It returns the
// records it found cannot go back: already reported, they are left out
// of this run's reading without being counted again.
func (r *Replayer) finishPending(ctx context.Context, st *State, rep *ReplayReport) (map[Ref]bool, error) {
	decided := map[Ref]bool{}
	if st.Pending == nil {
		return decided, nil
	}
	if r.opts.DryRun {
		rep.PendingInterrupted = len(st.Pending.Refs)
	} else if err := r.recover(ctx, st.Pending, rep); err != nil {
		return nil, fmt.Errorf("finishing the interrupted replay batch: %w", err)
	}
	for _, n := range rep.NotReplayable {
		decided[n.Ref] = true
	}
	for _, ref := range st.Pending.Refs {
		if !decided[ref] {
			st.Replayed[ref.Partition] = st.Replayed[ref.Partition].Add(ref.Offset)
		}
	}
	return decided, nil
}

// sendAll sends cands in batches, counting what was acknowledged.
func (r *Replayer) sendAll(ctx context.Context, cands []candidate, rep *ReplayReport) error {
	for start := 0; start < len(cands); start += r.opts.BatchSize {
		batch := cands[start:min(start+r.opts.BatchSize, len(cands))]
		acked, err := r.send(ctx, batch)
		for i, c := range batch {
			if acked[i] {
				rep.Replayed++
				rep.ByTopic[c.rec.OriginalTopic]++
			}
		}
		if err != nil {
			return err
		}
		r.progress("replay", rep.Replayed, len(cands))
	}
	return nil
}

// notReplayableErr fails a run that met records that cannot go back, so
// its exit status says so; nil when it met none.
func (rep *ReplayReport) notReplayableErr() error {
	n := len(rep.NotReplayable)
	if n == 0 {
		return nil
	}
	verb := "could not be replayed and are recorded as not replayable"
	if rep.DryRun {
		verb = "cannot be replayed"
	}
	return fmt.Errorf("%d records %s: their original topic or partition no longer exists (listed in the report): %w", n, verb, ErrNotReplayable)
}

// dropNotReplayable leaves out the candidates whose original topic or
// partition no longer exists, reports them and, unless DryRun, records
// them in the ledger so later runs go past them. A partition whose end
// could not be read is an error, not a finding: it may well exist.
func (r *Replayer) dropNotReplayable(ctx context.Context, cands []candidate, rep *ReplayReport) ([]candidate, error) {
	names := originalTopics(cands)
	if len(names) == 0 {
		return cands, nil
	}
	ends, err := r.reader.PartitionEnds(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("reading the original topics' partitions: %w", err)
	}
	var gone []NotReplayable
	kept := cands[:0:0]
	for _, c := range cands {
		tp := ends[c.rec.OriginalTopic]
		_, ok := tp.Ends[c.rec.OriginalPartition]
		var reason string
		switch {
		case !tp.Exists:
			reason = fmt.Sprintf("topic %s does not exist", c.rec.OriginalTopic)
		case !ok && tp.Err != nil:
			return nil, fmt.Errorf("original partition %s[%d] of DLQ record %d@%d: no end offset: %w", c.rec.OriginalTopic, c.rec.OriginalPartition, c.ref.Partition, c.ref.Offset, tp.Err)
		case !ok:
			reason = fmt.Sprintf("partition %s[%d] does not exist (the topic has %d partitions)", c.rec.OriginalTopic, c.rec.OriginalPartition, len(tp.Ends))
		default:
			kept = append(kept, c)
			continue
		}
		gone = append(gone, NotReplayable{Ref: c.ref, OriginalTopic: c.rec.OriginalTopic, OriginalPartition: c.rec.OriginalPartition, OriginalOffset: c.rec.OriginalOffset, Reason: reason})
	}
	if len(gone) == 0 {
		return cands, nil
	}
	if !r.opts.DryRun {
		if err := r.ledger.MarkNotReplayable(r.src, gone); err != nil {
			return nil, err
		}
	}
	rep.NotReplayable = append(rep.NotReplayable, gone...)
	return kept, nil
}

func (r *Replayer) progress(phase string, done, total int) {
	if r.opts.Progress != nil {
		r.opts.Progress(Progress{Phase: phase, Done: done, Total: total})
	}
}

// candidates reads the DLQ and keeps the records that can and should be
// sent: not sent before, with a known origin.
func (r *Replayer) candidates(ctx context.Context, st *State, decided map[Ref]bool, rep *ReplayReport) ([]candidate, error) {
	ends, err := r.reader.PartitionEnds(ctx, r.src.Topic)
	if err != nil {
		return nil, err
	}
	tp := ends[r.src.Topic]
	if !tp.Exists {
		return nil, fmt.Errorf("DLQ topic %s of connector %s does not exist (Connect creates it with the first dead-lettered record)", r.src.Topic, r.src.Connector)
	}
	if tp.Err != nil {
		return nil, tp.Err
	}
	var total int64
	for _, end := range tp.Ends {
		total += max(end-r.opts.FromOffset, 0)
	}
	var out []candidate
	read := 0
	for _, p := range sortedPartitions(tp.Ends) {
		end := tp.Ends[p]
		next := r.opts.FromOffset
		for next < end {
			res, err := r.reader.ReadRecords(ctx, kafka.Partition{Topic: r.src.Topic, Partition: p}, next, 500)
			if err != nil {
				return nil, err
			}
			for _, kr := range res.Records {
				if kr.Offset >= end {
					break
				}
				if !r.opts.CheckSuperseded && r.opts.Max > 0 && len(out) > r.opts.Max {
					// Without the check every candidate is sent: one past
					// Max is enough to know more remain.
					rep.More = true
					return out, nil
				}
				read++
				if c, ok := r.candidate(st, decided, rep, p, kr); ok {
					out = append(out, c)
				}
			}
			r.progress("read", read, int(total))
			if res.Next <= next {
				break
			}
			next = res.Next
		}
	}
	return out, nil
}

// candidate tells whether DLQ record kr of partition p is to be sent,
// counting in rep why not.
func (r *Replayer) candidate(st *State, decided map[Ref]bool, rep *ReplayReport, p int32, kr *kgo.Record) (candidate, bool) {
	ref := Ref{p, kr.Offset}
	rec := Parse(kr)
	switch {
	case decided[ref]:
		// Finishing the interrupted batch reported it already.
	case st.Replayed[p].Contains(kr.Offset):
		rep.AlreadyReplayed++
	case rec.OriginalTopic == "" || rec.OriginalPartition < 0 || rec.Connector == "":
		rep.NoContext++
	case rec.Connector != r.src.Connector:
		rep.OtherConnector++
	case st.NotReplayable[p].Contains(kr.Offset):
		rep.NotReplayableEarlier++
	default:
		return candidate{ref, rec}, true
	}
	return candidate{}, false
}

// origin is a candidate's original partition.
type origin struct {
	topic string
	part  int32
}

// dropSuperseded leaves out the candidates whose key has a newer record
// in the original partition. It reads each original partition from the
// oldest candidate's offset to its end, within ScanMax.
func (r *Replayer) dropSuperseded(ctx context.Context, cands []candidate, rep *ReplayReport) ([]candidate, error) {
	oldest := map[origin]int64{}
	keys := map[origin]map[string]bool{}
	for _, c := range cands {
		o := origin{c.rec.OriginalTopic, c.rec.OriginalPartition}
		if cur, ok := oldest[o]; !ok || c.rec.OriginalOffset < cur {
			oldest[o] = c.rec.OriginalOffset
		}
		if keys[o] == nil {
			keys[o] = map[string]bool{}
		}
		if c.rec.Key != nil {
			keys[o][string(c.rec.Key)] = true
		}
	}
	origins := make([]origin, 0, len(oldest))
	for o := range oldest {
		origins = append(origins, o)
	}
	sort.Slice(origins, func(i, j int) bool {
		if origins[i].topic != origins[j].topic {
			return origins[i].topic < origins[j].topic
		}
		return origins[i].part < origins[j].part
	})
	newest := map[origin]map[string]int64{}
	for i, o := range origins {
		last := map[string]int64{}
		err := r.readToEnd(ctx, kafka.Partition{Topic: o.topic, Partition: o.part}, oldest[o]+1, func(kr *kgo.Record) {
			if kr.Key != nil && keys[o][string(kr.Key)] {
				last[string(kr.Key)] = kr.Offset
			}
		})
		switch {
		case errors.Is(err, errScanMax):
			return nil, fmt.Errorf("checking for newer records in %s[%d] means reading more than %d records from offset %d: "+
				"replay fewer records (--from-offset, --max), raise --scan-max, or skip the check with --no-superseded-check "+
				"(an older change may then overwrite a newer one at the target)", o.topic, o.part, r.opts.ScanMax, oldest[o])
		case err != nil:
			return nil, fmt.Errorf("checking for newer records in %s[%d]: %w", o.topic, o.part, err)
		}
		newest[o] = last
		r.progress("check", i+1, len(origins))
	}
	kept := cands[:0:0]
	for _, c := range cands {
		o := origin{c.rec.OriginalTopic, c.rec.OriginalPartition}
		if n, ok := newest[o][string(c.rec.Key)]; ok && c.rec.Key != nil && n > c.rec.OriginalOffset {
			rep.Superseded = append(rep.Superseded, c.ref)
			continue
		}
		kept = append(kept, c)
	}
	// A newer candidate of the same key supersedes an older one too: its
	// original record was found by the scan above.
	return kept, nil
}

// errScanMax is readToEnd's answer when the partition holds more than
// ScanMax records past the offset; each caller says what to do instead.
var errScanMax = errors.New("more than --scan-max records to read")

// readToEnd hands each record of p from offset next to its end to each,
// reading at most ScanMax records.
func (r *Replayer) readToEnd(ctx context.Context, p kafka.Partition, next int64, each func(*kgo.Record)) error {
	var scanned int64
	for {
		res, err := r.reader.ReadRecords(ctx, p, next, 1000)
		if err != nil {
			return err
		}
		for _, kr := range res.Records {
			each(kr)
		}
		scanned += int64(len(res.Records))
		if scanned > r.opts.ScanMax {
			return errScanMax
		}
		if len(res.Records) == 0 || res.Next <= next || (res.End >= 0 && res.Next >= res.End) {
			return nil
		}
		next = res.Next
	}
}

// replayRecord is what is sent for a DLQ record: its key, value and own
// headers, to its original partition, marked with where it came from.
// The timestamp is left to the producer (now): the original one could be
// old enough for the topic's retention to delete the record at once.
func (r *Replayer) replayRecord(c candidate) *kgo.Record {
	headers := slices.Clone(c.rec.Headers)
	headers = slices.DeleteFunc(headers, func(h kgo.RecordHeader) bool {
		return h.Key == MarkerHeader || h.Key == MarkerTopicIDHeader
	})
	headers = append(headers,
		kgo.RecordHeader{Key: MarkerHeader, Value: []byte(c.marker())},
		kgo.RecordHeader{Key: MarkerTopicIDHeader, Value: []byte(r.src.TopicID.String())})
	return &kgo.Record{
		Topic: c.rec.OriginalTopic, Partition: c.rec.OriginalPartition,
		Key: c.rec.Key, Value: c.rec.Value, Headers: headers,
	}
}

// send writes the batch down with the end offsets of its target
// partitions, sends it, and records what was acknowledged as replayed;
// acked[i] says whether batch[i] was.
func (r *Replayer) send(ctx context.Context, batch []candidate) (acked []bool, err error) {
	acked = make([]bool, len(batch))
	ends, err := r.reader.PartitionEnds(ctx, originalTopics(batch)...)
	if err != nil {
		return acked, err
	}
	p := &Pending{Targets: map[string]map[int32]int64{}, At: time.Now().UTC()}
	for _, c := range batch {
		tp := ends[c.rec.OriginalTopic]
		if !tp.Exists {
			return acked, fmt.Errorf("original topic %s of DLQ record %d@%d does not exist", c.rec.OriginalTopic, c.ref.Partition, c.ref.Offset)
		}
		end, ok := tp.Ends[c.rec.OriginalPartition]
		switch {
		case !ok && tp.Err != nil:
			return acked, fmt.Errorf("original partition %s[%d] of DLQ record %d@%d: no end offset: %w", c.rec.OriginalTopic, c.rec.OriginalPartition, c.ref.Partition, c.ref.Offset, tp.Err)
		case !ok:
			return acked, fmt.Errorf("original partition %s[%d] of DLQ record %d@%d does not exist (the topic has %d partitions)", c.rec.OriginalTopic, c.rec.OriginalPartition, c.ref.Partition, c.ref.Offset, len(tp.Ends))
		}
		if p.Targets[c.rec.OriginalTopic] == nil {
			p.Targets[c.rec.OriginalTopic] = map[int32]int64{}
		}
		p.Targets[c.rec.OriginalTopic][c.rec.OriginalPartition] = end
		p.Refs = append(p.Refs, c.ref)
	}
	if err := r.ledger.Begin(r.src, p); err != nil {
		return acked, err
	}
	recs := make([]*kgo.Record, len(batch))
	for i, c := range batch {
		recs[i] = r.replayRecord(c)
	}
	acked, sendErr := r.prod.Produce(ctx, recs...)
	done, rest := splitAcked(p.Refs, acked)
	if err := r.ledger.Settle(r.src, done, rest, "replayed by "+r.src.Connector); err != nil {
		return acked, errors.Join(sendErr, err)
	}
	if sendErr != nil {
		// What was not acknowledged stays pending: the next run finds
		// out which of it arrived and sends only the rest.
		return acked, fmt.Errorf("sending %d records, %d acknowledged and recorded (the next replay finishes the other %d): %w",
			len(recs), len(done), len(rest), sendErr)
	}
	return acked, nil
}

// originalTopics are the topics cands go back to, sorted.
func originalTopics(cands []candidate) []string {
	topics := map[string]bool{}
	for _, c := range cands {
		topics[c.rec.OriginalTopic] = true
	}
	names := make([]string, 0, len(topics))
	for t := range topics {
		names = append(names, t)
	}
	sort.Strings(names)
	return names
}

// splitAcked parts refs into those acknowledged and the rest.
func splitAcked(refs []Ref, acked []bool) (done, rest []Ref) {
	for i, ref := range refs {
		if i < len(acked) && acked[i] {
			done = append(done, ref)
		} else {
			rest = append(rest, ref)
		}
	}
	return done, rest
}

// recover finishes a batch a crash interrupted: the records whose marker
// is found past the end offsets written down were sent; the others are
// read from the DLQ again and sent now. A record whose original topic or
// partition is gone since can neither be looked for nor sent: it is
// reported and recorded as not replayable.
func (r *Replayer) recover(ctx context.Context, p *Pending, rep *ReplayReport) error {
	cands := make([]candidate, 0, len(p.Refs))
	for _, ref := range p.Refs {
		res, err := r.reader.ReadRecords(ctx, kafka.Partition{Topic: r.src.Topic, Partition: ref.Partition}, ref.Offset, 1)
		if err != nil {
			return err
		}
		if len(res.Records) == 0 || res.Records[0].Offset != ref.Offset {
			return fmt.Errorf("DLQ record %d@%d of the interrupted batch is gone (retention?): cannot tell whether to send it", ref.Partition, ref.Offset)
		}
		cands = append(cands, candidate{ref, Parse(res.Records[0])})
	}
	cands, err := r.dropNotReplayable(ctx, cands, rep)
	if err != nil {
		return err
	}
	targets := map[origin]int64{}
	for _, c := range cands {
		o := origin{c.rec.OriginalTopic, c.rec.OriginalPartition}
		// Begin wrote down every target's end; without it, look from the start.
		targets[o] = p.Targets[o.topic][o.part]
	}
	found := map[string]bool{}
	done := 0
	for o, from := range targets {
		err := r.readToEnd(ctx, kafka.Partition{Topic: o.topic, Partition: o.part}, from, func(kr *kgo.Record) {
			if m, ok := r.markerOf(kr); ok {
				found[m] = true
			}
		})
		switch {
		case errors.Is(err, errScanMax):
			return fmt.Errorf("looking for replayed records in %s[%d] means reading more than %d records from offset %d; raise --scan-max", o.topic, o.part, r.opts.ScanMax, from)
		case err != nil:
			return fmt.Errorf("looking for replayed records in %s[%d]: %w", o.topic, o.part, err)
		}
		done++
		r.progress("recover", done, len(p.Refs))
	}
	var (
		missing     []*kgo.Record
		missingRefs []Ref
		recovered   []Ref
	)
	for _, c := range cands {
		if found[c.marker()] {
			rep.Recovered++
			recovered = append(recovered, c.ref)
			continue
		}
		missing = append(missing, r.replayRecord(c))
		missingRefs = append(missingRefs, c.ref)
	}
	var sendErr error
	settled, rest := recovered, []Ref(nil)
	if len(missing) > 0 {
		var acked []bool
		acked, sendErr = r.prod.Produce(ctx, missing...)
		sent, unsent := splitAcked(missingRefs, acked)
		settled, rest = append(settled, sent...), unsent
		rep.Resent = len(sent)
		for i, m := range missing {
			if acked[i] {
				rep.ByTopic[m.Topic]++
			}
		}
	}
	note := "recovered " + strconv.Itoa(rep.Recovered) + ", resent " + strconv.Itoa(rep.Resent) + " by " + r.src.Connector
	if err := r.ledger.Settle(r.src, settled, rest, note); err != nil {
		return errors.Join(sendErr, err)
	}
	if sendErr != nil {
		return fmt.Errorf("sending %d records, %d acknowledged and recorded: %w", len(missing), rep.Resent, sendErr)
	}
	return nil
}

// markerOf is the marker of a record a replay of this topic sent: one
// carrying another topic id was sent for an earlier topic of the same
// name, and does not count.
func (r *Replayer) markerOf(kr *kgo.Record) (string, bool) {
	marker, id := Marker(kr)
	if marker == "" || (id != "" && id != r.src.TopicID.String()) {
		return "", false
	}
	return marker, true
}

// Marker reads the replay markers of a record: the DLQ record it is a
// replay of and that DLQ topic's id; empty when it is not a replay, or
// (the id) when a version before topic ids sent it.
func Marker(kr *kgo.Record) (marker, topicID string) {
	for _, h := range kr.Headers {
		switch h.Key {
		case MarkerHeader:
			marker = string(h.Value)
		case MarkerTopicIDHeader:
			topicID = string(h.Value)
		}
	}
	return marker, topicID
}

// WriteText prints the report for a person.
func (rep *ReplayReport) WriteText(w io.Writer) {
	verb := "replayed"
	if rep.DryRun {
		verb = "would replay"
	}
	fmt.Fprintf(w, "connector %s, DLQ topic %s: %s %d records", rep.Connector, rep.Topic, verb, rep.Replayed)
	if len(rep.ByTopic) > 0 {
		var parts []string
		for _, t := range sortedKeys(rep.ByTopic) {
			parts = append(parts, fmt.Sprintf("%s: %d", t, rep.ByTopic[t]))
		}
		fmt.Fprintf(w, " (%s)", strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
	if rep.Recovered+rep.Resent > 0 {
		fmt.Fprintf(w, "finished an interrupted batch: %d were already sent, %d sent now\n", rep.Recovered, rep.Resent)
	}
	if rep.PendingInterrupted > 0 {
		fmt.Fprintf(w, "an interrupted batch of %d records waits: a replay without --dry-run finishes it first\n", rep.PendingInterrupted)
	}
	fmt.Fprintf(w, "left out: %d already replayed, %d superseded by a newer record of the same key, %d without context headers, %d of other connectors sharing the topic",
		rep.AlreadyReplayed, len(rep.Superseded), rep.NoContext, rep.OtherConnector)
	if rep.NotReplayableEarlier > 0 {
		fmt.Fprintf(w, ", %d found not replayable by an earlier run", rep.NotReplayableEarlier)
	}
	fmt.Fprintln(w)
	rep.writeNotReplayable(w)
	if rep.NoContext > 0 {
		fmt.Fprintln(w, "records without context headers cannot be replayed: their original topic and connector are unknown (errors.deadletterqueue.context.headers.enable=true records them)")
	}
	if rep.Orphaned > 0 {
		fmt.Fprintf(w, "a batch of %d records was cut short on an earlier topic named %s, deleted since: each was sent at most once, and whether it was can no longer be told from the DLQ\n",
			rep.Orphaned, rep.Topic)
	}
	if rep.Legacy > 0 {
		fmt.Fprintf(w, "the ledger's entry from before topic ids marks %d records of %s as replayed; they are taken to be this topic's (id %s)\n",
			rep.Legacy, rep.Topic, rep.TopicID)
	}
	if rep.More {
		fmt.Fprintln(w, "more records remain: run again to continue (--max limited this run)")
	}
}

// notReplayableShown bounds the records listed in text; -o json lists all.
const notReplayableShown = 20

func (rep *ReplayReport) writeNotReplayable(w io.Writer) {
	if len(rep.NotReplayable) == 0 {
		return
	}
	what := "could not replay %d records: their original topic or partition no longer exists; they are recorded as not replayable and later runs go past them\n"
	if rep.DryRun {
		what = "%d records cannot be replayed: their original topic or partition no longer exists (a replay records them as not replayable and goes on)\n"
	}
	fmt.Fprintf(w, what, len(rep.NotReplayable))
	for i, n := range rep.NotReplayable {
		if i == notReplayableShown {
			fmt.Fprintf(w, "  ... and %d more (-o json lists all)\n", len(rep.NotReplayable)-i)
			break
		}
		fmt.Fprintf(w, "  DLQ record %d@%d (from %s[%d]@%d): %s\n", n.Partition, n.Offset, n.OriginalTopic, n.OriginalPartition, n.OriginalOffset, n.Reason)
	}
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
