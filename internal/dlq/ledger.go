package dlq

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Ledger remembers, per connector and DLQ topic, which DLQ records were
// replayed, and the batch a replay is about to send (written before it
// is sent), so that a replay never sends a record twice and one cut
// short by a crash can be finished. It is a bbolt file under
// --storage.path; bbolt's file lock keeps two replays from running at
// once.
type Ledger struct {
	db *bolt.DB
}

// LedgerFile is the ledger's file name under the storage directory.
const LedgerFile = "dlq-replay.db"

var bucketReplays = []byte("dlq-replays")

// ErrLedgerBusy is returned when another process holds the ledger.
var ErrLedgerBusy = errors.New("another dlq replay is running on this storage path")

// OpenLedger opens (or creates) the ledger at path.
func OpenLedger(path string) (*Ledger, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("%s: %w", path, ErrLedgerBusy)
	}
	if err != nil {
		return nil, fmt.Errorf("opening replay ledger %s: %w", path, err)
	}
	return &Ledger{db: db}, nil
}

// Close releases the file.
func (l *Ledger) Close() error { return l.db.Close() }

// Source names one connector's DLQ topic on one Connect cluster.
type Source struct {
	Cluster, Connector, Topic string
}

func (s Source) bucket() []byte {
	b, _ := json.Marshal([]string{s.Cluster, s.Connector, s.Topic})
	return b
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
	out := append(Ranges{}, r...)
	out = append(out, [2]int64{off, off + 1})
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	merged := out[:1]
	for _, iv := range out[1:] {
		last := &merged[len(merged)-1]
		if iv[0] <= last[1] {
			last[1] = max(last[1], iv[1])
			continue
		}
		merged = append(merged, iv)
	}
	return merged
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

// State is what the ledger holds for one source.
type State struct {
	Replayed map[int32]Ranges
	Pending  *Pending
}

// Load reads the state of src; empty when nothing was replayed yet.
func (l *Ledger) Load(src Source) (*State, error) {
	st := &State{Replayed: map[int32]Ranges{}}
	err := l.db.View(func(tx *bolt.Tx) error {
		b := sourceBucket(tx, src)
		if b == nil {
			return nil
		}
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
		if v := b.Get([]byte("pending")); v != nil {
			st.Pending = &Pending{}
			return json.Unmarshal(v, st.Pending)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading replay ledger for %s/%s: %w", src.Connector, src.Topic, err)
	}
	return st, nil
}

func sourceBucket(tx *bolt.Tx, src Source) *bolt.Bucket {
	top := tx.Bucket(bucketReplays)
	if top == nil {
		return nil
	}
	return top.Bucket(src.bucket())
}

func createSourceBucket(tx *bolt.Tx, src Source) (*bolt.Bucket, error) {
	top, err := tx.CreateBucketIfNotExists(bucketReplays)
	if err != nil {
		return nil, err
	}
	return top.CreateBucketIfNotExists(src.bucket())
}

// Begin writes p down before its records are sent. Only one batch can
// be pending per source.
func (l *Ledger) Begin(src Source, p *Pending) error {
	return l.db.Update(func(tx *bolt.Tx) error {
		b, err := createSourceBucket(tx, src)
		if err != nil {
			return err
		}
		if b.Get([]byte("pending")) != nil {
			return fmt.Errorf("a replay batch of %s/%s is already pending", src.Connector, src.Topic)
		}
		v, err := json.Marshal(p)
		if err != nil {
			return err
		}
		return b.Put([]byte("pending"), v)
	})
}

// Commit records refs as replayed, clears the pending batch and keeps a
// line of history, in one transaction.
func (l *Ledger) Commit(src Source, refs []Ref, note string) error {
	return l.db.Update(func(tx *bolt.Tx) error {
		b, err := createSourceBucket(tx, src)
		if err != nil {
			return err
		}
		rb, err := b.CreateBucketIfNotExists([]byte("replayed"))
		if err != nil {
			return err
		}
		byPart := map[int32]Ranges{}
		for _, ref := range refs {
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
		for p, r := range byPart {
			v, _ := json.Marshal(r)
			if err := rb.Put(partKey(p), v); err != nil {
				return err
			}
		}
		if err := b.Delete([]byte("pending")); err != nil {
			return err
		}
		hb, err := b.CreateBucketIfNotExists([]byte("history"))
		if err != nil {
			return err
		}
		seq, _ := hb.NextSequence()
		k := make([]byte, 8)
		binary.BigEndian.PutUint64(k, seq)
		v, _ := json.Marshal(map[string]any{"at": time.Now().UTC(), "records": len(refs), "note": note})
		return hb.Put(k, v)
	})
}

func partKey(p int32) []byte { return []byte(strconv.Itoa(int(p))) }
