package reconcile

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/tracing"
)

// Signaler delivers one Debezium signal to the source connector.
type Signaler interface {
	Signal(ctx context.Context, id, typ string, data []byte) error
	// Describe names the channel in reports ("table inventory.debezium_signal").
	Describe() string
}

// TableSignaler inserts signals into the connector's signal table in the
// source database (signal.data.collection).
type TableSignaler struct {
	DB      *sql.DB
	Dialect sqldialect.Dialect
	Table   string
}

func (s TableSignaler) Signal(ctx context.Context, id, typ string, data []byte) error {
	d := s.Dialect
	q := fmt.Sprintf("INSERT INTO %s (%s, %s, %s) VALUES (%s, %s, %s)", d.QuoteTable(s.Table),
		d.QuoteIdent("id"), d.QuoteIdent("type"), d.QuoteIdent("data"),
		d.Literal(id), d.Literal(typ), d.Literal(string(data)))
	if _, err := s.DB.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("signal table %s: %w", s.Table, err)
	}
	return nil
}

func (s TableSignaler) Describe() string { return "table " + s.Table }

// KafkaSignaler produces signals to the connector's signal.kafka.topic.
// Debezium reads only messages keyed by its topic.prefix.
type KafkaSignaler struct {
	Client      *kgo.Client
	Topic       string
	TopicPrefix string
}

func (s KafkaSignaler) Signal(ctx context.Context, _, typ string, data []byte) error {
	// On the Kafka channel the record's offset is the signal's id; the
	// value carries only type and data.
	value, err := json.Marshal(struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}{typ, data})
	if err != nil {
		return err
	}
	rec := &kgo.Record{Topic: s.Topic, Key: []byte(s.TopicPrefix), Value: value}
	if err := s.Client.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return fmt.Errorf("signal topic %s: %w", s.Topic, err)
	}
	return nil
}

func (s KafkaSignaler) Describe() string { return "kafka topic " + s.Topic }

// RepairOptions say how differing rows are repaired.
type RepairOptions struct {
	Signaler Signaler
	// DataCollection is the table as the source connector names it.
	DataCollection string
	// DeleteExtra deletes rows that exist only in the target. Without it
	// they are reported only: a re-snapshot cannot delete them. What
	// guards it is deleteExtra's to say.
	DeleteExtra bool
	// MaxDeletes caps the rows one repair deletes (DefaultMaxDeletes
	// when 0); above it nothing is deleted. Table.Run passes the
	// table's configured cap, or the caller's lower one (DeleteCap).
	MaxDeletes int
	// MinSourceRatio refuses deleting when the source compared fewer
	// rows than this share of the target's (0: only an empty source is
	// refused). Table.Run passes the table's repair.min_source_ratio.
	MinSourceRatio float64
	// Retained, when not empty, says why the pipeline keeps rows the
	// source deleted (skipped.operations with d, a sink that does not
	// apply deletes): target-only rows are then retained history, not
	// extra, and deleting them is refused.
	Retained string
	// DryRun decides everything and changes nothing: no signal is sent,
	// no row deleted; the result lists what would be.
	DryRun bool
	// BeforeDelete, when set, is shown the keys about to be deleted
	// (those still only in the target when checked again) before any is.
	BeforeDelete func(keys []sqldialect.Key)
	// MaxSignalBytes bounds one signal's data (the demo signal table's
	// data column is varchar(2048)); larger key sets are split.
	MaxSignalBytes int
}

// DefaultMaxDeletes is how many target-only rows one repair deletes at
// most unless told otherwise: deleting is the one repair that cannot be
// undone by re-sending from the source.
const DefaultMaxDeletes = config.DefaultMaxDeletes

// RepairResult is what a repair did.
type RepairResult struct {
	Channel     string   `json:"channel"`
	Signals     []string `json:"signal_ids"`
	RowsResent  int      `json:"rows_resent"`
	RowsDeleted int      `json:"rows_deleted"`
	// DeletedKeys are the keys of the rows deleted from the target.
	DeletedKeys []sqldialect.Key `json:"deleted_keys,omitempty"`
	// ExtraSkipped counts target-only rows not deleted because, checked
	// again just before, they were in the source by then (unfiltered:
	// see ExtraAtSource) or gone from the target.
	ExtraSkipped int `json:"extra_skipped,omitempty"`
	// ExtraAtSource are the target-only rows whose key exists at the
	// source, outside the source's filter or arrived since the
	// comparison: re-sent with the missing and changed rows, never
	// deleted.
	ExtraAtSource []sqldialect.Key `json:"extra_at_source,omitempty"`
	// DryRun is set when nothing was done; WouldDelete then lists the
	// rows a real repair would delete, and RowsResent counts the rows
	// it would re-send.
	DryRun      bool             `json:"dry_run,omitempty"`
	WouldDelete []sqldialect.Key `json:"would_delete,omitempty"`
	// Deduplicated are the keys of which the target held surplus
	// copies; CopiesDeleted (WouldDeleteCopies on a dry run) counts the
	// copies deleted, one copy of each key always kept: the one equal to
	// the source's row when there is one, else one that is re-sent
	// (DuplicatesResent).
	Deduplicated      []sqldialect.Key `json:"deduplicated_keys,omitempty"`
	CopiesDeleted     int              `json:"duplicate_copies_deleted,omitempty"`
	WouldDeleteCopies int              `json:"would_delete_copies,omitempty"`
	DuplicatesResent  []sqldialect.Key `json:"duplicates_resent,omitempty"`
	// Progress is how far the repair's snapshots got, when the reconcile
	// command waited for them (the runner's job shows it as
	// repair_progress instead).
	Progress *RepairProgress `json:"progress,omitempty"`
	// follow is where the repair's snapshots are followed from
	// (Follower).
	follow *follow
}

// Repair re-sends the report's missing and changed rows through an
// incremental snapshot limited to their keys, and deletes target-only
// rows when asked to. Deleting is decided first: when it is refused,
// nothing at all is done.
func Repair(ctx context.Context, plan *sqldialect.Plan, rep *Report, o RepairOptions) (*RepairResult, error) {
	if rep.Truncated {
		return nil, fmt.Errorf("repair of %s: the report was truncated; raise the reported-row limit or repair in parts", rep.Table)
	}
	if o.MaxSignalBytes <= 0 {
		o.MaxSignalBytes = 2000
	}
	res := &RepairResult{DryRun: o.DryRun}
	if o.DeleteExtra && len(rep.ExtraInTarget)+len(rep.DuplicateInTarget) > 0 {
		if err := deleteTargetRows(ctx, plan, rep, o, res); err != nil {
			return res, fmt.Errorf("repair of %s: %w", rep.Table, err)
		}
	}
	resend := slices.Concat(rep.MissingInTarget, rep.Changed)
	if o.Signaler != nil {
		// Without a channel they stay reported in extra_at_source and
		// duplicates_resent.
		resend = slices.Concat(resend, res.ExtraAtSource, res.DuplicatesResent)
	}
	if len(resend) > 0 {
		if o.Signaler == nil {
			return res, fmt.Errorf("repair of %s: no signal channel configured (tables[].signal)", rep.Table)
		}
		res.Channel = o.Signaler.Describe()
		keyCols := plan.KeyCols(plan.SourceCols)
		filters, err := Filters(plan.Source.Dialect, keyCols, resend, o.DataCollection, o.MaxSignalBytes)
		if err != nil {
			return res, err
		}
		res.RowsResent = len(resend)
		if o.DryRun {
			return res, nil
		}
		for _, f := range filters {
			id := newSignalID()
			data := SnapshotSignal(o.DataCollection, f)
			sctx, span := tracing.Start(ctx, "repair signal", attribute.String("signal.id", id),
				attribute.String("signal.channel", res.Channel), attribute.String("data_collection", o.DataCollection))
			err := o.Signaler.Signal(sctx, id, "execute-snapshot", data)
			tracing.End(span, err)
			if err != nil {
				return res, fmt.Errorf("repair of %s: %w", rep.Table, err)
			}
			res.Signals = append(res.Signals, id)
		}
	}
	return res, nil
}

// deleteTargetRows is the one path that deletes target rows (target-only
// rows, and surplus copies of a duplicated key), and so the home of every
// check a careful DBA makes first. Nothing is deleted (and an error says
// why) when:
//
//   - the pipeline keeps the source's deletes by design (o.Retained):
//     target-only rows are history, not extra;
//   - a key column does not round-trip exactly between the engines
//     (sqldialect.Plan.ExactKeys);
//   - the source compared no rows, or fewer than o.MinSourceRatio of the
//     target's, or holds no row at all when checked again: a truncated
//     source or a DSN naming the wrong database looks like that;
//   - reading the source fails at any point (a failed comparison never
//     reaches here; the reads below fail the repair);
//   - more rows would go than o.MaxDeletes.
//
// And whatever the filters or soft deletes say, a target row is deleted
// only when its key is absent from the whole source table, looked up
// without the filter just before deleting: a row that left the source
// filter's scope is re-sent instead (res.ExtraAtSource), never deleted.
// Of a duplicated key, one copy always stays (surplusCopies).
func deleteTargetRows(ctx context.Context, plan *sqldialect.Plan, rep *Report, o RepairOptions, res *RepairResult) error {
	refuse := func(format string, args ...any) error {
		return fmt.Errorf("target-only rows are not deleted, nothing was done: "+format, args...)
	}
	if o.Retained != "" {
		return refuse("the pipeline does not propagate deletes (%s), so rows only in the target are retained history, not extra", o.Retained)
	}
	if err := plan.ExactKeys(); err != nil {
		return refuse("%w", err)
	}
	if rep.RowsSource == 0 {
		return refuse("the source compared no rows while the target has %d: an empty or truncated source, or a DSN naming the wrong database", rep.RowsTarget)
	}
	if o.MinSourceRatio > 0 && float64(rep.RowsSource) < o.MinSourceRatio*float64(rep.RowsTarget) {
		return refuse("the source compared %d rows, fewer than %g of the target's %d (repair.min_source_ratio): a truncated source looks like that", rep.RowsSource, o.MinSourceRatio, rep.RowsTarget)
	}
	if err := sourceHoldsRows(ctx, plan.Source); err != nil {
		return refuse("%w", err)
	}
	var keys []sqldialect.Key
	for part := range slices.Chunk(rep.ExtraInTarget, 1000) {
		gone, atSource, err := stillExtra(ctx, plan, part)
		if err != nil {
			return refuse("%w", err)
		}
		keys = append(keys, gone...)
		res.ExtraAtSource = append(res.ExtraAtSource, atSource...)
	}
	res.ExtraSkipped = len(rep.ExtraInTarget) - len(keys)
	copies, err := allSurplusCopies(ctx, plan, rep.DuplicateInTarget, res)
	if err != nil {
		return refuse("%w", err)
	}
	limit := o.MaxDeletes
	if limit <= 0 {
		limit = DefaultMaxDeletes
	}
	if n := len(keys) + copies.count(); n > limit {
		return refuse("%d target rows would go (%d target-only, %d surplus copies), more than the %d one repair may delete (review the report's extra_in_target and duplicate_in_target; the cap is tables[].repair.max_deletes)", n, len(keys), copies.count(), limit)
	}
	if o.DryRun {
		res.WouldDelete, res.WouldDeleteCopies = keys, copies.count()
		return nil
	}
	if copies.count() > 0 {
		if err := deleteCopies(ctx, plan, copies, res); err != nil {
			return err
		}
	}
	if len(keys) == 0 {
		return nil
	}
	if o.BeforeDelete != nil {
		o.BeforeDelete(keys)
	}
	tgt := plan.Target
	keyCols, names := plan.KeyCols(plan.TargetCols), plan.KeyNames()
	for start := 0; start < len(keys); start += 500 {
		part := keys[start:min(start+500, len(keys))]
		cond, err := filter(tgt.Dialect, keyCols, names, part)
		if err != nil {
			return err
		}
		r, err := tgt.DB.ExecContext(ctx, "DELETE FROM "+tgt.Dialect.QuoteTable(tgt.Table)+" WHERE "+tgt.Where(cond))
		if err != nil {
			return fmt.Errorf("deleting target-only rows: %w", err)
		}
		n, _ := r.RowsAffected()
		res.RowsDeleted += int(n)
		res.DeletedKeys = append(res.DeletedKeys, part...)
	}
	return nil
}

// surplus names the surplus copies of duplicated keys to delete: by
// physical row id on PostgreSQL (its ctid), elsewhere by content, as so
// many copies of a key holding one row hash (SQL Server has no row id a
// statement may name).
type surplus struct {
	rids   []string
	groups []copyGroup
}

// copyGroup is n copies of key whose row hash is h, to delete.
type copyGroup struct {
	key sqldialect.Key
	h   rowhash.Hash
	n   int
}

func (s surplus) count() int {
	n := len(s.rids)
	for _, g := range s.groups {
		n += g.n
	}
	return n
}

// allSurplusCopies is surplusCopies over every duplicated key, 1000 at a
// time, recording in res the keys deduplicated and re-sent.
func allSurplusCopies(ctx context.Context, plan *sqldialect.Plan, dups []sqldialect.Key, res *RepairResult) (surplus, error) {
	var copies surplus
	for part := range slices.Chunk(dups, 1000) {
		found, dedup, resend, err := surplusCopies(ctx, plan, part)
		if err != nil {
			return copies, err
		}
		copies.rids = append(copies.rids, found.rids...)
		copies.groups = append(copies.groups, found.groups...)
		res.Deduplicated = append(res.Deduplicated, dedup...)
		res.DuplicatesResent = append(res.DuplicatesResent, resend...)
	}
	return copies, nil
}

// surplusCopies reads every target copy of the duplicated keys (within
// the target's scope) and the source's row of each, and names the copies
// to delete: all but one per key, keeping a copy equal to the source's
// row when there is one; when none is, the kept copy is re-sent (resend).
// A key the source no longer has, or the target no longer duplicates, is
// left alone. On PostgreSQL copies are named by ctid; on SQL Server by
// their row hash, so many of each (identical copies are interchangeable,
// and copies that differ have different hashes).
func surplusCopies(ctx context.Context, plan *sqldialect.Plan, keys []sqldialect.Key) (found surplus, dedup, resend []sqldialect.Key, err error) {
	tgt := plan.Target
	_, byRowID := tgt.Dialect.(sqldialect.Postgres)
	if _, ok := tgt.Dialect.(sqldialect.SQLServer); !ok && !byRowID {
		return found, nil, nil, fmt.Errorf("surplus copies of a duplicated key are deleted on PostgreSQL and SQL Server targets only; the target is %s", tgt.Dialect.Name())
	}
	byKey, keyOf, err := targetCopies(ctx, plan, keys, byRowID)
	if err != nil || len(byKey) == 0 {
		return found, nil, nil, err
	}
	encs := slices.Sorted(maps.Keys(byKey))
	atSource, err := sourceHashes(ctx, plan, encs)
	if err != nil {
		return found, nil, nil, err
	}
	for _, enc := range encs {
		copies := byKey[enc]
		want, ok := atSource[enc]
		if !ok || len(copies) < 2 {
			continue
		}
		keep := slices.IndexFunc(copies, func(c targetCopy) bool { return c.h == want })
		if keep < 0 {
			keep = 0
			resend = append(resend, keyOf[enc])
		}
		dedup = append(dedup, keyOf[enc])
		if byRowID {
			for i, c := range copies {
				if i != keep {
					found.rids = append(found.rids, c.rid)
				}
			}
			continue
		}
		found.groups = append(found.groups, byHash(keyOf[enc], copies, keep)...)
	}
	return found, dedup, resend, nil
}

// targetCopy is one target row of a duplicated key: its physical row id
// (PostgreSQL's ctid; empty elsewhere) and its hash.
type targetCopy struct {
	rid string
	h   rowhash.Hash
}

// targetCopies reads the target's rows of keys, within its scope, by
// encoded key, with each key as the report names it.
func targetCopies(ctx context.Context, plan *sqldialect.Plan, keys []sqldialect.Key, byRowID bool) (map[string][]targetCopy, map[string]sqldialect.Key, error) {
	tgt := plan.Target
	tk, names := plan.KeyCols(plan.TargetCols), plan.KeyNames()
	cond, err := filter(tgt.Dialect, tk, names, keys)
	if err != nil {
		return nil, nil, err
	}
	rid := "ctid::text AS rid"
	if !byRowID {
		rid = "'' AS rid"
	}
	extra := []string{rid, tgt.Dialect.Encode(tk) + " AS kenc"}
	for j, c := range tk {
		extra = append(extra, fmt.Sprintf("%s AS k%d", tgt.Dialect.Text(c), j))
	}
	byKey := map[string][]targetCopy{}
	keyOf := map[string]sqldialect.Key{}
	rows, err := tgt.DB.QueryContext(ctx, tgt.Dialect.Hashed(tgt.Table, plan.TargetCols, extra, tgt.Where(cond)))
	if err != nil {
		return nil, nil, fmt.Errorf("duplicated rows, read again: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c targetCopy
		var kenc string
		texts := make([]sql.NullString, len(tk))
		dest := []any{&c.rid, &kenc}
		for i := range texts {
			dest = append(dest, &texts[i])
		}
		if err := rows.Scan(append(dest, &c.h.A, &c.h.B)...); err != nil {
			return nil, nil, fmt.Errorf("duplicated rows, read again: %w", err)
		}
		byKey[kenc] = append(byKey[kenc], c)
		keyOf[kenc] = keyOfTexts(tk, names, texts)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("duplicated rows, read again: %w", err)
	}
	return byKey, keyOf, nil
}

// sourceHashes looks the encoded keys up in the whole source table,
// unfiltered as for target-only rows (what the source holds), and
// returns the hash of each row found.
func sourceHashes(ctx context.Context, plan *sqldialect.Plan, encs []string) (map[string]rowhash.Hash, error) {
	src, sk := plan.Source, plan.KeyCols(plan.SourceCols)
	look, err := sqldialect.Lookup(src.Dialect, sk, encs)
	if err != nil {
		return nil, err
	}
	rows, err := src.DB.QueryContext(ctx, src.Dialect.Hashed(src.Table, plan.SourceCols, []string{src.Dialect.Encode(sk) + " AS kenc"}, look))
	if err != nil {
		return nil, fmt.Errorf("duplicated rows, looked up in the source: %w", err)
	}
	defer rows.Close()
	out := map[string]rowhash.Hash{}
	for rows.Next() {
		var kenc string
		var h rowhash.Hash
		if err := rows.Scan(&kenc, &h.A, &h.B); err != nil {
			return nil, fmt.Errorf("duplicated rows, looked up in the source: %w", err)
		}
		out[kenc] = h
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("duplicated rows, looked up in the source: %w", err)
	}
	return out, nil
}

// byHash groups a key's copies by hash, in the order first read, each
// group counting the copies to delete: all of it, but one of the kept
// copy's.
func byHash(key sqldialect.Key, copies []targetCopy, keep int) []copyGroup {
	var groups []copyGroup
	for i, c := range copies {
		g := slices.IndexFunc(groups, func(g copyGroup) bool { return g.h == c.h })
		if g < 0 {
			groups = append(groups, copyGroup{key: key, h: c.h})
			g = len(groups) - 1
		}
		if i != keep {
			groups[g].n++
		}
	}
	return slices.DeleteFunc(groups, func(g copyGroup) bool { return g.n == 0 })
}

// deleteCopies deletes the surplus copies: on PostgreSQL by row id, 500
// at a time, only rows of the deduplicated keys (a copy updated since it
// was read has another id and is left alone); on SQL Server so many
// copies of a key holding a hash, one statement each (a copy updated
// since it was read no longer holds it). Either way a key never loses
// its last copy.
func deleteCopies(ctx context.Context, plan *sqldialect.Plan, copies surplus, res *RepairResult) error {
	tgt := plan.Target
	keyCols, names := plan.KeyCols(plan.TargetCols), plan.KeyNames()
	exec := func(q string) error {
		r, err := tgt.DB.ExecContext(ctx, q)
		if err != nil {
			return fmt.Errorf("deleting surplus copies of duplicated keys: %w", err)
		}
		n, _ := r.RowsAffected()
		res.CopiesDeleted += int(n)
		res.RowsDeleted += int(n)
		return nil
	}
	if len(copies.rids) > 0 {
		keyCond, err := filter(tgt.Dialect, keyCols, names, res.Deduplicated)
		if err != nil {
			return err
		}
		for part := range slices.Chunk(copies.rids, 500) {
			lits := make([]string, len(part))
			for i, rid := range part {
				lits[i] = tgt.Dialect.Literal(rid) + "::tid"
			}
			if err := exec("DELETE FROM " + tgt.Dialect.QuoteTable(tgt.Table) + " WHERE ctid IN (" + strings.Join(lits, ", ") + ") AND (" + keyCond + ")"); err != nil {
				return err
			}
		}
	}
	for _, g := range copies.groups {
		ss, ok := tgt.Dialect.(sqldialect.SQLServer)
		if !ok {
			return fmt.Errorf("surplus copies by row hash on a %s target", tgt.Dialect.Name())
		}
		keyCond, err := filter(tgt.Dialect, keyCols, names, []sqldialect.Key{g.key})
		if err != nil {
			return err
		}
		if err := exec(ss.DeleteCopies(tgt.Table, plan.TargetCols, tgt.Where(keyCond), g.h, g.n)); err != nil {
			return err
		}
	}
	return nil
}

// sourceHoldsRows fails unless the source table, unfiltered, holds at
// least one row now: a source emptied since the comparison must not make
// every target row look deletable.
func sourceHoldsRows(ctx context.Context, src sqldialect.Side) error {
	var n int
	q := "SELECT CASE WHEN EXISTS (SELECT 1 FROM " + src.Dialect.QuoteTable(src.Table) + ") THEN 1 ELSE 0 END"
	if err := src.DB.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return fmt.Errorf("the source could not be read again: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("the source table %s holds no rows now", src.Table)
	}
	return nil
}

// stillExtra reads keys (target text forms) again from the target, by
// their own values, within its scope, and splits those still there by
// whether the whole source table, unfiltered, has their key: gone
// (deletable) or atSource (never deleted).
func stillExtra(ctx context.Context, plan *sqldialect.Plan, keys []sqldialect.Key) (gone, atSource []sqldialect.Key, err error) {
	tgt, src := plan.Target, plan.Source
	tk, sk, names := plan.KeyCols(plan.TargetCols), plan.KeyCols(plan.SourceCols), plan.KeyNames()
	cond, err := filter(tgt.Dialect, tk, names, keys)
	if err != nil {
		return nil, nil, err
	}
	sel := tgt.Dialect.Encode(tk)
	for _, c := range tk {
		sel += ", " + tgt.Dialect.Text(c)
	}
	rows, err := tgt.DB.QueryContext(ctx, "SELECT "+sel+" FROM "+tgt.Dialect.QuoteTable(tgt.Table)+" WHERE "+tgt.Where(cond))
	if err != nil {
		return nil, nil, fmt.Errorf("target-only rows, read again: %w", err)
	}
	inTarget := map[string]sqldialect.Key{}
	for rows.Next() {
		var enc string
		texts := make([]sql.NullString, len(tk))
		dest := []any{&enc}
		for i := range texts {
			dest = append(dest, &texts[i])
		}
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("target-only rows, read again: %w", err)
		}
		inTarget[enc] = keyOfTexts(tk, names, texts)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("target-only rows, read again: %w", err)
	}
	encs := slices.Sorted(maps.Keys(inTarget))
	found := map[string]bool{}
	if len(encs) > 0 {
		look, err := sqldialect.Lookup(src.Dialect, sk, encs)
		if err != nil {
			return nil, nil, err
		}
		// Not src.Where: the filter scopes what is compared, not what
		// exists. A row whose filter column changed at the source is
		// still there.
		rows, err := src.DB.QueryContext(ctx, "SELECT "+src.Dialect.Encode(sk)+" FROM "+src.Dialect.QuoteTable(src.Table)+" WHERE "+look)
		if err != nil {
			return nil, nil, fmt.Errorf("target-only rows, looked up in the source: %w", err)
		}
		for rows.Next() {
			var enc string
			if err := rows.Scan(&enc); err != nil {
				rows.Close()
				return nil, nil, fmt.Errorf("target-only rows, looked up in the source: %w", err)
			}
			found[enc] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, fmt.Errorf("target-only rows, looked up in the source: %w", err)
		}
	}
	for _, enc := range encs {
		if found[enc] {
			atSource = append(atSource, inTarget[enc])
		} else {
			gone = append(gone, inTarget[enc])
		}
	}
	return gone, atSource, nil
}

// keyOfTexts is a key read back as text from a side whose key columns
// are cols, named as the report names them (names: the source's).
func keyOfTexts(cols []sqldialect.Column, names []string, texts []sql.NullString) sqldialect.Key {
	k := sqldialect.Key{}
	for i, c := range cols {
		if texts[i].Valid {
			k[names[i]] = sqldialect.KeyValue(c, texts[i].String)
		}
	}
	return k
}

// newSignalID is a random UUID: 36 characters fit the varchar(42) id
// column of Debezium's documented signal table.
func newSignalID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// SnapshotSignal is the data of an execute-snapshot signal re-reading the
// rows of collection that match filter.
func SnapshotSignal(collection, filter string) []byte {
	type cond struct {
		DataCollection string `json:"data-collection"`
		Filter         string `json:"filter"`
	}
	b, _ := json.Marshal(struct {
		DataCollections      []string `json:"data-collections"`
		Type                 string   `json:"type"`
		AdditionalConditions []cond   `json:"additional-conditions"`
	}{[]string{collection}, "incremental", []cond{{collection, filter}}})
	return b
}

// Filters builds SQL conditions in the source's dialect naming keys,
// split so each signal's data stays within maxBytes. A single integer key
// is compressed into ranges (id BETWEEN 5 AND 90).
func Filters(d sqldialect.Dialect, keyCols []sqldialect.Column, keys []sqldialect.Key, collection string, maxBytes int) ([]string, error) {
	names := make([]string, len(keyCols))
	for i, c := range keyCols {
		names[i] = c.Name
	}
	terms, err := keyTerms(d, keyCols, names, keys)
	if err != nil {
		return nil, err
	}
	overhead := len(SnapshotSignal(collection, ""))
	var out []string
	var cur []string
	size := overhead
	for _, t := range terms {
		// Sizes as they appear in the JSON data: quotes are escaped.
		esc, _ := json.Marshal(t)
		add := len(esc) - 2 + 4 // " OR "
		if len(cur) > 0 && size+add > maxBytes {
			out = append(out, strings.Join(cur, " OR "))
			cur, size = nil, overhead
		}
		if overhead+add-4 > maxBytes {
			return nil, fmt.Errorf("a key condition (%d bytes) does not fit a signal of %d bytes", add-4, maxBytes)
		}
		cur = append(cur, t)
		size += add
	}
	if len(cur) > 0 {
		out = append(out, strings.Join(cur, " OR "))
	}
	return out, nil
}

// filter is the condition naming keys on a side whose key columns are
// keyCols; names are the columns' names in the keys (the source's: a sink
// may have folded their case).
func filter(d sqldialect.Dialect, keyCols []sqldialect.Column, names []string, keys []sqldialect.Key) (string, error) {
	terms, err := keyTerms(d, keyCols, names, keys)
	if err != nil {
		return "", err
	}
	return strings.Join(terms, " OR "), nil
}

func keyTerms(d sqldialect.Dialect, keyCols []sqldialect.Column, names []string, keys []sqldialect.Key) ([]string, error) {
	if len(keyCols) == 1 && keyCols[0].Kind == rowhash.KindInt {
		col := d.QuoteIdent(keyCols[0].Name)
		ids := make([]int64, 0, len(keys))
		for _, k := range keys {
			n, err := strconv.ParseInt(fmt.Sprint(k[names[0]]), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("key %v: %s is not an integer", k, names[0])
			}
			ids = append(ids, n)
		}
		return intRanges(col, ids), nil
	}
	terms := make([]string, 0, len(keys))
	for _, k := range keys {
		parts := make([]string, len(keyCols))
		for i, c := range keyCols {
			v, ok := k[names[i]]
			if !ok || v == nil {
				return nil, fmt.Errorf("key %v: no value for %s", k, names[i])
			}
			lit, err := sqldialect.KeyLiteral(d, c, v)
			if err != nil {
				return nil, err
			}
			parts[i] = d.QuoteIdent(c.Name) + " = " + lit
		}
		terms = append(terms, "("+strings.Join(parts, " AND ")+")")
	}
	return terms, nil
}

// intRanges turns sorted-or-not ids into "col IN (...)" and
// "col BETWEEN a AND b" terms.
func intRanges(col string, ids []int64) []string {
	sorted := append([]int64{}, ids...)
	slices.Sort(sorted)
	var terms, singles []string
	flush := func() {
		if len(singles) > 0 {
			terms = append(terms, col+" IN ("+strings.Join(singles, ",")+")")
			singles = nil
		}
	}
	for i := 0; i < len(sorted); {
		j := i
		for j+1 < len(sorted) && sorted[j+1] <= sorted[j]+1 {
			j++
		}
		if sorted[j]-sorted[i] >= 2 {
			terms = append(terms, fmt.Sprintf("%s BETWEEN %d AND %d", col, sorted[i], sorted[j]))
		} else {
			for k := i; k <= j; k++ {
				if k == i || sorted[k] != sorted[k-1] {
					singles = append(singles, strconv.FormatInt(sorted[k], 10))
				}
			}
			if len(singles) >= 50 {
				flush()
			}
		}
		i = j + 1
	}
	flush()
	return terms
}
