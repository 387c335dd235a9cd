#!/usr/bin/env bash
# Collector cost per scrape against a locally served Connect listing of
# 2,000 connectors × 4 tasks, side by side with the baseline of just
# decoding that JSON, in one run. Prints medians, the ratio, and the peak
# RSS of a process doing only scrapes.
# Usage: bench/connect/run.sh [COUNT]   (default 10 runs of each)
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNT=${1:-10}
BIN=$(mktemp -d)/collector.test
trap 'rm -rf "$(dirname "$BIN")"' EXIT
go test -c -o "$BIN" ./collector/

# Interleaved (one run of each per round) so that load from other work on
# the machine falls on the baseline and the collector alike.
out=""
for _ in $(seq "$COUNT"); do
  for b in DecodeOnly DecodeOnlyGoccy FetchAndDecode Scrape MetricsEndpoint; do
    out+=$("$BIN" -test.run '^$' -test.bench "Connect$b\$" -test.benchtime 10x -test.benchmem | grep '^Benchmark')$'\n'
  done
done
echo "$out" | grep '^Benchmark'

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
field() { echo "$out" | awk -v b="$1" -v f="$2" '$1 ~ "^"b"-" {for (i=1;i<=NF;i++) if ($(i+1)==f) print $i}' | median; }

decode=$(field BenchmarkConnectDecodeOnly ns/op)
goccy=$(field BenchmarkConnectDecodeOnlyGoccy ns/op)
fetch=$(field BenchmarkConnectFetchAndDecode ns/op)
scrape=$(field BenchmarkConnectScrape ns/op)
endpoint=$(field BenchmarkConnectMetricsEndpoint ns/op)
scrape_b=$(field BenchmarkConnectScrape B/op)
decode_b=$(field BenchmarkConnectDecodeOnly B/op)

rss() { /usr/bin/time -f %M "$BIN" -test.run '^$' -test.bench "$1" -test.benchtime 20x 2>&1 >/dev/null | tail -1; }
rss_scrape=$(rss 'ConnectScrape$')
rss_decode=$(rss 'ConnectDecodeOnly$')

awk -v d="$decode" -v g="$goccy" -v f="$fetch" -v s="$scrape" -v e="$endpoint" -v sb="$scrape_b" -v db="$decode_b" \
    -v rs="$rss_scrape" -v rd="$rss_decode" -v n="$COUNT" 'BEGIN {
  printf "\nmedians of %d runs (2,000 connectors x 4 tasks, %s)\n", n, "70,003 series"
  printf "  decode only (baseline)     %7.1f ms   %6.1f MB allocated\n", d/1e6, db/1e6
  printf "  decode only, goccy/go-json %7.1f ms   (the decoder the client uses)\n", g/1e6
  printf "  fetch + decode             %7.1f ms\n", f/1e6
  printf "  collector scrape           %7.1f ms   %6.1f MB allocated   ratio to decode %.2fx (to goccy decode %.2fx)\n", s/1e6, sb/1e6, s/d, s/g
  printf "  whole /metrics answer      %7.1f ms   (registry gather + text encoding included)\n", e/1e6
  printf "  peak RSS: scrapes only %d MB, decoding only %d MB (whole test process incl. the fake Connect server)\n", rs/1024, rd/1024
}'
