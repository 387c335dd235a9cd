package dlq

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cdc-sentinel/cdc-sentinel/internal/filelock"
	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
)

// Ledger remembers, per DLQ topic, which of its records were replayed,
// and the batch a replay is about to send (written before it is sent),
// so that a record is never sent twice, whichever connector's replay
// reads it and with whatever flags, and a replay cut short by a crash
// can be finished. A topic is known by its id, not its name: one
// deleted and created again under the same name is a new topic whose
// records were never replayed. It is a bbolt file under --storage.path;
// bbolt's file lock keeps two replays from running at once.
type Ledger struct {
	db *bolt.DB
}

// LedgerFile is the ledger's file name under the storage directory.
const LedgerFile = "dlq-replay.db"

var (
	// bucketTopics holds one bucket per DLQ topic id.
	bucketTopics = []byte("dlq-topics")
	// bucketLegacy holds what versions before topic ids wrote: one
	// bucket per connect cluster, connector and topic name. Its entries
	// move to a topic id's bucket when that topic is first written to.
	bucketLegacy = []byte("dlq-replays")
)

// ErrLedgerBusy is returned when another process holds the ledger; it is
// filelock.ErrHeld, as for every file under --storage.path.
var ErrLedgerBusy = filelock.ErrHeld

// OpenLedger opens (or creates) the ledger at path.
func OpenLedger(path string) (*Ledger, error) {
	db, err := filelock.OpenBolt(path, &bolt.Options{Timeout: 2 * time.Second})
	if errors.Is(err, filelock.ErrHeld) {
		return nil, fmt.Errorf("replay ledger %w: another dlq replay is running on this storage path", err)
	}
	if err != nil {
		return nil, fmt.Errorf("opening replay ledger %s: %w", path, err)
	}
	return &Ledger{db: db}, nil
}

// Close releases the file.
func (l *Ledger) Close() error { return l.db.Close() }

// Source names one connector's DLQ topic on one Connect cluster, and
// the topic's id (zero on brokers without topic ids, before Kafka 2.8:
// the name alone then says which topic it is).
type Source struct {
	Cluster, Connector, Topic string
	TopicID                   kafka.TopicID
}

func (s Source) bucket() []byte {
	b, _ := json.Marshal([]string{s.Topic, s.TopicID.String()})
	return b
}

func (s Source) String() string {
	return fmt.Sprintf("%s (topic id %s)", s.Topic, s.TopicID)
}

// Ranges are half-open [from, to) offset intervals, sorted and merged.
type Ranges [][2]int64

// Contains tells whether off is in one of the intervals.
func (r Ranges) Contains(off int64) bool {
	i := sort.Search(len(r), func(i int) bool { return r[i][1] > off })
	return i < len(r) && r[i][0] <= off
}

// Add returns r with off added.
func (r Ranges) Add(off int64) Ranges {
	if r.Contains(off) {
		return r
	}
	return r.Union(Ranges{{off, off + 1}})
}

// Union returns the intervals of r and o together.
func (r Ranges) Union(o Ranges) Ranges {
	all := append(append(Ranges{}, r...), o...)
	if len(all) == 0 {
		return nil
	}
	sort.Slice(all, func(i, j int) bool { return all[i][0] < all[j][0] })
	merged := all[:1]
	for _, iv := range all[1:] {
		last := &merged[len(merged)-1]
		if iv[0] <= last[1] {
			last[1] = max(last[1], iv[1])
			continue
		}
		merged = append(merged, iv)
	}
	return merged
}

// Len is how many offsets the intervals hold.
func (r Ranges) Len() int64 {
	var n int64
	for _, iv := range r {
		n += iv[1] - iv[0]
	}
	return n
}

// Ref is one DLQ record.
type Ref struct {
	Partition int32 `json:"partition"`
	Offset    int64 `json:"offset"`
}

// Pending is a batch written down before it is sent: the DLQ records
// and, for every partition they go to, its end offset at that moment.
// After a crash, the replay markers found past those end offsets say
// which of the batch were sent.
type Pending struct {
	Refs    []Ref                      `json:"refs"`
	Targets map[string]map[int32]int64 `json:"targets"`
	At      time.Time                  `json:"at"`
}

// NotReplayable is a DLQ record that can never go back: the original
// topic or partition it names no longer exists. The ledger keeps it so
// later replays leave it out rather than stop at it, and never count it
// as replayed.
type NotReplayable struct {
	Ref
	OriginalTopic     string `json:"original_topic"`
	OriginalPartition int32  `json:"original_partition"`
	OriginalOffset    int64  `json:"original_offset"`
	// Reason says what is gone: the topic, or the partition (and how
	// many the topic has now).
	Reason string `json:"reason"`
}

// State is what the ledger holds for one DLQ topic.
type State struct {
	Replayed map[int32]Ranges
	// NotReplayable are the records an earlier run found could not go
	// back (see NotReplayable).
	NotReplayable map[int32]Ranges
	Pending       *Pending
	// Legacy counts the records an entry written before topic ids marks
	// as replayed: they are taken to be this topic's (see bucketLegacy).
	Legacy int64
	// Orphaned counts the records of batches cut short on earlier topics
	// of the same name, deleted since: whether they arrived can no longer
	// be found out from their DLQ records.
	Orphaned int
}

// Load reads the state of src's topic; empty when nothing was replayed
// yet. It only reads: entries from before topic ids are merged into the
// state here and moved to the topic's bucket by the first write.
func (l *Ledger) Load(src Source) (*State, error) {
	st := &State{Replayed: map[int32]Ranges{}, NotReplayable: map[int32]Ranges{}}
	err := l.db.View(func(tx *bolt.Tx) error {
		orphaned, err := orphanedPending(tx, src)
		if err != nil {
			return err
		}
		st.Orphaned = orphaned
		if b := topicBucket(tx, src); b != nil {
			return readState(b, st)
		}
		for _, b := range legacyBuckets(tx, src) {
			var one State
			one.Replayed = map[int32]Ranges{}
			if err := readState(b, &one); err != nil {
				return err
			}
			mergeState(st, &one)
		}
		for _, r := range st.Replayed {
			st.Legacy += r.Len()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading replay ledger for %s: %w", src, err)
	}
	return st, nil
}

func readState(b *bolt.Bucket, st *State) error {
	if rb := b.Bucket([]byte("replayed")); rb != nil {
		if err := rb.ForEach(func(k, v []byte) error {
			p, err := strconv.ParseInt(string(k), 10, 32)
			if err != nil {
				return fmt.Errorf("partition %q: %w", k, err)
			}
			var r Ranges
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("partition %d: %w", p, err)
			}
			st.Replayed[int32(p)] = r
			return nil
		}); err != nil {
			return err
		}
	}
	if nb := b.Bucket(bucketNotReplayable); nb != nil && st.NotReplayable != nil {
		if err := nb.ForEach(func(k, _ []byte) error {
			ref, err := parseRefKey(k)
			if err != nil {
				return fmt.Errorf("not replayable record %q: %w", k, err)
			}
			st.NotReplayable[ref.Partition] = st.NotReplayable[ref.Partition].Add(ref.Offset)
			return nil
		}); err != nil {
			return err
		}
	}
	if v := b.Get([]byte("pending")); v != nil {
		st.Pending = &Pending{}
		return json.Unmarshal(v, st.Pending)
	}
	return nil
}

// mergeState adds what other holds to st: both record replays of the
// same topic (a legacy entry per connector that shared it).
func mergeState(st, other *State) {
	for p, r := range other.Replayed {
		st.Replayed[p] = st.Replayed[p].Union(r)
	}
	if other.Pending == nil {
		return
	}
	if st.Pending == nil {
		st.Pending = &Pending{Targets: map[string]map[int32]int64{}, At: other.Pending.At}
	}
	for _, ref := range other.Pending.Refs {
		if !slices.Contains(st.Pending.Refs, ref) {
			st.Pending.Refs = append(st.Pending.Refs, ref)
		}
	}
	for t, parts := range other.Pending.Targets {
		if st.Pending.Targets[t] == nil {
			st.Pending.Targets[t] = map[int32]int64{}
		}
		for p, end := range parts {
			if cur, ok := st.Pending.Targets[t][p]; !ok || end < cur {
				st.Pending.Targets[t][p] = end
			}
		}
	}
}

// orphanedPending counts the pending records of src's name under other
// topic ids.
func orphanedPending(tx *bolt.Tx, src Source) (int, error) {
	top := tx.Bucket(bucketTopics)
	if top == nil {
		return 0, nil
	}
	n := 0
	err := top.ForEachBucket(func(k []byte) error {
		var key []string
		if json.Unmarshal(k, &key) != nil || len(key) != 2 || key[0] != src.Topic || key[1] == src.TopicID.String() {
			return nil
		}
		v := top.Bucket(k).Get([]byte("pending"))
		if v == nil {
			return nil
		}
		var p Pending
		if err := json.Unmarshal(v, &p); err != nil {
			return fmt.Errorf("pending batch of %s (topic id %s): %w", key[0], key[1], err)
		}
		n += len(p.Refs)
		return nil
	})
	return n, err
}

func topicBucket(tx *bolt.Tx, src Source) *bolt.Bucket {
	top := tx.Bucket(bucketTopics)
	if top == nil {
		return nil
	}
	return top.Bucket(src.bucket())
}

// legacyBuckets are the entries written before topic ids for src's
// connect cluster and topic name, by any connector.
func legacyBuckets(tx *bolt.Tx, src Source) map[string]*bolt.Bucket {
	top := tx.Bucket(bucketLegacy)
	if top == nil {
		return nil
	}
	out := map[string]*bolt.Bucket{}
	_ = top.ForEachBucket(func(k []byte) error {
		var key []string
		if json.Unmarshal(k, &key) == nil && len(key) == 3 && key[0] == src.Cluster && key[2] == src.Topic {
			out[string(k)] = top.Bucket(k)
		}
		return nil
	})
	return out
}

// createTopicBucket returns src's topic bucket, creating it on first
// use and moving into it the entries written before topic ids (they
// are deleted, so a topic created later under the same name does not
// inherit them).
func createTopicBucket(tx *bolt.Tx, src Source) (*bolt.Bucket, error) {
	if b := topicBucket(tx, src); b != nil {
		return b, nil
	}
	top, err := tx.CreateBucketIfNotExists(bucketTopics)
	if err != nil {
		return nil, err
	}
	b, err := top.CreateBucket(src.bucket())
	if err != nil {
		return nil, err
	}
	legacy := legacyBuckets(tx, src)
	if len(legacy) == 0 {
		return b, nil
	}
	st := &State{Replayed: map[int32]Ranges{}}
	for _, lb := range legacy {
		one := &State{Replayed: map[int32]Ranges{}}
		if err := readState(lb, one); err != nil {
			return nil, fmt.Errorf("moving the ledger entries from before topic ids: %w", err)
		}
		mergeState(st, one)
	}
	if err := putReplayed(b, st.Replayed); err != nil {
		return nil, err
	}
	if st.Pending != nil {
		v, _ := json.Marshal(st.Pending)
		if err := b.Put([]byte("pending"), v); err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(legacy))
	for k := range legacy {
		names = append(names, k)
		if err := tx.Bucket(bucketLegacy).DeleteBucket([]byte(k)); err != nil {
			return nil, err
		}
	}
	sort.Strings(names)
	return b, history(b, 0, "took over the entries written before topic ids: "+strings.Join(names, ", "))
}

func putReplayed(b *bolt.Bucket, byPart map[int32]Ranges) error {
	rb, err := b.CreateBucketIfNotExists([]byte("replayed"))
	if err != nil {
		return err
	}
	for p, r := range byPart {
		v, _ := json.Marshal(r)
		if err := rb.Put(partKey(p), v); err != nil {
			return err
		}
	}
	return nil
}

func history(b *bolt.Bucket, records int, note string) error {
	hb, err := b.CreateBucketIfNotExists([]byte("history"))
	if err != nil {
		return err
	}
	seq, _ := hb.NextSequence()
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, seq)
	v, _ := json.Marshal(map[string]any{"at": time.Now().UTC(), "records": records, "note": note})
	return hb.Put(k, v)
}

// Begin writes p down before its records are sent. Only one batch can
// be pending per topic.
func (l *Ledger) Begin(src Source, p *Pending) error {
	return l.db.Update(func(tx *bolt.Tx) error {
		b, err := createTopicBucket(tx, src)
		if err != nil {
			return err
		}
		if b.Get([]byte("pending")) != nil {
			return fmt.Errorf("a replay batch of %s is already pending", src)
		}
		v, err := json.Marshal(p)
		if err != nil {
			return err
		}
		return b.Put([]byte("pending"), v)
	})
}

// Settle records done as replayed and keeps only rest pending (none:
// the batch is finished), with a line of history, in one transaction:
// what a cut-short send had acknowledged is recorded at once, and the
// rest is left for the next run to look for.
func (l *Ledger) Settle(src Source, done, rest []Ref, note string) error {
	return l.db.Update(func(tx *bolt.Tx) error {
		b, err := createTopicBucket(tx, src)
		if err != nil {
			return err
		}
		rb, err := b.CreateBucketIfNotExists([]byte("replayed"))
		if err != nil {
			return err
		}
		byPart := map[int32]Ranges{}
		for _, ref := range done {
			r, ok := byPart[ref.Partition]
			if !ok {
				if v := rb.Get(partKey(ref.Partition)); v != nil {
					if err := json.Unmarshal(v, &r); err != nil {
						return err
					}
				}
			}
			byPart[ref.Partition] = r.Add(ref.Offset)
		}
		if err := putReplayed(b, byPart); err != nil {
			return err
		}
		if len(rest) == 0 {
			if err := b.Delete([]byte("pending")); err != nil {
				return err
			}
		} else {
			var p Pending
			v := b.Get([]byte("pending"))
			if v == nil {
				return fmt.Errorf("no pending batch of %s to keep %d records of", src, len(rest))
			}
			if err := json.Unmarshal(v, &p); err != nil {
				return err
			}
			p.Refs = rest
			if v, err = json.Marshal(&p); err != nil {
				return err
			}
			if err := b.Put([]byte("pending"), v); err != nil {
				return err
			}
		}
		return history(b, len(done), note)
	})
}

// bucketNotReplayable holds, in a topic's bucket, one entry per record
// found not replayable, keyed "partition/offset".
var bucketNotReplayable = []byte("not-replayable")

func refKey(r Ref) []byte { return fmt.Appendf(nil, "%d/%d", r.Partition, r.Offset) }

func parseRefKey(k []byte) (Ref, error) {
	p, off, ok := strings.Cut(string(k), "/")
	if !ok {
		return Ref{}, errors.New("want partition/offset")
	}
	part, err := strconv.ParseInt(p, 10, 32)
	if err != nil {
		return Ref{}, err
	}
	o, err := strconv.ParseInt(off, 10, 64)
	if err != nil {
		return Ref{}, err
	}
	return Ref{Partition: int32(part), Offset: o}, nil
}

// MarkNotReplayable records recs as records that cannot go back, with a
// line of history, in one transaction; they are never counted as
// replayed.
func (l *Ledger) MarkNotReplayable(src Source, recs []NotReplayable) error {
	if len(recs) == 0 {
		return nil
	}
	err := l.db.Update(func(tx *bolt.Tx) error {
		b, err := createTopicBucket(tx, src)
		if err != nil {
			return err
		}
		nb, err := b.CreateBucketIfNotExists(bucketNotReplayable)
		if err != nil {
			return err
		}
		at := time.Now().UTC()
		for _, r := range recs {
			v, err := json.Marshal(struct {
				NotReplayable
				At time.Time `json:"at"`
			}{r, at})
			if err != nil {
				return err
			}
			if err := nb.Put(refKey(r.Ref), v); err != nil {
				return err
			}
		}
		return history(b, 0, fmt.Sprintf("%d records not replayable: their original topic or partition no longer exists", len(recs)))
	})
	if err != nil {
		return fmt.Errorf("recording %d records of %s as not replayable: %w", len(recs), src, err)
	}
	return nil
}

func partKey(p int32) []byte { return []byte(strconv.Itoa(int(p))) }
