package reconcile

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/tracing"
)

// Run compares the table once, every row, and when o.Repair repairs what
// differs through the table's signal channel. It is what the runner (the
// API and the remediator) and the reconcile command both do. A repair
// that fails returns the report, with what the repair did, and the error.
func (t Table) Run(ctx context.Context, o StartOptions, opts Options) (*Report, error) {
	deleteCap, err := t.DeleteCap(o.MaxDeletes)
	if err != nil && o.DeleteExtra {
		return nil, err
	}
	src, tgt, err := t.Sides()
	if err != nil {
		return nil, err
	}
	plan, err := sqldialect.NewPlan(ctx, src, tgt, t.PlanOptions)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", t.Name, err)
	}
	rep, err := New(t.Name, plan, opts).Run(ctx)
	if err != nil {
		return nil, err
	}
	if o.Repair && rep.Differing() > 0 {
		coll, err := t.dataCollection()
		if err != nil {
			return rep, fmt.Errorf("table %s: %w", t.Name, err)
		}
		rctx, span := tracing.Start(ctx, "repair", attribute.Int("rows_missing", rep.MissingCount), attribute.Int("rows_changed", rep.ChangedCount))
		var fl *follow
		if o.Follow && rep.MissingCount+rep.ChangedCount > 0 && t.Signaler != nil {
			fl = t.markNotifications(rctx, coll)
		}
		ro := RepairOptions{Signaler: t.Signaler, DataCollection: coll, DryRun: o.DryRun,
			DeleteExtra: o.DeleteExtra, MaxDeletes: deleteCap, MinSourceRatio: t.minSourceRatio(), BeforeDelete: o.BeforeDelete}
		if o.DeleteExtra && rep.ExtraCount > 0 && t.Retained != nil {
			// Not knowing is no reason to refuse: Retained says "" when
			// Connect cannot tell. An error is a broken configuration.
			if ro.Retained, err = t.Retained(rctx); err != nil {
				err = fmt.Errorf("repair of %s: target-only rows are not deleted, nothing was done: %w", t.Name, err)
				tracing.End(span, err)
				return rep, err
			}
		}
		res, err := Repair(rctx, plan, rep, ro)
		tracing.End(span, err)
		if res != nil && len(res.Signals) > 0 {
			res.follow = fl
		}
		rep.Repair = res
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// dataCollection is the table as the source connector names it in
// repair signals.
func (t Table) dataCollection() (string, error) {
	if t.DataCollection != "" || t.DataCollectionOf == nil {
		return t.DataCollection, nil
	}
	return t.DataCollectionOf()
}

// DeleteCap is the most target-only rows one repair of the table may
// delete when the caller asks for requested (0: no wish): the table's
// repair.max_deletes, or the caller's lower number. A caller can lower
// the cap, never raise it: asking for more is an error naming the cap.
func (t Table) DeleteCap(requested int) (int, error) {
	limit := cmp.Or(t.Limits.MaxDeletes, config.DefaultMaxDeletes)
	switch {
	case requested < 0:
		return 0, fmt.Errorf("max_deletes must be a number of rows, at least 1, not %d", requested)
	case requested > limit:
		return 0, fmt.Errorf("max_deletes %d is above table %s's cap of %d (tables[].repair.max_deletes): a caller may lower the cap, not raise it", requested, t.Name, limit)
	case requested == 0:
		return limit, nil
	}
	return requested, nil
}

// DeleteCap is Table.DeleteCap for the named table, for callers that
// check a request before starting it (the reconcile API answers 400).
func (r *Runner) DeleteCap(table string, requested int) (int, error) {
	t, ok := r.tables[table]
	if !ok {
		return 0, fmt.Errorf("%w %q", ErrUnknownTable, table)
	}
	return t.DeleteCap(requested)
}

func (t Table) minSourceRatio() float64 {
	if t.Limits.MinSourceRatio == nil {
		return config.DefaultMinSourceRatio
	}
	return *t.Limits.MinSourceRatio
}

// markNotifications notes where the notification topic ends before the
// repair's signals go out, so none of its snapshots' notifications can be
// missed. A repair that cannot be followed still runs; why it cannot is
// shown in its progress.
func (t Table) markNotifications(ctx context.Context, collection string) *follow {
	_, kafkaSignals := t.Signaler.(KafkaSignaler)
	fl := &follow{collection: collection, anyID: kafkaSignals, timeout: cmp.Or(t.RepairTimeout, config.DefaultRepairTimeout)}
	if t.Notifications == nil {
		fl.unavailable = "the table's repairs are not followed (no notification topic known)"
		return fl
	}
	src, err := t.Notifications(ctx)
	if err != nil {
		fl.unavailable = err.Error()
		return fl
	}
	cur, err := src.Mark(ctx)
	if err != nil {
		fl.unavailable = err.Error()
		return fl
	}
	fl.src, fl.cursor = src, cur
	return fl
}

// WriteText writes the report for a terminal: counts, then one line per
// differing row, then what a repair did.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "table %s: %d source rows, %d target rows, %.1fs (%s buckets, %d queries)\n",
		r.Table, r.RowsSource, r.RowsTarget, r.DurationSeconds, r.Mode, r.Queries)
	fmt.Fprintf(w, "missing in target: %d, extra in target: %d, changed: %d, duplicate in target: %d\n", r.MissingCount, r.ExtraCount, r.ChangedCount, r.DuplicateCount)
	for _, e := range r.SchemaMismatch {
		fmt.Fprintf(w, "left out, schema differs: %s: %s\n", e.Column, e.Reason)
	}
	for _, e := range r.NotComparable {
		fmt.Fprintf(w, "left out, not comparable: %s: %s\n", e.Column, e.Reason)
	}
	if r.Differing() > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "KIND\t%s\n", strings.ToUpper(strings.Join(r.Key, "\t")))
		for _, l := range []struct {
			kind string
			keys []sqldialect.Key
		}{{"missing", r.MissingInTarget}, {"extra", r.ExtraInTarget}, {"changed", r.Changed}, {"duplicate", r.DuplicateInTarget}} {
			for _, k := range l.keys {
				vals := make([]string, len(r.Key))
				for i, c := range r.Key {
					vals[i] = fmt.Sprint(k[c])
				}
				fmt.Fprintf(tw, "%s\t%s\n", l.kind, strings.Join(vals, "\t"))
			}
		}
		tw.Flush()
		if r.Truncated {
			fmt.Fprintln(w, "(list truncated: raise --max-reported to see every row)")
		}
	}
	if rp := r.Repair; rp != nil {
		fmt.Fprintf(w, "repair: %d rows re-sent in %d signal(s) through %s; %d target-only rows deleted\n", rp.RowsResent, len(rp.Signals), rp.Channel, rp.RowsDeleted-rp.CopiesDeleted)
		if rp.CopiesDeleted > 0 {
			fmt.Fprintf(w, "repair: %d surplus copies of %d duplicated keys deleted, one copy of each kept\n", rp.CopiesDeleted, len(rp.Deduplicated))
		}
		if rp.DryRun {
			fmt.Fprintf(w, "dry run, nothing done: %d target-only rows and %d surplus copies would be deleted\n", len(rp.WouldDelete), rp.WouldDeleteCopies)
			for _, k := range rp.WouldDelete {
				b, _ := json.Marshal(k)
				fmt.Fprintf(w, "  would delete %s\n", b)
			}
		}
		if p := rp.Progress; p != nil {
			fmt.Fprintf(w, "repair %s: %d of %d snapshots completed, %d rows re-scanned", p.Status, p.SnapshotsCompleted, p.Snapshots, p.RowsScanned)
			if p.FinishedAt != nil {
				fmt.Fprintf(w, " in %s", p.FinishedAt.Sub(p.StartedAt).Round(time.Second))
			}
			if p.Error != "" {
				fmt.Fprintf(w, " (%s)", p.Error)
			}
			fmt.Fprintln(w)
		}
	}
}
