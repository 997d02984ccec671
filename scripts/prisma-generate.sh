#!/usr/bin/env bash
# `prisma generate` offline: the CLI insists on a schema engine binary even though generating the
# Rust-free client does not use it, so point it at an existing file (see shared/design/environment.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export PRISMA_SCHEMA_ENGINE_BINARY=${PRISMA_SCHEMA_ENGINE_BINARY:-$(command -v node)}
export PRISMA_HIDE_UPDATE_MESSAGE=1 CHECKPOINT_DISABLE=1
npx prisma generate >/dev/null
