// Applies the reviewed SQL migrations in prisma/migrations without Prisma's native schema engine (which
// cannot be downloaded on our machines), and records them exactly the way Prisma does, in Prisma's own
// `_prisma_migrations` table, so that `prisma migrate deploy` / `migrate status` on a machine that has the
// engine sees the same history as applied.
//
// Behaviour, in order:
//   1. Connect with `pg` and take Prisma's advisory lock (pg_advisory_lock(72707369)) for the whole run,
//      so two processes starting at once (and a real `prisma migrate deploy`) never apply concurrently.
//   2. Create `_prisma_migrations` with Prisma's DDL when it is missing.
//   3. Check the recorded history against prisma/migrations before writing anything:
//      - an applied migration whose migration.sql changed     -> MIGRATION_CHECKSUM_MISMATCH
//      - an applied migration whose folder is gone              -> MIGRATION_MISSING_LOCALLY
//      - a migration Prisma started but never finished/rolled back -> MIGRATION_FAILED_PREVIOUSLY
//   4. Apply the remaining folders in name order, each in its own transaction together with its
//      `_prisma_migrations` row (so a failing migration leaves neither schema changes nor a row behind:
//      MIGRATION_FAILED). Consequence: a migration cannot use statements that refuse to run inside a
//      transaction (CREATE INDEX CONCURRENTLY, VACUUM, ...), and an enum value added with
//      ALTER TYPE ... ADD VALUE cannot be used later in the same migration (put that in the next one).
//
// Checksums are Prisma's: lowercase hex SHA-256 of migration.sql. Like Prisma, a file whose only change
// is its line endings (CRLF <-> LF, e.g. a git autocrlf checkout) still matches.
//
// A `?schema=name` parameter on the URL is honoured like Prisma does (schema created if missing and used
// as search_path); otherwise the server's default search_path (public) is used.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Client } from 'pg';

/** Prisma's advisory lock key for migrations (schema-engine: `SELECT pg_advisory_lock(72707369)`). */
export const PRISMA_MIGRATION_LOCK_KEY = 72707369;

export type MigrationErrorCode =
  | 'MIGRATION_CHECKSUM_MISMATCH'
  | 'MIGRATION_MISSING_LOCALLY'
  | 'MIGRATION_FAILED_PREVIOUSLY'
  | 'MIGRATION_FAILED'
  | 'MIGRATION_FILE_MISSING'
  | 'MIGRATIONS_DIR_NOT_FOUND'
  | 'MIGRATION_PROVIDER_MISMATCH'
  | 'MIGRATION_LOCK_TIMEOUT';

export class MigrationError extends Error {
  constructor(
    readonly code: MigrationErrorCode,
    message: string,
    readonly migration?: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
    this.name = 'MigrationError';
  }
}

export interface ApplyMigrationsOptions {
  /** Receives one line per step (lock taken, migration applied, ...). Default: silent. */
  log?: (msg: string) => void;
  /** Folder holding <name>/migration.sql. Default: prisma/migrations under the project root. */
  migrationsDir?: string;
  /** How long to wait for another process's migration lock. Default 10 minutes. */
  lockTimeoutMs?: number;
}

export interface LocalMigration {
  name: string;
  /** Absolute path of migration.sql. */
  file: string;
  script: string;
  checksum: string;
}

/** The DDL Prisma's schema engine uses for its bookkeeping table on PostgreSQL. */
const CREATE_PRISMA_MIGRATIONS = `CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
)`;

/** Walks up from `from` to the first folder with a package.json and a prisma/migrations folder. */
export function findProjectRoot(from: string = __dirname): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'prisma', 'migrations'))) {
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) {
      throw new MigrationError('MIGRATIONS_DIR_NOT_FOUND', `no package.json with prisma/migrations above ${from}`);
    }
    dir = parent;
  }
}

export function defaultMigrationsDir(): string {
  return join(findProjectRoot(), 'prisma', 'migrations');
}

/** Prisma's checksum: lowercase hex SHA-256 of the script. */
export function migrationChecksum(script: string): string {
  return createHash('sha256').update(script, 'utf8').digest('hex');
}

/**
 * Whether `script` matches a checksum Prisma (or we) recorded. Mirrors the schema engine: line-ending
 * changes alone do not count as a change, and checksums written by old Prisma versions, which dropped
 * the leading zero of each byte, are recognised.
 */
export function scriptMatchesChecksum(script: string, recorded: string): boolean {
  const variants = [script, script.replace(/\r\n/g, '\n'), script.replace(/\r?\n/g, '\r\n')];
  return variants.some((s) => {
    const digest = createHash('sha256').update(s, 'utf8').digest();
    const legacy = Array.from(digest, (b) => b.toString(16)).join('');
    return recorded === digest.toString('hex') || recorded === legacy;
  });
}

/** Reads <dir>/<name>/migration.sql for every sub-folder, sorted by name (Prisma's order). */
export function readLocalMigrations(dir: string): LocalMigration[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new MigrationError('MIGRATIONS_DIR_NOT_FOUND', `migrations folder ${dir} does not exist`);
  }
  const lockFile = join(dir, 'migration_lock.toml');
  if (existsSync(lockFile)) {
    const provider = /^\s*provider\s*=\s*"([^"]*)"/m.exec(readFileSync(lockFile, 'utf8'))?.[1];
    if (provider && provider !== 'postgresql') {
      throw new MigrationError('MIGRATION_PROVIDER_MISMATCH', `${lockFile} is for "${provider}", not "postgresql"`);
    }
  }
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort()
    .map((name) => {
      const file = join(dir, name, 'migration.sql');
      if (!existsSync(file)) {
        throw new MigrationError('MIGRATION_FILE_MISSING', `${file} does not exist`, name);
      }
      const script = readFileSync(file, 'utf8');
      return { name, file, script, checksum: migrationChecksum(script) };
    });
}

interface MigrationRow {
  id: string;
  checksum: string;
  migration_name: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  logs: string | null;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Splits Prisma's `?schema=` parameter off the URL; pg would otherwise ignore it silently. */
function parseDatabaseUrl(databaseUrl: string): { connectionString: string; schema?: string } {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    return { connectionString: databaseUrl };
  }
  const schema = url.searchParams.get('schema') ?? undefined;
  url.searchParams.delete('schema');
  return { connectionString: url.toString(), schema };
}

/**
 * Applies every migration in prisma/migrations that the database has not recorded yet.
 * Returns the names applied by this call (empty when the database was up to date).
 */
export async function applyMigrations(databaseUrl: string, opts: ApplyMigrationsOptions = {}): Promise<{ applied: string[] }> {
  const log = opts.log ?? (() => undefined);
  const dir = opts.migrationsDir ?? defaultMigrationsDir();
  const lockTimeoutMs = opts.lockTimeoutMs ?? 10 * 60_000;
  const { connectionString, schema } = parseDatabaseUrl(databaseUrl);

  const client = new Client({ connectionString, application_name: 'farpoint-migrator' });
  // An idle-connection error (server restart, network) must not crash the process via 'error' events.
  client.on('error', (err) => log(`connection error: ${err.message}`));
  await client.connect();
  let locked = false;
  try {
    if (schema) {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
      await client.query(`SET search_path TO ${quoteIdent(schema)}`);
    }

    log(`taking migration lock ${PRISMA_MIGRATION_LOCK_KEY}`);
    await client.query(`SET lock_timeout = ${Math.max(1, Math.floor(lockTimeoutMs))}`);
    try {
      await client.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATION_LOCK_KEY]);
    } catch (err) {
      if ((err as { code?: string }).code === '55P03') {
        throw new MigrationError('MIGRATION_LOCK_TIMEOUT', `another process held migration lock ${PRISMA_MIGRATION_LOCK_KEY} for more than ${lockTimeoutMs} ms`, undefined, {
          cause: err,
        });
      }
      throw err;
    }
    locked = true;
    await client.query('RESET lock_timeout');

    // Read the files only once we hold the lock: what we check is what we apply.
    const local = readLocalMigrations(dir);
    await client.query(CREATE_PRISMA_MIGRATIONS);
    const { rows } = await client.query<MigrationRow>(
      `SELECT id, checksum, migration_name, finished_at, rolled_back_at, logs
         FROM _prisma_migrations ORDER BY started_at ASC`,
    );

    const byName = new Map(local.map((m) => [m.name, m]));
    const applied = new Set<string>();
    for (const row of rows) {
      if (row.rolled_back_at) {
        continue;
      } // Prisma: rolled-back attempts are history, not state.
      const m = byName.get(row.migration_name);
      if (!m) {
        throw new MigrationError(
          'MIGRATION_MISSING_LOCALLY',
          `migration ${row.migration_name} is recorded as applied but ${join(dir, row.migration_name)} does not exist`,
          row.migration_name,
        );
      }
      if (!row.finished_at) {
        throw new MigrationError(
          'MIGRATION_FAILED_PREVIOUSLY',
          `migration ${row.migration_name} was started but never finished (logs: ${row.logs ?? 'none'}); ` +
            `fix the database, then mark it with \`prisma migrate resolve\` or set rolled_back_at`,
          row.migration_name,
        );
      }
      if (!scriptMatchesChecksum(m.script, row.checksum)) {
        throw new MigrationError(
          'MIGRATION_CHECKSUM_MISMATCH',
          `${m.file} was changed after it was applied (recorded checksum ${row.checksum}, file ${m.checksum}); ` + `add a new migration instead of editing an applied one`,
          m.name,
        );
      }
      applied.add(m.name);
    }

    const pending = local.filter((m) => !applied.has(m.name));
    if (pending.length === 0) {
      log('database is up to date');
    }
    for (const m of pending) {
      log(`applying ${m.name}`);
      await client.query('BEGIN');
      try {
        const id = randomUUID();
        await client.query(
          `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count)
           VALUES ($1, $2, $3, clock_timestamp(), 0)`,
          [id, m.checksum, m.name],
        );
        await client.query(m.script);
        await client.query(`UPDATE _prisma_migrations SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1`, [id]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        const detail = err instanceof Error ? err.message : String(err);
        throw new MigrationError('MIGRATION_FAILED', `${m.name} failed and was rolled back: ${detail}`, m.name, {
          cause: err,
        });
      }
      log(`applied ${m.name}`);
    }
    return { applied: pending.map((m) => m.name) };
  } finally {
    if (locked) {
      await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_MIGRATION_LOCK_KEY]).catch(() => undefined);
    }
    await client.end().catch(() => undefined);
  }
}
