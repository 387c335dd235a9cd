package main

import (
	"cmp"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// guardedTables makes a source and a target database of their own, each
// with table t (the source's rows first, then the target's), and a
// configuration whose table t deletes at most maxDeletes rows.
func guardedTables(t *testing.T, source, target string, maxDeletes int) (cfg string, tgt *sql.DB) {
	t.Helper()
	p := testenv.Need(t)
	dsns := []string{testenv.TempDatabase(t, "guard_src"), testenv.TempDatabase(t, "guard_tgt")}
	var dbs []*sql.DB
	for i, fill := range []string{source, target} {
		db, err := sql.Open("pgx", dsns[i])
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := db.Exec("CREATE TABLE public.t (id int PRIMARY KEY, note text); CREATE TABLE public.debezium_signal (id text PRIMARY KEY, type text, data text); " + fill); err != nil {
			t.Fatal(err)
		}
		dbs = append(dbs, db)
	}
	// The signal's connector is the pipeline's source, only read.
	return writeFile(t, t.TempDir(), "cdc-sentinel.yml", fmt.Sprintf(`connect_clusters:
  - {name: local, url: '%s'}
databases:
  - {name: s, driver: postgres, dsn: '%s'}
  - {name: t, driver: postgres, dsn: '%s'}
tables:
  - name: t
    source: {database: s, table: public.t}
    target: {database: t, table: public.t}
    signal: {connector: '%s', table: public.debezium_signal, data_collection: public.t}
    repair: {max_deletes: %d}
`, p.ConnectURL, dsns[0], dsns[1], cmp.Or(p.Env["CDC_SOURCE_CONNECTOR"], "demo-source"), maxDeletes)), dbs[1]
}

func countRows(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM public.t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// What the red team did from the command line: an empty source and a
// target of 52 rows. The command exits 1 naming why and deletes nothing.
func TestReconcileDeleteExtraFromAnEmptySourceExitsOneDeletingNothing(t *testing.T) {
	cfg, tgt := guardedTables(t, "", "INSERT INTO public.t SELECT g, 'n' FROM generate_series(1, 52) g", 1000)
	_, stderr, code := runBinary(t, "reconcile", "--config.file="+cfg, "--table=t", "--repair", "--delete-extra", "--progress=never")
	if code != 1 || !strings.Contains(stderr, "nothing was done") || !strings.Contains(stderr, "the source compared no rows while the target has 52") {
		t.Errorf("exit %d, stderr %q; want 1 naming the empty source", code, stderr)
	}
	if n := countRows(t, tgt); n != 52 {
		t.Errorf("the target holds %d rows, want its 52", n)
	}
}

// More target-only rows than the table's cap: exit 1 naming the cap, and
// asking for a higher cap is a usage error; nothing is deleted either way.
// A dry run lists what a repair would delete.
func TestReconcileDeleteExtraAboveTheCapDeletesNothing(t *testing.T) {
	cfg, tgt := guardedTables(t, "INSERT INTO public.t SELECT g, 'n' FROM generate_series(1, 10) g",
		"INSERT INTO public.t SELECT g, 'n' FROM generate_series(1, 13) g", 2)
	_, stderr, code := runBinary(t, "reconcile", "--config.file="+cfg, "--table=t", "--repair", "--delete-extra", "--progress=never")
	if code != 1 || !strings.Contains(stderr, "3 target rows would go") || !strings.Contains(stderr, "more than the 2 one repair may delete") {
		t.Errorf("exit %d, stderr %q; want 1 naming the cap", code, stderr)
	}
	_, stderr, code = runBinary(t, "reconcile", "--config.file="+cfg, "--table=t", "--repair", "--delete-extra", "--max-deletes=5", "--progress=never")
	if code != 2 || !strings.Contains(stderr, "max_deletes 5 is above table t's cap of 2") {
		t.Errorf("exit %d, stderr %q; want 2 refusing to raise the cap", code, stderr)
	}
	if n := countRows(t, tgt); n != 13 {
		t.Errorf("the target holds %d rows, want its 13", n)
	}
	cfg, tgt = guardedTables(t, "INSERT INTO public.t SELECT g, 'n' FROM generate_series(1, 10) g",
		"INSERT INTO public.t SELECT g, 'n' FROM generate_series(1, 12) g", 2)
	out, stderr, code := runBinary(t, "reconcile", "--config.file="+cfg, "--table=t", "--repair", "--delete-extra", "--dry-run", "--progress=never")
	if code != 0 || !strings.Contains(out, "2 target-only rows and 0 surplus copies would be deleted") || !strings.Contains(out, `would delete {"id":11}`) || !strings.Contains(out, `would delete {"id":12}`) {
		t.Errorf("dry run: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if n := countRows(t, tgt); n != 12 {
		t.Errorf("a dry run deleted: the target holds %d rows, want its 12", n)
	}
}
