package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/reconcile"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/wiring"
)

type reconcileFlags struct {
	table       string
	output      string
	repair      bool
	wait        bool
	poll        time.Duration
	deleteExtra bool
	maxDeletes  int
	dryRun      bool
	parallel    int
	scanPar     int
	maxReported int
	progress    string
	timeout     time.Duration
}

func addReconcile(a *kingpin.Application, g *globals) {
	f := &reconcileFlags{}
	cmd := a.Command("reconcile", "Compare every row of a table between source and target; optionally repair the differences through the source connector's signal channel."+exitHelp+" Differing rows are a finding (1) unless --repair re-sent them.")
	cmd.Flag("table", "Configured table name (tables[].name).").Required().StringVar(&f.table)
	outputFlag(cmd, &f.output)
	g.logFlags(cmd)
	cmd.Flag("repair", "Re-send missing and changed rows with a Debezium incremental snapshot limited to their keys.").BoolVar(&f.repair)
	cmd.Flag("wait", "With --repair, wait until the repair's incremental snapshots complete, as the source connector's notifications report them (up to tables[].signal.repair_timeout); a repair that fails, is aborted or does not complete in time exits 1.").BoolVar(&f.wait)
	cmd.Flag("wait-poll", "With --wait, how often the notification topic is read.").Default("1s").Hidden().DurationVar(&f.poll)
	cmd.Flag("delete-extra", "With --repair, also delete rows that exist only in the target (refused when a key column cannot round-trip exactly between the engines; lists the keys before deleting).").BoolVar(&f.deleteExtra)
	cmd.Flag("max-deletes", "Most target-only rows --delete-extra deletes; above it nothing is deleted. 0: the table's repair.max_deletes (default "+strconv.Itoa(reconcile.DefaultMaxDeletes)+"); it can be lowered here, not raised.").Default("0").IntVar(&f.maxDeletes)
	cmd.Flag("dry-run", "With --repair, decide the repair and do nothing: list the rows --delete-extra would delete and count those it would re-send.").BoolVar(&f.dryRun)
	cmd.Flag("parallel", "Segments compared at once (each runs one query per side).").Default("2").IntVar(&f.parallel)
	cmd.Flag("scan-parallel", "Queries per side for the first full checksum scan; 0: as many as PostgreSQL would use for one parallel scan of the table (max_parallel_workers_per_gather + 1), 1 on SQL Server. Lower it to spare a busy source.").Default("0").IntVar(&f.scanPar)
	cmd.Flag("max-reported", "Most differing rows listed in the report (counts stay exact).").Default("100000").IntVar(&f.maxReported)
	cmd.Flag("progress", "Progress bar on stderr: auto (only on a terminal), always or never.").Default("auto").EnumVar(&f.progress, "auto", "always", "never")
	cmd.Flag("timeout", "The run's own deadline, comparison and repair (not --wait); 0: reconcile.timeout from the configuration (1h by default).").Default("0").DurationVar(&f.timeout)
	g.handle(cmd, func() int { return runReconcile(g, f) })
}

func runReconcile(g *globals, f *reconcileFlags) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(g.stderr, "cdc-sentinel reconcile: "+format+"\n", args...)
		return exitFailed
	}
	usage := func(format string, args ...any) int {
		fmt.Fprintf(g.stderr, "cdc-sentinel reconcile: "+format+"\n", args...)
		return exitUsage
	}
	if err := f.check(); err != nil {
		return usage("%v", err)
	}
	cfg, err := config.Load(g.configFile)
	if err != nil {
		return usage("%v", err)
	}
	tc := cfg.Table(f.table)
	if tc == nil {
		return usage("no table %q in %s (configured: %s)", f.table, g.configFile, strings.Join(tableNames(cfg), ", "))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	table, closeSources, err := openTable(ctx, g, cfg, tc)
	if err != nil {
		return fail("%v", err)
	}
	defer closeSources()
	if _, err := table.DeleteCap(f.maxDeletes); err != nil && f.deleteExtra {
		return usage("--max-deletes: %v", err)
	}
	if f.repair && table.Signaler == nil {
		return usage("table %q has no signal configured: --repair needs tables[].signal (a signal table or Kafka signal topic)", f.table)
	}
	opts := reconcile.Options{Parallel: f.parallel, ScanParallel: f.scanPar, MaxReported: f.maxReported}
	bar := newProgressBar(f.progress, g.stderr)
	if bar != nil {
		opts.Progress = func(p reconcile.Progress) {
			bar.draw(p.Phase, p.Done, p.Total, fmt.Sprintf("%d differing", p.Differing))
		}
	}
	rep, err := table.RunWithin(ctx, cmp.Or(f.timeout, cfg.Reconcile.Timeout), reconcile.StartOptions{Repair: f.repair, Follow: f.wait, DeleteExtra: f.deleteExtra, MaxDeletes: f.maxDeletes, DryRun: f.dryRun,
		BeforeDelete: func(keys []sqldialect.Key) {
			fmt.Fprintf(g.stderr, "cdc-sentinel reconcile: deleting %d target-only rows of %s:\n", len(keys), f.table)
			for _, k := range keys {
				b, _ := json.Marshal(k)
				fmt.Fprintf(g.stderr, "  %s\n", b)
			}
		}}, opts)
	bar.finish()
	if rep == nil {
		if errors.Is(err, context.Canceled) {
			return fail("interrupted")
		}
		return fail("%v", err)
	}
	code := exitOK
	if rep.Differing() > 0 && !f.repair {
		code = exitFailed
	}
	if err != nil { // the repair failed; the report says what it did
		fmt.Fprintf(g.stderr, "cdc-sentinel reconcile: %v\n", err)
		code = exitFailed
	}
	if err == nil && f.wait && !awaitRepair(ctx, g, f, rep) {
		code = exitFailed
	}
	if err := writeReport(g.stdout, f.output, rep); err != nil {
		return fail("%v", err)
	}
	return code
}

// openTable opens the databases (waiting for the table's two pools) and
// the Connect clients, and the table as reconcile compares it over them;
// closeSources closes the databases.
func openTable(ctx context.Context, g *globals, cfg *config.Config, tc *config.Table) (table reconcile.Table, closeSources func(), err error) {
	sources, err := wiring.OpenSources(ctx, cfg, wiring.Deps{Logger: g.logger()})
	if err != nil {
		return reconcile.Table{}, nil, err
	}
	defer func() {
		if err != nil {
			sources.Close()
		}
	}()
	for _, name := range []string{tc.Source.Database, tc.Target.Database} {
		if err := sources.DBs[name].WaitForPool(ctx, 30*time.Second); err != nil {
			return reconcile.Table{}, nil, fmt.Errorf("database %s: %w", name, err)
		}
	}
	clusters, _, err := wiring.ConnectClients(cfg, "cdc-sentinel/"+version.Version)
	if err != nil {
		return reconcile.Table{}, nil, err
	}
	table, err = wiring.ReconcileTable(cfg, *tc, sources, clusters)
	if err != nil {
		return reconcile.Table{}, nil, err
	}
	return table, sources.Close, nil
}

// awaitRepair follows the repair rep sent to its end (--wait) and says
// whether it completed; true when it sent nothing to wait for.
func awaitRepair(ctx context.Context, g *globals, f *reconcileFlags, rep *reconcile.Report) bool {
	p := waitForRepair(ctx, f, rep.Repair, newProgressBar(f.progress, g.stderr))
	if p == nil {
		return true
	}
	rep.Repair.Progress = p
	switch {
	case !p.Final():
		fmt.Fprintf(g.stderr, "cdc-sentinel reconcile: stopped waiting for the repair (%s so far); its snapshots go on in the source connector\n", p.Status)
		return false
	case p.Status != reconcile.RepairCompleted:
		fmt.Fprintf(g.stderr, "cdc-sentinel reconcile: the repair %s: %s\n", p.Status, p.Error)
		return false
	}
	return true
}

// check refuses flag combinations that make no sense, before anything
// is opened.
func (f *reconcileFlags) check() error {
	switch {
	case f.maxDeletes < 0:
		return fmt.Errorf("--max-deletes must be a number of rows (0: the table's repair.max_deletes), not %d", f.maxDeletes)
	case f.dryRun && !f.repair:
		return errors.New("--dry-run needs --repair")
	case f.dryRun && f.wait:
		return errors.New("--dry-run sends nothing to wait for: drop --wait")
	case f.deleteExtra && !f.repair:
		return errors.New("--delete-extra needs --repair")
	case f.wait && !f.repair:
		return errors.New("--wait needs --repair")
	case f.poll <= 0:
		return fmt.Errorf("--wait-poll must be positive, not %s", f.poll)
	case f.scanPar < 0:
		return fmt.Errorf("--scan-parallel must be 0 (automatic) or a number of queries per side, not %d", f.scanPar)
	case f.timeout < 0:
		return fmt.Errorf("--timeout must be positive, or 0 for reconcile.timeout, not %s", f.timeout)
	}
	return nil
}

// waitForRepair follows the repair's snapshots until they end, ctx is
// done or the table's repair_timeout passes, drawing their progress; it
// returns the last progress, nil when the repair sent no signal (nothing
// was re-sent, so nothing is awaited).
func waitForRepair(ctx context.Context, f *reconcileFlags, res *reconcile.RepairResult, bar *progressBar) *reconcile.RepairProgress {
	fw := res.Follower(nil)
	if fw == nil {
		return nil
	}
	draw := func(p reconcile.RepairProgress) {
		bar.draw("repair", p.SnapshotsCompleted, p.Snapshots, fmt.Sprintf("%s, %d rows re-sent", p.Status, p.RowsScanned))
	}
	draw(fw.Progress())
	p := fw.Follow(ctx, f.poll, func(p reconcile.RepairProgress, _ int64, _ []error) { draw(p) })
	bar.finish()
	return &p
}

func tableNames(cfg *config.Config) []string {
	names := make([]string, 0, len(cfg.Tables))
	for _, t := range cfg.Tables {
		names = append(names, t.Name)
	}
	return names
}

// writeReport writes the report as -o asks: JSON (everything, for
// programs) or text.
func writeReport(w io.Writer, output string, rep *reconcile.Report) error {
	if output != "json" {
		rep.WriteText(w)
		return nil
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
