#!/usr/bin/env bash
# Starts Farpoint with a demo on this machine: Postgres and Redis (private instances), migrations,
# the API and the worker, and a seeded demo organization. Prints the GraphQL URL and an admin token.
# Ctrl-C stops the API and worker; `bash scripts/services.sh down` stops Postgres and Redis.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
eval "$(bash scripts/prepare.sh)"
export FARPOINT_TOOLS_BIN
eval "$(bash scripts/services.sh up | sed 's/^/export /')"
export PORT=${PORT:-4000} HOST=${HOST:-127.0.0.1} LOG_LEVEL=${LOG_LEVEL:-info}
export PUBLIC_URL=${PUBLIC_URL:-http://$HOST:$PORT}
logs=$root/.data/logs
mkdir -p "$logs"

node dist/src/infra/database/migrate.cli.js >&2
seed=$(node dist/src/dev/demo-seed.js)
token=$(node -pe 'JSON.parse(process.argv[1]).adminToken' "$seed")

pids=()
cleanup() { trap - INT TERM EXIT; kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup INT TERM EXIT
node dist/src/main.js >> "$logs/api.log" 2>&1 & pids+=($!)
node dist/src/worker.js >> "$logs/worker.log" 2>&1 & pids+=($!)
for _ in $(seq 120); do curl -fs "$PUBLIC_URL/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
curl -fs "$PUBLIC_URL/readyz" >/dev/null || { echo "the API did not become ready; see $logs/api.log" >&2; exit 1; }

cat <<TXT

  Farpoint is running.
    GraphQL:      $PUBLIC_URL/graphql
    Admin token:  $token
    Logs:         $logs/{api,worker}.log

  Try:
    curl -s $PUBLIC_URL/graphql -H 'content-type: application/json' \\
      -H 'authorization: Bearer $token' \\
      -d '{"query":"{ clusters(filter: {labelSelector: \"tier=edge,!canary\"}) { totalCount edges { node { name phase health site { name } } } } }"}'

  Ctrl-C stops the API and worker.
TXT
wait -n "${pids[@]}"
