#!/usr/bin/env bash
# Makes Postgres and Redis available without Docker: installs them from Debian packages when missing,
# runs private instances under .data/ on their own ports, and is safe to run again (idempotent).
# When DATABASE_URL / REDIS_URL are set, those servers are used instead and nothing is started.
#
#   scripts/services.sh up      start (or reuse) both, print the env lines to use
#   scripts/services.sh down    stop the private instances
#   scripts/services.sh env     print DATABASE_URL and REDIS_URL for the private instances
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data=${FARPOINT_DATA_DIR:-$root/.data}
pg_port=${FARPOINT_PG_PORT:-55432}
redis_port=${FARPOINT_REDIS_PORT:-56379}
pg_bin=${FARPOINT_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
pg_user=farpoint
pg_db=farpoint

log() { echo "[services] $*" >&2; }

# Postgres refuses to run as root; run it as an unprivileged user that owns the data folder.
run_as_pg() {
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

install_missing() {
  local need=()
  [ -n "$pg_bin" ] && [ -x "$pg_bin/postgres" ] || need+=(postgresql)
  command -v redis-server >/dev/null || need+=(redis-server)
  [ ${#need[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || { log "missing ${need[*]}: install them (apt-get install ${need[*]}) or set DATABASE_URL/REDIS_URL"; exit 1; }
  log "installing ${need[*]} from Debian packages"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # Debian starts system-wide services on install; ours run privately, so stop those to free memory.
  command -v systemctl >/dev/null && systemctl stop redis-server postgresql >/dev/null 2>&1 || true
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
}

# Where Postgres keeps its data: under .data/ normally. As root, the server runs as the unprivileged
# postgres user, which may not be able to enter the checkout (e.g. a clone under /root); then the
# data goes to a folder of its own under /var/tmp, keyed by the checkout path.
pg_dir() {
  mkdir -p "$data"
  if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$data" 2>/dev/null; then
    echo "/var/tmp/farpoint-postgres-$(echo "$root" | sha1sum | cut -c1-12)"
  else
    echo "$data/postgres"
  fi
}

pg_up() {
  local dir
  dir=$(pg_dir)
  if [ ! -s "$dir/PG_VERSION" ]; then
    log "initialising Postgres in $dir"
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$dir"
    run_as_pg "$pg_bin/initdb" -D "$dir" -U "$pg_user" --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >> "$dir/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$dir'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 128MB
CONF
  fi
  if ! run_as_pg "$pg_bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    log "starting Postgres on 127.0.0.1:$pg_port"
    run_as_pg "$pg_bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start >/dev/null
  fi
  if ! "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U "$pg_user" -d postgres -tAc "select 1 from pg_database where datname='$pg_db'" | grep -q 1; then
    "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U "$pg_user" "$pg_db"
  fi
}

redis_up() {
  local dir=$data/redis
  mkdir -p "$dir"
  if ! redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
    log "starting Redis on 127.0.0.1:$redis_port"
    # As BullMQ requires: queued jobs survive a restart (append-only file, fsync every second) and
    # are never evicted for memory (noeviction: a full Redis refuses writes instead of losing jobs).
    redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$dir" --daemonize yes \
      --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --save '' \
      --appendonly yes --appendfsync everysec --maxmemory-policy noeviction >/dev/null
    for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
}

print_env() {
  echo "DATABASE_URL=${DATABASE_URL:-postgresql://$pg_user@127.0.0.1:$pg_port/$pg_db}"
  echo "REDIS_URL=${REDIS_URL:-redis://127.0.0.1:$redis_port}"
}

case "${1:-up}" in
  up)
    if [ -z "${DATABASE_URL:-}" ] || [ -z "${REDIS_URL:-}" ]; then install_missing; fi
    [ -n "${DATABASE_URL:-}" ] || pg_up
    [ -n "${REDIS_URL:-}" ] || redis_up
    print_env
    ;;
  down)
    [ -s "$(pg_dir)/PG_VERSION" ] && run_as_pg "$pg_bin/pg_ctl" -D "$(pg_dir)" -m fast stop >/dev/null 2>&1 || true
    redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
    ;;
  env) print_env ;;
  *) echo "usage: $0 up|down|env" >&2; exit 2 ;;
esac
