#!/usr/bin/env bash
# Runs the whole test suite (unit, service, integration, e2e) against real Postgres, Redis, kube-apiserver and
# opa, installing and starting what is missing. The README's test command; .ci/run runs exactly this.
set -euo pipefail
source "$(dirname "$0")/env.sh"

# House rules first, so a violation fails the run before any test starts: ESLint (type-aware), Prettier
# (check only) and the import boundaries (.dependency-cruiser.cjs, the architecture). `npm run format` fixes
# most of what the first two report.
npm run --silent lint

results=$(mktemp)
status=0
npx jest --ci --maxWorkers=2 --json --outputFile="$results" "$@" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$results" || true
rm -f "$results"
exit $status
