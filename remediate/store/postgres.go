package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cdc-sentinel/cdc-sentinel/internal/dsn"
)

// PostgresStore lets several replicas behind Alertmanager share one state.
// Every replica records every notification; the job table's primary key
// makes the first insert win (INSERT … ON CONFLICT DO NOTHING), and a
// claim with FOR UPDATE SKIP LOCKED hands each job to exactly one
// replica. A replica that dies holding a job loses it when its lease runs
// out, and another takes it.
type PostgresStore struct {
	pool *pgxpool.Pool
}

const pgSchema = `
CREATE TABLE IF NOT EXISTS cdc_sentinel_remediation_jobs (
	key         text PRIMARY KEY,
	seq         bigserial,
	job         jsonb NOT NULL,
	state       text NOT NULL,
	owner       text,
	lease_until timestamptz,
	outcome     text,
	retry       boolean NOT NULL DEFAULT false,
	finished_at timestamptz
);
CREATE INDEX IF NOT EXISTS cdc_sentinel_remediation_jobs_open
	ON cdc_sentinel_remediation_jobs (seq) WHERE state <> 'done';
CREATE TABLE IF NOT EXISTS cdc_sentinel_remediation_safety (
	key   text PRIMARY KEY,
	state jsonb NOT NULL
);
CREATE TABLE IF NOT EXISTS cdc_sentinel_remediation_audit (
	id          bigserial PRIMARY KEY,
	rule        text NOT NULL,
	finished_at timestamptz NOT NULL,
	record      jsonb NOT NULL
);
`

// pgLockKey serialises schema creation and safety decisions across
// replicas (an arbitrary constant: "cdcsentl").
const pgLockKey = 0x636463_73656e74

// OpenPostgres connects and creates the tables when missing.
func OpenPostgres(ctx context.Context, connString string) (*PostgresStore, error) {
	pool, err := pgxpool.New(ctx, connString)
	if err != nil {
		// Only parsing fails here, and the driver's message quotes the
		// DSN, redacted by a rule of its own that leaves the tail of a
		// password holding an "@": the fixed text instead.
		return nil, fmt.Errorf("remediation store: %w for a PostgreSQL pool", dsn.ErrInvalid)
	}
	s := &PostgresStore{pool: pool}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// CREATE … IF NOT EXISTS races between replicas starting together.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(pgLockKey)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, pgSchema)
		return err
	})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("remediation store: creating tables: %s", dsn.Redact(err.Error()))
	}
	return s, nil
}

// Enqueue implements Store.
func (s *PostgresStore) Enqueue(ctx context.Context, jobs []*Job) (int, error) {
	if len(jobs) == 0 {
		return 0, nil
	}
	batch := &pgx.Batch{}
	for _, j := range jobs {
		nj := *j
		nj.State = StatePending
		raw, err := json.Marshal(&nj)
		if err != nil {
			return 0, err
		}
		batch.Queue(`INSERT INTO cdc_sentinel_remediation_jobs AS j (key, job, state) VALUES ($1, $2, 'pending')
			ON CONFLICT (key) DO UPDATE SET job = EXCLUDED.job, state = 'pending', outcome = NULL, retry = false,
				owner = NULL, lease_until = NULL, finished_at = NULL
			WHERE j.state = 'done' AND j.retry`, j.Key, raw)
	}
	n := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		n = 0
		br := tx.SendBatch(ctx, batch)
		for range jobs {
			tag, err := br.Exec()
			if err != nil {
				_ = br.Close()
				return err
			}
			n += int(tag.RowsAffected())
		}
		return br.Close()
	})
	if err != nil {
		return 0, fmt.Errorf("recording alerts: %w", err)
	}
	return n, nil
}

// Claim implements Store. Leases are set and compared on the database's
// clock, never the replicas', whose clocks may disagree; now is unused.
func (s *PostgresStore) Claim(ctx context.Context, owner string, n int, _ time.Time, lease time.Duration) ([]*Job, error) {
	rows, err := s.pool.Query(ctx, `
		UPDATE cdc_sentinel_remediation_jobs SET state = 'running', owner = $1, lease_until = now() + make_interval(secs => $2)
		WHERE key IN (
			SELECT key FROM cdc_sentinel_remediation_jobs
			WHERE state = 'pending' OR (state = 'running' AND lease_until < now())
			ORDER BY seq LIMIT $3
			FOR UPDATE SKIP LOCKED)
		RETURNING job, seq, lease_until`, owner, lease.Seconds(), n)
	if err != nil {
		return nil, fmt.Errorf("claiming remediation jobs: %w", err)
	}
	type seqJob struct {
		seq int64
		j   *Job
	}
	var got []seqJob
	for rows.Next() {
		var raw []byte
		var seq int64
		var until time.Time
		if err := rows.Scan(&raw, &seq, &until); err != nil {
			rows.Close()
			return nil, err
		}
		var j Job
		if err := json.Unmarshal(raw, &j); err != nil {
			rows.Close()
			return nil, fmt.Errorf("claiming remediation jobs: %w", err)
		}
		j.State, j.Owner, j.LeaseUntil = StateRunning, owner, until
		got = append(got, seqJob{seq, &j})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claiming remediation jobs: %w", err)
	}
	// RETURNING follows no order; keep the queue's.
	for i := 1; i < len(got); i++ {
		for k := i; k > 0 && got[k].seq < got[k-1].seq; k-- {
			got[k], got[k-1] = got[k-1], got[k]
		}
	}
	out := make([]*Job, len(got))
	for i := range got {
		out[i] = got[i].j
	}
	return out, nil
}

// Admit implements Store. The claim is checked once the safety lock is
// held, on the database's clock at that moment (clock_timestamp, not the
// transaction's start), with the job's row locked until the decision
// commits: a replica that waited on the lock while its lease ran out, and
// whose job another replica took meanwhile, neither counts nor records
// anything, and no claim can change hands while the decision is made.
func (s *PostgresStore) Admit(ctx context.Context, job *Job, rec *Record, breakerKey, targetKey string, admit func(*Breaker, *TargetState) bool) (bool, error) {
	var raw []byte
	if rec != nil {
		var err error
		if raw, err = json.Marshal(rec); err != nil {
			return false, err
		}
	}
	var admitted bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := pgLockSafety(ctx, tx); err != nil {
			return err
		}
		var held bool
		err := tx.QueryRow(ctx, `SELECT true FROM cdc_sentinel_remediation_jobs
			WHERE key = $1 AND owner = $2 AND state = 'running' AND lease_until > clock_timestamp() FOR UPDATE`, job.Key, job.Owner).Scan(&held)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("as %s: %w", job.Owner, ErrClaimLost)
		}
		if err != nil {
			return err
		}
		err = pgApplySafety(ctx, tx, breakerKey, targetKey, func(br *Breaker, t *TargetState) error {
			admitted = admit(br, t)
			return nil
		})
		if err != nil || !admitted || rec == nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE cdc_sentinel_remediation_jobs SET job = jsonb_set(job, '{started}', $3)
			WHERE key = $1 AND owner = $2 AND state = 'running'`, job.Key, job.Owner, raw)
		if err == nil && tag.RowsAffected() == 0 {
			err = fmt.Errorf("as %s: %w", job.Owner, ErrClaimLost)
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("admitting the action of %s: %w", job.Key, err)
	}
	if admitted && rec != nil {
		job.Started = rec
	}
	return admitted, nil
}

// Finish implements Store. Only the job's current owner finishes it: when
// the lease ran out and another replica took the job, the job is left to
// that replica, the audit record (what this one did) is still kept, and
// the error wraps ErrClaimLost.
func (s *PostgresStore) Finish(ctx context.Context, job *Job, rec *Record) error {
	j := *job
	j.State, j.Owner, j.LeaseUntil, j.Started = StateDone, "", time.Time{}, nil
	raw, err := json.Marshal(&j)
	if err != nil {
		return err
	}
	lost := false
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE cdc_sentinel_remediation_jobs
			SET job = $2, state = 'done', owner = NULL, lease_until = NULL, outcome = $3, retry = $4, finished_at = $5
			WHERE key = $1 AND owner = $6 AND state = 'running'`, j.Key, raw, j.Outcome, j.Retry, j.FinishedAt, job.Owner)
		if err != nil {
			return err
		}
		lost = tag.RowsAffected() == 0
		if m := job.Healthy; m != nil && !lost {
			if _, err := tx.Exec(ctx, `INSERT INTO cdc_sentinel_remediation_safety (key, state) VALUES ($1, jsonb_build_object('healthy_since', $2::text))
				ON CONFLICT (key) DO UPDATE SET state = cdc_sentinel_remediation_safety.state || jsonb_build_object('healthy_since', $2::text)`,
				m.Key, m.At.UTC().Format(time.RFC3339Nano)); err != nil {
				return err
			}
		}
		if rec == nil {
			return nil
		}
		var id int64
		if err := tx.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('cdc_sentinel_remediation_audit', 'id'))`).Scan(&id); err != nil {
			return err
		}
		r := *rec
		r.ID = uint64(id)
		rraw, err := json.Marshal(&r)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO cdc_sentinel_remediation_audit (id, rule, finished_at, record) VALUES ($1, $2, $3, $4)`,
			id, r.Rule, r.FinishedAt, rraw)
		return err
	})
	if err != nil {
		return fmt.Errorf("recording the outcome of %s: %w", job.Key, err)
	}
	if lost {
		return fmt.Errorf("recording the outcome of %s as %s: %w", job.Key, job.Owner, ErrClaimLost)
	}
	return nil
}

// Job implements Store. The claim's columns (state, owner, lease) are
// the truth while a job runs: the stored job is rewritten only on Finish.
func (s *PostgresStore) Job(ctx context.Context, key string) (*Job, error) {
	var raw []byte
	var state string
	var owner *string
	var until *time.Time
	err := s.pool.QueryRow(ctx, `SELECT job, state, owner, lease_until FROM cdc_sentinel_remediation_jobs WHERE key = $1`, key).
		Scan(&raw, &state, &owner, &until)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading job %s: %w", key, err)
	}
	var j Job
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, fmt.Errorf("reading job %s: %w", key, err)
	}
	j.State, j.Owner, j.LeaseUntil = state, "", time.Time{}
	if owner != nil {
		j.Owner = *owner
	}
	if until != nil {
		j.LeaseUntil = *until
	}
	return &j, nil
}

func pgGet(ctx context.Context, tx pgx.Tx, key string, v any) error {
	var raw []byte
	err := tx.QueryRow(ctx, `SELECT state FROM cdc_sentinel_remediation_safety WHERE key = $1`, key).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

func pgPut(ctx context.Context, tx pgx.Tx, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO cdc_sentinel_remediation_safety (key, state) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET state = EXCLUDED.state`, key, raw)
	return err
}

// Safety implements Store. An advisory lock serialises every decision of
// every replica: decisions are rare and must see each other's attempts.
func (s *PostgresStore) Safety(ctx context.Context, breakerKey, targetKey string, fn func(*Breaker, *TargetState) error) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return pgSafety(ctx, tx, breakerKey, targetKey, fn) })
	if err != nil {
		return fmt.Errorf("safety state %s: %w", targetKey, err)
	}
	return nil
}

// pgSafety runs fn on the breaker and the target's state within tx,
// under the safety lock, and saves what it leaves when it returns nil.
func pgSafety(ctx context.Context, tx pgx.Tx, breakerKey, targetKey string, fn func(*Breaker, *TargetState) error) error {
	if err := pgLockSafety(ctx, tx); err != nil {
		return err
	}
	return pgApplySafety(ctx, tx, breakerKey, targetKey, fn)
}

// pgLockSafety takes the advisory lock that serialises every decision of
// every replica until tx ends.
func pgLockSafety(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(pgLockKey))
	return err
}

// pgApplySafety runs fn on the breaker and the target's state within tx,
// which holds the safety lock, and saves what it leaves when it returns
// nil.
func pgApplySafety(ctx context.Context, tx pgx.Tx, breakerKey, targetKey string, fn func(*Breaker, *TargetState) error) error {
	var br Breaker
	var t TargetState
	if err := pgGet(ctx, tx, breakerKey, &br); err != nil {
		return err
	}
	if err := pgGet(ctx, tx, targetKey, &t); err != nil {
		return err
	}
	if err := fn(&br, &t); err != nil {
		return err
	}
	if err := pgPut(ctx, tx, breakerKey, &br); err != nil {
		return err
	}
	return pgPut(ctx, tx, targetKey, &t)
}

// Breaker implements Store.
func (s *PostgresStore) Breaker(ctx context.Context, key string) (*Breaker, error) {
	var raw []byte
	var br Breaker
	err := s.pool.QueryRow(ctx, `SELECT state FROM cdc_sentinel_remediation_safety WHERE key = $1`, key).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return &br, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the circuit breaker: %w", err)
	}
	return &br, json.Unmarshal(raw, &br)
}

// Backlog implements Store.
func (s *PostgresStore) Backlog(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM cdc_sentinel_remediation_jobs WHERE state <> 'done'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting open remediation jobs: %w", err)
	}
	return n, nil
}

// Audit implements Store.
func (s *PostgresStore) Audit(ctx context.Context, q AuditQuery) ([]Record, error) {
	// Each list filter is off when its array is empty; the record's
	// jsonb holds the alert's labels and the action's arguments (see
	// AuditQuery.match, the same filter for the bbolt store).
	rows, err := s.pool.Query(ctx, `SELECT record FROM cdc_sentinel_remediation_audit
		WHERE ($1 = '' OR rule = $1) AND ($2::timestamptz IS NULL OR finished_at >= $2)
		AND (cardinality($4::text[]) = 0 OR record->'alert'->'labels'->>'connector' = ANY($4) OR record->'arguments'->>'connector' = ANY($4))
		AND (cardinality($5::text[]) = 0 OR record->'alert'->'labels'->>'connect_cluster' = ANY($5) OR record->'arguments'->>'connect_cluster' = ANY($5))
		AND (cardinality($6::text[]) = 0 OR record->>'outcome' = ANY($6))
		AND (cardinality($7::text[]) = 0 OR record->'alert'->'labels'->>'table' = ANY($7) OR record->'arguments'->>'table' = ANY($7))
		ORDER BY id DESC LIMIT $3`, q.Rule, nullTime(q.Since), q.Limit, nonNil(q.Connectors), nonNil(q.ConnectClusters), nonNil(q.Outcomes), nonNil(q.Tables))
	if err != nil {
		return nil, fmt.Errorf("reading the audit trail: %w", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return nil, err
		}
		var r Record
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("reading the audit trail: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// nonNil sends an empty list as an empty array, never NULL.
func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Prune implements Store.
func (s *PostgresStore) Prune(ctx context.Context, before time.Time) (int, error) {
	n := 0
	for _, q := range []string{
		`DELETE FROM cdc_sentinel_remediation_jobs WHERE state = 'done' AND finished_at < $1`,
		`DELETE FROM cdc_sentinel_remediation_audit WHERE finished_at < $1`,
	} {
		tag, err := s.pool.Exec(ctx, q, before)
		if err != nil {
			return n, fmt.Errorf("pruning the remediation store: %w", err)
		}
		n += int(tag.RowsAffected())
	}
	return n, nil
}

// Close implements Store.
func (s *PostgresStore) Close() error {
	s.pool.Close()
	return nil
}
