package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cdc-sentinel/cdc-sentinel/internal/filelock"
)

var (
	bucketJobs   = []byte("jobs")
	bucketQueue  = []byte("queue")
	bucketSafety = []byte("safety")
	bucketAudit  = []byte("audit")
)

// BoltStore is the embedded store: two bbolt files, one process. The
// receiver writes only to the inbox file (which episodes were seen, and
// the queue); the workers' claims, outcomes, safety state and audit trail
// go to the state file. Each file has its own write lock and fsync, so a
// busy queue never makes Alertmanager wait, and concurrent writes to a
// file are batched into shared transactions.
type BoltStore struct {
	inbox *bolt.DB
	db    *bolt.DB
}

var bucketSeen = []byte("seen")

// InboxPath is the receiver's file beside the state file at path.
func InboxPath(path string) string { return strings.TrimSuffix(path, ".db") + "-inbox.db" }

// ErrInUse is why a store another process holds cannot be opened; it is
// filelock.ErrHeld, as for every file under --storage.path.
var ErrInUse = filelock.ErrHeld

// pidPath is where the process holding the store at path writes its pid,
// so that a second one can say who holds it: bbolt's lock only times out.
func pidPath(path string) string { return strings.TrimSuffix(path, ".db") + ".pid" }

func openBoltFile(path string) (*bolt.DB, error) {
	// The freelist is rebuilt on open instead of written on every
	// commit: both files are write-heavy and small.
	db, err := filelock.OpenBolt(path, &bolt.Options{Timeout: 5 * time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if errors.Is(err, filelock.ErrHeld) {
		holder := "another process"
		if b, rerr := os.ReadFile(pidPath(path)); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
				holder = fmt.Sprintf("another cdc-sentinel (pid %d)", pid)
			}
		}
		return nil, fmt.Errorf("remediation store %w: held by %s; give each server its own --storage.path, or use remediation.store.type postgres for replicas", err, holder)
	}
	if err != nil {
		return nil, fmt.Errorf("opening remediation store %s: %w", path, err)
	}
	return db, nil
}

// OpenBolt opens (or creates) the store at path and its inbox beside it.
// bbolt locks the files, so a second process on the same path waits,
// then fails with ErrInUse naming the holder's pid.
func OpenBolt(path string) (*BoltStore, error) {
	db, err := openBoltFile(path)
	if err != nil {
		return nil, err
	}
	inbox, err := openBoltFile(InboxPath(path))
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	// Workers wait on each state commit in turn; the default 10 ms
	// gathering delay would bound them to a few hundred jobs a second.
	db.MaxBatchDelay = 2 * time.Millisecond
	// Only the holder of the lock writes here; a stale file left by a
	// process that died is overwritten by the next one to hold it.
	_ = os.WriteFile(pidPath(path), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600)
	s := &BoltStore{inbox: inbox, db: db}
	if err := s.init(); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("initialising remediation store %s: %w", path, err)
	}
	return s, nil
}

// init creates the buckets and makes every job a previous process had
// claimed claimable again: the file lock says that process is gone, and
// its job may not have run. A job it had begun acting on keeps its
// write-ahead record (Started), so the next owner audits it as
// interrupted instead of acting again.
func (s *BoltStore) init() error {
	err := s.inbox.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketSeen, bucketQueue} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	var orphans []*Job
	err = s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketJobs, bucketSafety, bucketAudit} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		jobs := tx.Bucket(bucketJobs)
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
		}
		return nil
	})
	if err != nil || len(orphans) == 0 {
		return err
	}
	return s.inbox.Update(func(tx *bolt.Tx) error {
		for _, j := range orphans {
			if err := push(tx.Bucket(bucketQueue), j); err != nil {
				return err
			}
		}
		return nil
	})
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

// push appends a job to the inbox queue.
func push(queue *bolt.Bucket, j *Job) error {
	seq, err := queue.NextSequence()
	if err != nil {
		return err
	}
	v, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return queue.Put(itob(seq), v)
}

// claimable says whether a job in the state file may be (re)started:
// unknown there, left pending by a dead process, or finished without
// acting for a reason that may pass.
func claimable(j *Job) bool {
	return j == nil || j.State == StatePending || (j.State == StateDone && j.Retry)
}

// toQueue picks the jobs Enqueue must write: unseen ones, and seen ones
// whose job finished with a retryable outcome (reopen). Repeats of known
// episodes are answered from read transactions without writing.
func (s *BoltStore) toQueue(jobs []*Job) ([]*Job, map[string]bool, error) {
	var fresh []*Job
	reopen := map[string]bool{}
	err := s.inbox.View(func(tx *bolt.Tx) error {
		seen := tx.Bucket(bucketSeen)
		for _, j := range jobs {
			if seen.Get([]byte(j.Key)) == nil {
				fresh = append(fresh, j)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if len(fresh) < len(jobs) {
		// Seen before: queue again only what finished with a retryable
		// outcome. Claim re-checks, so a race here cannot act twice.
		err = s.db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketJobs)
			for _, j := range jobs {
				old, err := getJob(b, []byte(j.Key))
				if err != nil {
					return err
				}
				if old != nil && old.State == StateDone && old.Retry {
					fresh = append(fresh, j)
					reopen[j.Key] = true
				}
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return fresh, reopen, nil
}

// Enqueue implements Store. Repeats of known episodes, half the traffic in
// a typical burst, are answered from read transactions without writing.
func (s *BoltStore) Enqueue(ctx context.Context, jobs []*Job) (int, error) {
	if len(jobs) == 0 {
		return 0, nil
	}
	fresh, reopen, err := s.toQueue(jobs)
	if err != nil {
		return 0, err
	}
	if len(fresh) == 0 {
		return 0, nil
	}
	var n int
	err = s.inbox.Batch(func(tx *bolt.Tx) error {
		n = 0
		seen, queue := tx.Bucket(bucketSeen), tx.Bucket(bucketQueue)
		for _, j := range fresh {
			if seen.Get([]byte(j.Key)) != nil && !reopen[j.Key] {
				continue // queued by a concurrent request
			}
			if err := seen.Put([]byte(j.Key), itob(uint64(j.ReceivedAt.Unix()))); err != nil {
				return err
			}
			if err := push(queue, j); err != nil {
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

// Claim implements Store. One process owns the files, so a lease never
// needs to be taken over while it runs; it only marks the job. The job
// is marked running in the state file before it leaves the inbox, so a
// crash in between leaves it claimable rather than lost.
func (s *BoltStore) Claim(ctx context.Context, owner string, n int, now time.Time, lease time.Duration) ([]*Job, error) {
	type entry struct {
		seq []byte
		job *Job
	}
	var entries []entry
	err := s.inbox.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketQueue).Cursor()
		for k, v := c.First(); k != nil && len(entries) < n; k, v = c.Next() {
			var j Job
			if err := json.Unmarshal(v, &j); err != nil {
				return fmt.Errorf("queued job %d: %w", binary.BigEndian.Uint64(k), err)
			}
			entries = append(entries, entry{append([]byte(nil), k...), &j})
		}
		return nil
	})
	if err != nil || len(entries) == 0 {
		return nil, err
	}
	var out []*Job
	err = s.db.Batch(func(tx *bolt.Tx) error {
		out = out[:0]
		b := tx.Bucket(bucketJobs)
		for _, e := range entries {
			old, err := getJob(b, []byte(e.job.Key))
			if err != nil {
				return err
			}
			if !claimable(old) {
				continue
			}
			j := *e.job
			if old != nil && old.State != StateDone {
				// Interrupted after the decision to act: the next
				// owner must know (see Admit).
				j.Started = old.Started
			}
			j.State, j.Owner, j.LeaseUntil = StateRunning, owner, now.Add(lease)
			j.Outcome, j.Retry, j.FinishedAt = "", false, time.Time{}
			if err := putJob(b, &j); err != nil {
				return err
			}
			out = append(out, &j)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claiming remediation jobs: %w", err)
	}
	err = s.inbox.Batch(func(tx *bolt.Tx) error {
		q := tx.Bucket(bucketQueue)
		for _, e := range entries {
			if err := q.Delete(e.seq); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// The claims are committed: dropping the jobs now would leave
		// them running with no worker until a restart. The entries
		// left in the inbox are skipped (running) and removed by the
		// next claim.
		return out, fmt.Errorf("removing claimed remediation jobs from the inbox: %w", err)
	}
	return out, nil
}

// Admit implements Store. One process owns the files, so the claim can
// only have been lost to a finish of the same job.
func (s *BoltStore) Admit(ctx context.Context, job *Job, rec *Record, breakerKey, targetKey string, admit func(*Breaker, *TargetState) bool) (bool, error) {
	var admitted bool
	err := s.db.Batch(func(tx *bolt.Tx) error {
		admitted = false // Batch may run the function again
		jobs := tx.Bucket(bucketJobs)
		j, err := getJob(jobs, []byte(job.Key))
		if err != nil {
			return err
		}
		if j == nil || j.State != StateRunning || j.Owner != job.Owner {
			return ErrClaimLost
		}
		err = boltSafety(tx, breakerKey, targetKey, func(br *Breaker, t *TargetState) error {
			admitted = admit(br, t)
			return nil
		})
		if err != nil || !admitted || rec == nil {
			return err
		}
		j.Started = rec
		return putJob(jobs, j)
	})
	if err != nil {
		return false, fmt.Errorf("admitting the action of %s: %w", job.Key, err)
	}
	if admitted && rec != nil {
		job.Started = rec
	}
	return admitted, nil
}

// Finish implements Store.
func (s *BoltStore) Finish(ctx context.Context, job *Job, rec *Record) error {
	err := s.db.Batch(func(tx *bolt.Tx) error {
		j := *job
		j.State, j.Owner, j.LeaseUntil, j.Started = StateDone, "", time.Time{}, nil
		if err := putJob(tx.Bucket(bucketJobs), &j); err != nil {
			return err
		}
		if m := job.Healthy; m != nil {
			sb := tx.Bucket(bucketSafety)
			var t TargetState
			if err := getJSON(sb, m.Key, &t); err != nil {
				return err
			}
			t.HealthySince = m.At
			if err := putJSON(sb, m.Key, &t); err != nil {
				return err
			}
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

// Job implements Store. A job still waiting in the inbox is reported
// pending, as the PostgreSQL store's row says from Enqueue on: the engine
// must know an episode's other phase was received even before any worker
// took it.
func (s *BoltStore) Job(ctx context.Context, key string) (*Job, error) {
	var j *Job
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		j, err = getJob(tx.Bucket(bucketJobs), []byte(key))
		return err
	})
	if err != nil || j != nil {
		return j, err
	}
	err = s.inbox.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketSeen).Get([]byte(key)) != nil {
			j = &Job{Key: key, State: StatePending}
		}
		return nil
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
	return s.db.Batch(func(tx *bolt.Tx) error { return boltSafety(tx, breakerKey, targetKey, fn) })
}

// boltSafety runs fn on the breaker and the target's state within tx and
// saves what it leaves when it returns nil.
func boltSafety(tx *bolt.Tx, breakerKey, targetKey string, fn func(*Breaker, *TargetState) error) error {
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

// Backlog implements Store. An inbox entry whose job was claimed already
// (left there by a failed removal) is not counted twice.
func (s *BoltStore) Backlog(ctx context.Context) (int, error) {
	keys := map[string]bool{}
	err := s.inbox.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketQueue).ForEach(func(k, v []byte) error {
			var j Job
			if err := json.Unmarshal(v, &j); err != nil {
				return fmt.Errorf("queued job %d: %w", binary.BigEndian.Uint64(k), err)
			}
			keys[j.Key] = true
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	n := 0
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJobs)
		for k := range keys {
			old, err := getJob(b, []byte(k))
			if err != nil {
				return err
			}
			if claimable(old) {
				n++
			}
		}
		return b.ForEach(func(k, v []byte) error {
			var j Job
			if err := json.Unmarshal(v, &j); err != nil {
				return fmt.Errorf("job %q: %w", k, err)
			}
			if j.State == StateRunning {
				n++
			}
			return nil
		})
	})
	return n, err
}

// Close implements Store.
func (s *BoltStore) Close() error {
	// Removed while the lock is still held, so it can never take away
	// the file of the next process to open the store.
	_ = os.Remove(pidPath(s.db.Path()))
	err := s.db.Close()
	if ierr := s.inbox.Close(); err == nil {
		err = ierr
	}
	return err
}

// Prune implements Store.
func (s *BoltStore) Prune(ctx context.Context, before time.Time) (int, error) {
	n, err := s.pruneState(before)
	if err != nil {
		return 0, fmt.Errorf("pruning the remediation store: %w", err)
	}
	m, err := s.pruneSeen(before)
	if err != nil {
		return n, fmt.Errorf("pruning the remediation inbox: %w", err)
	}
	return n + m, nil
}

// pruneState forgets finished jobs and audit records older than before.
func (s *BoltStore) pruneState(before time.Time) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		var old [][]byte
		err := tx.Bucket(bucketJobs).ForEach(func(k, v []byte) error {
			var j Job
			if json.Unmarshal(v, &j) == nil && j.State == StateDone && j.FinishedAt.Before(before) {
				old = append(old, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		c := tx.Bucket(bucketAudit).Cursor()
		var oldAudit [][]byte
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var r Record
			if json.Unmarshal(v, &r) != nil || !r.FinishedAt.Before(before) {
				break // ids grow with time
			}
			oldAudit = append(oldAudit, append([]byte(nil), k...))
		}
		if err := deleteKeys(tx.Bucket(bucketJobs), old); err != nil {
			return err
		}
		if err := deleteKeys(tx.Bucket(bucketAudit), oldAudit); err != nil {
			return err
		}
		n = len(old) + len(oldAudit)
		return nil
	})
	return n, err
}

// pruneSeen forgets the episodes received before before.
func (s *BoltStore) pruneSeen(before time.Time) (int, error) {
	n := 0
	err := s.inbox.Update(func(tx *bolt.Tx) error {
		seen := tx.Bucket(bucketSeen)
		var old [][]byte
		cut := uint64(before.Unix())
		err := seen.ForEach(func(k, v []byte) error {
			if len(v) == 8 && binary.BigEndian.Uint64(v) < cut {
				old = append(old, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		n = len(old)
		return deleteKeys(seen, old)
	})
	return n, err
}

func deleteKeys(b *bolt.Bucket, keys [][]byte) error {
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
