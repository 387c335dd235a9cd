#!/usr/bin/env bash
# Runs every Go fuzz target of the module for a fixed time each.
# Plain `go test` (and so `make test`) already runs each target's seed
# corpus (testdata/fuzz/<Target>/ and f.Add); this explores beyond it.
# A failing input is written to testdata/fuzz/<Target>/ by Go: commit it
# with the fix so it stays a regression case.
# Usage: scripts/fuzz.sh [fuzztime]   (default 10s per target)
set -euo pipefail
FUZZTIME=${1:-${FUZZTIME:-10s}}
cd "$(dirname "$0")/.."

targets=$(grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' . \
  | xargs grep -HoE '^func Fuzz[A-Za-z0-9_]*' | sed 's/:func / /' | sort)
[ -n "$targets" ] || { echo "fuzz: no targets found" >&2; exit 1; }

failed=0 count=0
while read -r file target; do
  pkg=./$(dirname "${file#./}")
  count=$((count + 1))
  echo "fuzz: $pkg $target for $FUZZTIME"
  if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"; then
    echo "fuzz: $pkg $target FAILED" >&2
    failed=$((failed + 1))
  fi
done <<< "$targets"
echo "fuzz: $count targets, $failed failed"
[ "$failed" -eq 0 ]
