#!/usr/bin/env bash
# Reconcile benchmark: a ROWS-row PostgreSQL↔PostgreSQL table in two
# scratch databases on the local pipeline's PostgreSQL, compared
#   (a) identical and (b) with 100 scattered differences,
# side by side in one run, interleaved REPEAT times, with the baselines:
#   floor       – one full in-database md5 checksum scan of each side, both
#                 sides at once, with PostgreSQL's default parallel plan
#                 (2 workers + leader per side here): what any hash-based
#                 compare must at least do
#   reladiff    – pip install 'reladiff[postgresql]' (0.6.0), same tables
#                 and columns, --skip-sort-results (without it 0.6.0 crashes
#                 in case (b) sorting a changed row whose note is NULL on one
#                 side: "'<' not supported between instances of 'str' and
#                 'NoneType'"; the default is run once in (b) to show it)
#   reladiff-j3 – the same with -j 3 (threads per database), the parallelism
#                 cdc-sentinel and the floor use
# and cdc-sentinel reconcile (wall time and max RSS from /usr/bin/time).
# Ends with medians and each median's ratio to the floor's median.
#
#   bench/reconcile/run.sh setup     # generate (cached between runs)
#   bench/reconcile/run.sh run       # measure
#
# Env: ROWS (10000000), PGURL (postgres://cdc:cdc@127.0.0.1:55432),
# REPEAT (3), SKIP_RELADIFF=1, WORK (/tmp/cdc-sentinel-bench-reconcile),
# BASELINE_REV (a git revision: its cdc-sentinel is built too and measured
# as "baseline" right after each run of this tree's, so a regression shows
# as two ratios to the same floor).
#
# Last run (REPEAT=3, 2 cores shared with other builds, load 4-8; the
# full table and what each change bought are in docs/drift.md
# "Performance"). Medians, ratio to the floor, max RSS:
#   (a) floor 14.04 s; cdc-sentinel 14.88 s 1.06x 27 MB;
#       reladiff 17.03 s 1.21x 36 MB; reladiff -j3 16.94 s 1.21x 37 MB
#   (b) floor 13.97 s; cdc-sentinel 15.49 s 1.11x 34 MB;
#       reladiff 41.00 s 2.93x 54 MB; reladiff -j3 39.41 s 2.82x 54 MB;
#       reladiff without --skip-sort-results: crashed after 4 s
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ROWS=${ROWS:-10000000}
PGURL=${PGURL:-postgres://cdc:cdc@127.0.0.1:55432}
REPEAT=${REPEAT:-3}
SRC_DB=bench_reconcile_src
TGT_DB=bench_reconcile_tgt
SRC="$PGURL/$SRC_DB?sslmode=disable"
TGT="$PGURL/$TGT_DB?sslmode=disable"
WORK=${WORK:-/tmp/cdc-sentinel-bench-reconcile}
export SRC TGT WORK PGURL SRC_DB TGT_DB
mkdir -p "$WORK"

q() { psql -X -q -v ON_ERROR_STOP=1 -tA "$@"; }

# Every row is a pure function of its id, so (b)'s changes can be undone
# exactly and the cached tables stay identical between runs.
ROW_SQL="SELECT g, 'customer ' || g, (g % 100000)::numeric / 100, timestamp '2020-01-01 00:00:00.000001' + g * interval '1.000001 second', g % 3 = 0, CASE WHEN g % 5 = 0 THEN NULL ELSE md5(g::text) END"

setup() {
  for db in $SRC_DB $TGT_DB; do
    echo "SELECT 'CREATE DATABASE $db' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$db') \gexec" | q "$PGURL/postgres?sslmode=disable"
  done
  for url in "$SRC" "$TGT"; do
    have=$(q "$url" -c "SELECT coalesce((SELECT n FROM bench_meta), -1)" 2>/dev/null || echo -1)
    if [ "$have" = "$ROWS" ]; then
      echo "cached: $ROWS rows in ${url%%\?*}" >&2
      continue
    fi
    echo "generating $ROWS rows in ${url%%\?*} ..." >&2
    q "$url" <<SQL
DROP TABLE IF EXISTS t; DROP TABLE IF EXISTS bench_meta;
CREATE UNLOGGED TABLE t (id int PRIMARY KEY, name text, amount numeric(12,2), created_at timestamp(6), flag boolean, note text);
ALTER TABLE t DROP CONSTRAINT t_pkey;
INSERT INTO t $ROW_SQL FROM generate_series(1, $ROWS) g;
ALTER TABLE t ADD PRIMARY KEY (id);
VACUUM ANALYZE t;
CREATE TABLE bench_meta (n bigint); INSERT INTO bench_meta VALUES ($ROWS);
SQL
  done
}

# 100 scattered differences in the target: 34 missing, 33 changed, 33 extra.
# The n-th difference (n = 1..100) is at id n*ROWS/101; n % 3 picks its kind.
DIFF_IDS="SELECT g AS n, (g * ($ROWS / 101))::int AS id FROM generate_series(1, 100) g"
inject() {
  q "$TGT" <<SQL
DELETE FROM t WHERE id IN (SELECT id FROM ($DIFF_IDS) d WHERE n % 3 = 0);
UPDATE t SET note = coalesce(note, '') || 'x' WHERE id IN (SELECT id FROM ($DIFF_IDS) d WHERE n % 3 = 1);
INSERT INTO t SELECT -id, 'extra', 0, now(), true, NULL FROM ($DIFF_IDS) d WHERE n % 3 = 2;
SQL
}
undo() {
  q "$TGT" <<SQL
DELETE FROM t WHERE id < 0 OR id IN (SELECT id FROM ($DIFF_IDS) d);
INSERT INTO t $ROW_SQL FROM (SELECT id FROM ($DIFF_IDS) d) d(g);
SQL
}

floor_scan() { # both sides at once, as the tools run them
  local qq="SELECT count(*), sum(('x' || substr(md5(t::text), 1, 8))::bit(32)::int) FROM t"
  q "$SRC" -c "$qq" >/dev/null & local p1=$!
  q "$TGT" -c "$qq" >/dev/null & local p2=$!
  wait $p1 $p2
}

# Exit 1 means differences were found (the CLI convention), which case
# (b) expects; only other codes are failures.
sentinel() {
  "$WORK/cdc-sentinel" reconcile --config.file="$WORK/bench.yml" --table=bench --output=json >"$WORK/report.json" || [ $? = 1 ]
}

baseline() {
  "$WORK/cdc-sentinel-baseline" reconcile --config.file="$WORK/bench.yml" --table=bench --output=json >"$WORK/report-baseline.json" || [ $? = 1 ]
}

build_baseline() {
  rm -rf "$WORK/baseline-src" && mkdir -p "$WORK/baseline-src"
  git -C "$ROOT" archive "$BASELINE_REV" | tar -x -C "$WORK/baseline-src"
  (cd "$WORK/baseline-src" && go build -o "$WORK/cdc-sentinel-baseline" ./cmd/cdc-sentinel)
}

reladiff_run() { # extra reladiff flags...
  reladiff "${PGURL/postgres:/postgresql:}/$SRC_DB" t "${PGURL/postgres:/postgresql:}/$TGT_DB" t -k id -c name -c amount -c created_at -c flag -c note \
    --assume-unique-key --json "$@" >"$WORK/reladiff.jsonl"
}

# measure case name cmd...: runs cmd, prints "name seconds RSS" and
# appends "case name seconds rss_kb rc" to $WORK/results.tsv. A failing
# command is recorded (rc), not fatal.
measure() {
  local case=$1 name=$2; shift 2
  local t0 t1 rc=0
  t0=$(date +%s.%N)
  # Functions run in a child bash so /usr/bin/time sees the whole tree.
  /usr/bin/time -f "%M" -o "$WORK/rss" bash -c "$(declare -f q floor_scan sentinel baseline reladiff_run); $*" 2>"$WORK/stderr" || rc=$?
  # reladiff logs some crashes ("ERROR - ...") and still exits 0.
  if [ $rc = 0 ] && grep -q ' ERROR - ' "$WORK/stderr"; then rc=99; fi
  t1=$(date +%s.%N)
  local secs rss
  secs=$(echo "$t1 - $t0" | bc)
  rss=$(tail -1 "$WORK/rss")
  printf '%-12s %8.2f s  %7d KB max RSS%s\n' "$name" "$secs" "$rss" "$([ $rc = 0 ] || echo "  FAILED rc=$rc: $(grep -v WARNING "$WORK/stderr" | tail -1)")"
  printf '%s\t%s\t%s\t%s\t%s\n' "$case" "$name" "$secs" "$rss" "$rc" >>"$WORK/results.tsv"
}

summary() {
  python3 - "$WORK/results.tsv" <<'PY'
import sys, statistics
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
for case in dict.fromkeys(r[0] for r in rows):
    print(f"## case ({case}): medians of successful runs")
    names = dict.fromkeys(r[1] for r in rows if r[0] == case)
    med = {}
    for n in names:
        ok = [r for r in rows if r[0] == case and r[1] == n and r[4] == "0"]
        failed = sum(1 for r in rows if r[0] == case and r[1] == n and r[4] != "0")
        if ok:
            med[n] = (statistics.median(float(r[2]) for r in ok), statistics.median(int(r[3]) for r in ok), len(ok))
        extra = f", {failed} failed" if failed else ""
        if n in med:
            s, rss, k = med[n]
            ratio = s / med["floor"][0] if "floor" in med else float("nan")
            print(f"  {n:<12} {s:7.2f} s  {ratio:5.2f}x floor  {rss/1024:6.1f} MB RSS  ({k} runs{extra})")
        else:
            print(f"  {n:<12}  all runs failed{extra}")
PY
}

run() {
  (cd "$ROOT" && go build -o "$WORK/cdc-sentinel" ./cmd/cdc-sentinel)
  if [ -n "${BASELINE_REV:-}" ]; then build_baseline; fi
  cat >"$WORK/bench.yml" <<YML
connect_clusters:
  - name: local
    url: http://127.0.0.1:1
databases:
  - {name: src, driver: postgres, dsn: "$SRC"}
  - {name: tgt, driver: postgres, dsn: "$TGT"}
tables:
  - name: bench
    source: {database: src, table: public.t}
    target: {database: tgt, table: public.t}
YML
  : >"$WORK/results.tsv"
  echo "# $ROWS rows, $(nproc) cores, REPEAT=$REPEAT; wall seconds, max RSS of the client process"
  for case in a b; do
    if [ $case = b ]; then inject; fi
    echo "## case ($case) $([ $case = a ] && echo identical || echo '100 scattered differences'); $(uptime | sed 's/.*load/load/')"
    for i in $(seq "$REPEAT"); do
      measure $case floor floor_scan
      measure $case sentinel sentinel
      echo "             sentinel found $(python3 -c "import json;r=json.load(open('$WORK/report.json'));print(len(r['missing_in_target']),'missing',len(r['extra_in_target']),'extra',len(r['changed']),'changed,',r['queries'],'queries')")"
      if [ -n "${BASELINE_REV:-}" ]; then
        measure $case baseline baseline
      fi
      if [ "${SKIP_RELADIFF:-}" != 1 ]; then
        if [ $case = b ] && [ "$i" = 1 ]; then
          measure $case reladiff-sorted reladiff_run
        fi
        measure $case reladiff reladiff_run --skip-sort-results
        # Entries, not lines: reladiff wraps long JSON lines.
        echo "             reladiff found $(grep -c '^\["-"' "$WORK/reladiff.jsonl" || true) '-' and $(grep -c '^\["+"' "$WORK/reladiff.jsonl" || true) '+' rows"
        measure $case reladiff-j3 reladiff_run --skip-sort-results -j 3
      fi
    done
    echo "   $(uptime | sed 's/.*load/load/')"
    if [ $case = b ]; then undo; fi
  done
  summary
}

case "${1:-}" in
  setup) setup ;;
  run) setup; run ;;
  summary) summary ;;
  *) echo "usage: $0 setup|run|summary" >&2; exit 2 ;;
esac
