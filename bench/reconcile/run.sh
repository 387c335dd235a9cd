#!/usr/bin/env bash
# Reconcile benchmark: a ROWS-row PostgreSQL↔PostgreSQL table in two
# scratch databases on the local pipeline's PostgreSQL, compared
#   (a) identical and (b) with 100 scattered differences,
# side by side in one run with two baselines:
#   floor    – one full in-database md5 checksum scan of each side, both
#              sides at once (what any hash-based compare must at least do)
#   reladiff – pip install 'reladiff[postgresql]', same tables
# and cdc-sentinel reconcile (wall time and max RSS from /usr/bin/time).
#
#   bench/reconcile/run.sh setup     # generate (cached between runs)
#   bench/reconcile/run.sh run       # measure; REPEAT=n runs each n times
#
# Env: ROWS (10000000), PGURL (postgres://cdc:cdc@127.0.0.1:55432),
# REPEAT (1), SKIP_RELADIFF=1.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ROWS=${ROWS:-10000000}
PGURL=${PGURL:-postgres://cdc:cdc@127.0.0.1:55432}
REPEAT=${REPEAT:-1}
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

sentinel() {
  "$WORK/cdc-sentinel" reconcile --config.file="$WORK/bench.yml" --table=bench --output=json >"$WORK/report.json"
}

reladiff_run() {
  reladiff "${PGURL/postgres:/postgresql:}/$SRC_DB" t "${PGURL/postgres:/postgresql:}/$TGT_DB" t -k id -c name -c amount -c created_at -c flag -c note \
    --assume-unique-key --json >"$WORK/reladiff.jsonl"
}

measure() { # name cmd...: prints "name seconds maxrss_kb"
  local name=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  # Functions run in a child bash so /usr/bin/time sees the whole tree.
  /usr/bin/time -f "%M" -o "$WORK/rss" bash -c "$(declare -f q floor_scan sentinel reladiff_run); $*"
  t1=$(date +%s.%N)
  printf '%-10s %8.2f s  %7d KB max RSS\n' "$name" "$(echo "$t1 - $t0" | bc)" "$(cat "$WORK/rss")"
}

run() {
  (cd "$ROOT" && go build -o "$WORK/cdc-sentinel" ./cmd/cdc-sentinel)
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
  echo "# $ROWS rows, $(nproc) cores; wall seconds, max RSS of the client process"
  for case in a b; do
    if [ $case = b ]; then inject; fi
    echo "## case ($case) $([ $case = a ] && echo identical || echo '100 scattered differences')"
    for i in $(seq "$REPEAT"); do
      measure floor floor_scan
      measure sentinel sentinel
      echo "           sentinel found $(python3 -c "import json;r=json.load(open('$WORK/report.json'));print(len(r['missing_in_target']),'missing',len(r['extra_in_target']),'extra',len(r['changed']),'changed,',r['queries'],'queries')")"
      if [ "${SKIP_RELADIFF:-}" != 1 ]; then
        measure reladiff reladiff_run
        echo "           reladiff found $(wc -l <"$WORK/reladiff.jsonl") diff lines"
      fi
    done
    if [ $case = b ]; then undo; fi
  done
}

case "${1:-}" in
  setup) setup ;;
  run) setup; run ;;
  *) echo "usage: $0 setup|run" >&2; exit 2 ;;
esac
