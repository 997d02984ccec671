#!/usr/bin/env node
// Prisma's own schema engine, offline. The native engine cannot be downloaded here, but the WebAssembly
// build (@prisma/schema-engine-wasm, pinned in package.json) runs through @prisma/adapter-pg. Use it to
// write a new migration's SQL exactly as Prisma would, and to check our history the way Prisma reads it.
//
//   node test/support/prisma-engine.mjs diff [--from <old schema.prisma>] [--to <schema.prisma>]
//       Prints the SQL that takes the --from schema (default: empty database) to --to (default
//       prisma/schema.prisma): what `prisma migrate dev` would write to migration.sql. For the next
//       migration: git show HEAD:prisma/schema.prisma > /tmp/old.prisma, then --from /tmp/old.prisma.
//   node test/support/prisma-engine.mjs status [--migrations <dir>]
//       Prisma's diagnoseMigrationHistory against DATABASE_URL (what `prisma migrate status` reports).
//   node test/support/prisma-engine.mjs deploy [--migrations <dir>]
//       Prisma's applyMigrations (what `prisma migrate deploy` does) against DATABASE_URL.
//
// All commands need DATABASE_URL (a reachable Postgres; `diff` only asks the server its version) and
// print one JSON document (diff: the SQL text) on stdout. Known limit: the wasm engine cannot introspect
// a live database (it fails on Postgres `char` columns), so there is no --from-database.
//
// Node loads this as a separate process on purpose: the package is an ES module with a .wasm import,
// which jest's CommonJS runtime cannot load.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(join(root, 'package.json'));

async function loadEngineModule() {
  const pkgDir = dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg'));
  const bg = await import(join(pkgDir, 'schema_engine_bg.js'));
  const wasm = new WebAssembly.Module(readFileSync(join(pkgDir, 'schema_engine_bg.wasm')));
  const instance = new WebAssembly.Instance(wasm, { './schema_engine_bg.js': bg });
  bg.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start?.();
  return bg;
}

function args(argv) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) {
      out[argv[i].slice(2)] = argv[++i];
    } else {
      out._.push(argv[i]);
    }
  }
  return out;
}

function migrationsList(dir) {
  const lock = join(dir, 'migration_lock.toml');
  const migrationDirectories = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const file = join(dir, name, 'migration.sql');
      const content = existsSync(file) ? { tag: 'ok', value: readFileSync(file, 'utf8') } : { tag: 'error', value: `${file} does not exist` };
      return { path: name, migrationFile: { path: 'migration.sql', content } };
    });
  return {
    baseDir: dir,
    lockfile: { path: 'migration_lock.toml', content: existsSync(lock) ? readFileSync(lock, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories,
  };
}

async function main() {
  const a = args(process.argv.slice(2));
  const command = a._[0];
  const url = process.env.DATABASE_URL;
  if (!['diff', 'status', 'deploy'].includes(command) || !url) {
    process.stderr.write('usage: DATABASE_URL=... node test/support/prisma-engine.mjs diff|status|deploy [options]\n');
    return 2;
  }
  const { PrismaPg } = require('@prisma/adapter-pg');
  const { bindMigrationAwareSqlAdapterFactory } = require('@prisma/driver-adapter-utils');
  const { SchemaEngine } = await loadEngineModule();

  const toPath = resolve(a.to ?? join(root, 'prisma', 'schema.prisma'));
  const schema = readFileSync(toPath, 'utf8');
  const adapter = bindMigrationAwareSqlAdapterFactory(new PrismaPg({ connectionString: url }));
  const engine = await SchemaEngine.new({ datamodels: [['schema.prisma', schema]] }, () => {}, adapter);
  const filters = { externalTables: [], externalEnums: [] };
  try {
    if (command === 'diff') {
      const from = a.from ? { tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content: readFileSync(resolve(a.from), 'utf8') }] } : { tag: 'empty' };
      const to = { tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content: schema }] };
      const result = await engine.diff({ from, to, script: true, exitCode: null, filters });
      // `diff` from an empty database adds CREATE SCHEMA "public"; `migrate dev` (which diffs from a shadow
      // database that already has it) does not, so neither do our migration files.
      process.stdout.write((result.stdout ?? '').replace(/^-- CreateSchema\nCREATE SCHEMA IF NOT EXISTS "public";\n\n/, ''));
      return 0;
    }
    const list = migrationsList(resolve(a.migrations ?? join(root, 'prisma', 'migrations')));
    const result =
      command === 'status'
        ? await engine.diagnoseMigrationHistory({ migrationsList: list, optInToShadowDatabase: false, filters })
        : await engine.applyMigrations({ migrationsList: list, filters });
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } finally {
    engine.free?.();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
