#!/usr/bin/env bash
# Runs the benchmarks (`npm run bench`): each prints a table and writes JSON under bench/results/.
set -euo pipefail
source "$(dirname "$0")/env.sh"
for bench in dist/bench/*.bench.js; do
  echo "== $bench"
  node "$bench"
done
