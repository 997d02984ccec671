#!/usr/bin/env bash
# Runs the benchmarks (`npm run bench`): each prints a table and writes JSON under bench/results/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
eval "$(bash scripts/prepare.sh)"
export FARPOINT_TOOLS_BIN
eval "$(bash scripts/services.sh up | sed 's/^/export /')"
for bench in dist/bench/*.bench.js; do
  echo "== $bench"
  node "$bench"
done
