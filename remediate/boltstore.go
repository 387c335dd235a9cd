package remediate

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketJobs   = []byte("jobs")
	bucketQueue  = []byte("queue")
	bucketSafety = []byte("safety")
	bucketAudit  = []byte("audit")
)

// BoltStore is the embedded store: one bbolt file, one process. Writes
// from concurrent requests are batched into shared transactions, so a
// burst of notifications costs a few fsyncs rather than one each.
type BoltStore struct {
	db *bolt.DB
}

// OpenBolt opens (or creates) the store file at path. bbolt locks the file,
// so a second process on the same path waits, then fails with a timeout.
func OpenBolt(path string) (*BoltStore, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("opening remediation store %s: %w", path, err)
	}
	s := &BoltStore{db: db}
	if err := db.Update(s.init); err != nil {
		db.Close()
		return nil, fmt.Errorf("initialising remediation store %s: %w", path, err)
	}
	return s, nil
}

// init creates the buckets and puts back in the queue every job a
// previous process had claimed: the file lock says that process is gone,
// and its job may not have run. Acting twice is then possible only if it
// died between acting and recording, and the live-state check before
// every action turns most of those into not_needed.
func (s *BoltStore) init(tx *bolt.Tx) error {
	for _, b := range [][]byte{bucketJobs, bucketQueue, bucketSafety, bucketAudit} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return err
		}
	}
	jobs, queue := tx.Bucket(bucketJobs), tx.Bucket(bucketQueue)
	var orphans []*Job
	err := jobs.ForEach(func(k, v []byte) error {
		var j Job
		if err := json.Unmarshal(v, &j); err != nil {
			return fmt.Errorf("job %q: %w", k, err)
		}
		if j.State == StateRunning {
			orphans = append(orphans, &j)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, j := range orphans {
		j.State, j.Owner, j.LeaseUntil = StatePending, "", time.Time{}
		if err := putJob(jobs, j); err != nil {
			return err
		}
		if err := push(queue, j.Key); err != nil {
			return err
		}
	}
	return nil
}

func itob(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

func putJob(b *bolt.Bucket, j *Job) error {
	v, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return b.Put([]byte(j.Key), v)
}

func getJob(b *bolt.Bucket, key []byte) (*Job, error) {
	v := b.Get(key)
	if v == nil {
		return nil, nil
	}
	var j Job
	if err := json.Unmarshal(v, &j); err != nil {
		return nil, fmt.Errorf("job %q: %w", key, err)
	}
	return &j, nil
}

func push(queue *bolt.Bucket, key string) error {
	seq, err := queue.NextSequence()
	if err != nil {
		return err
	}
	return queue.Put(itob(seq), []byte(key))
}

// Enqueue implements Store. Repeats of known episodes, half the traffic in
// a typical burst, are answered from a read transaction without writing.
func (s *BoltStore) Enqueue(ctx context.Context, jobs []*Job) (int, error) {
	if len(jobs) == 0 {
		return 0, nil
	}
	var fresh []*Job
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJobs)
		for _, j := range jobs {
			old, err := getJob(b, []byte(j.Key))
			if err != nil {
				return err
			}
			if old == nil || (old.State == StateDone && old.Retry) {
				fresh = append(fresh, j)
			}
		}
		return nil
	})
	if err != nil || len(fresh) == 0 {
		return 0, err
	}
	var n int
	err = s.db.Batch(func(tx *bolt.Tx) error {
		n = 0
		b, queue := tx.Bucket(bucketJobs), tx.Bucket(bucketQueue)
		for _, j := range fresh {
			old, err := getJob(b, []byte(j.Key))
			if err != nil {
				return err
			}
			if old != nil && !(old.State == StateDone && old.Retry) {
				continue
			}
			nj := *j
			nj.State, nj.Outcome, nj.Retry, nj.Owner = StatePending, "", false, ""
			nj.LeaseUntil, nj.FinishedAt = time.Time{}, time.Time{}
			if err := putJob(b, &nj); err != nil {
				return err
			}
			if err := push(queue, nj.Key); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("recording alerts: %w", err)
	}
	return n, nil
}

// Claim implements Store. One process owns the file, so a lease never
// needs to be taken over while it runs; it only marks the job.
func (s *BoltStore) Claim(ctx context.Context, owner string, n int, now time.Time, lease time.Duration) ([]*Job, error) {
	var out []*Job
	err := s.db.Update(func(tx *bolt.Tx) error {
		out = out[:0]
		b, queue := tx.Bucket(bucketJobs), tx.Bucket(bucketQueue)
		var taken [][]byte
		c := queue.Cursor()
		for k, v := c.First(); k != nil && len(out) < n; k, v = c.Next() {
			taken = append(taken, append([]byte(nil), k...))
			j, err := getJob(b, v)
			if err != nil {
				return err
			}
			if j == nil || j.State != StatePending {
				continue
			}
			j.State, j.Owner, j.LeaseUntil = StateRunning, owner, now.Add(lease)
			if err := putJob(b, j); err != nil {
				return err
			}
			out = append(out, j)
		}
		for _, k := range taken {
			if err := queue.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claiming remediation jobs: %w", err)
	}
	return out, nil
}

// Finish implements Store.
func (s *BoltStore) Finish(ctx context.Context, job *Job, rec *Record) error {
	err := s.db.Batch(func(tx *bolt.Tx) error {
		j := *job
		j.State, j.Owner, j.LeaseUntil = StateDone, "", time.Time{}
		if err := putJob(tx.Bucket(bucketJobs), &j); err != nil {
			return err
		}
		if rec == nil {
			return nil
		}
		audit := tx.Bucket(bucketAudit)
		seq, err := audit.NextSequence()
		if err != nil {
			return err
		}
		r := *rec
		r.ID = seq
		v, err := json.Marshal(&r)
		if err != nil {
			return err
		}
		return audit.Put(itob(seq), v)
	})
	if err != nil {
		return fmt.Errorf("recording the outcome of %s: %w", job.Key, err)
	}
	return nil
}

// Job implements Store.
func (s *BoltStore) Job(ctx context.Context, key string) (*Job, error) {
	var j *Job
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		j, err = getJob(tx.Bucket(bucketJobs), []byte(key))
		return err
	})
	return j, err
}

func getJSON(b *bolt.Bucket, key string, v any) error {
	raw := b.Get([]byte(key))
	if raw == nil {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("safety state %q: %w", key, err)
	}
	return nil
}

func putJSON(b *bolt.Bucket, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), raw)
}

// Safety implements Store; bbolt serialises write transactions.
func (s *BoltStore) Safety(ctx context.Context, breakerKey, targetKey string, fn func(*Breaker, *TargetState) error) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSafety)
		var br Breaker
		var t TargetState
		if err := getJSON(b, breakerKey, &br); err != nil {
			return err
		}
		if err := getJSON(b, targetKey, &t); err != nil {
			return err
		}
		if err := fn(&br, &t); err != nil {
			return err
		}
		if err := putJSON(b, breakerKey, &br); err != nil {
			return err
		}
		return putJSON(b, targetKey, &t)
	})
}

// Breaker implements Store.
func (s *BoltStore) Breaker(ctx context.Context, key string) (*Breaker, error) {
	var br Breaker
	err := s.db.View(func(tx *bolt.Tx) error { return getJSON(tx.Bucket(bucketSafety), key, &br) })
	return &br, err
}

// Audit implements Store.
func (s *BoltStore) Audit(ctx context.Context, q AuditQuery) ([]Record, error) {
	var out []Record
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.Last(); k != nil && len(out) < q.Limit; k, v = c.Prev() {
			var r Record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("audit record %d: %w", binary.BigEndian.Uint64(k), err)
			}
			if q.match(&r) {
				out = append(out, r)
			}
		}
		return nil
	})
	return out, err
}

// Close implements Store.
func (s *BoltStore) Close() error { return s.db.Close() }
