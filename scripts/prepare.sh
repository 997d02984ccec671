#!/usr/bin/env bash
# Everything a fresh clone needs before it can run: Node dependencies (when the lock changed),
# the Prisma client, the TypeScript build, and the real Kubernetes/OPA binaries (cached outside the
# work tree, see tools/build.sh). Safe to run again; each step is skipped or cheap when up to date.
# Prints `export FARPOINT_TOOLS_BIN=…` on stdout for the caller to eval.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
log() { echo "[prepare] $*" >&2; }

lock_hash=$(sha256sum package-lock.json | cut -c1-16)
if [ ! -f node_modules/.farpoint-lock-hash ] || [ "$(cat node_modules/.farpoint-lock-hash)" != "$lock_hash" ]; then
  log "installing Node dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$lock_hash" > node_modules/.farpoint-lock-hash
fi

log "generating the Prisma client"
bash scripts/prisma-generate.sh >&2

log "compiling TypeScript"
npx tsc -p tsconfig.build.json >&2

log "building or reusing kube-apiserver, kubectl, etcd and opa (first build takes several minutes)"
bin=$(bash tools/build.sh | tail -n 1)
echo "export FARPOINT_TOOLS_BIN=$bin"
