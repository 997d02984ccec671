# Sourced by start.sh, test.sh and bench.sh: prepares the build and the real tools, starts (or reuses)
# Postgres and Redis, and exports FARPOINT_TOOLS_BIN, DATABASE_URL and REDIS_URL.
# These scripts run Farpoint on a developer machine; an unset NODE_ENV means production elsewhere.
export NODE_ENV=${NODE_ENV:-development}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
eval "$(bash scripts/prepare.sh)"
export FARPOINT_TOOLS_BIN
eval "$(bash scripts/services.sh up | sed 's/^/export /')"
