// The offline migrator against real Postgres: what it applies, what it records (in Prisma's format, checked
// with Prisma's own engine too), concurrency through the advisory lock, and what it refuses.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { applyMigrations, defaultMigrationsDir, MigrationError, PRISMA_MIGRATION_LOCK_KEY } from '../../../src/infra/database/migrator';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import type * as SwcCore from '@swc/core';

jest.setTimeout(90_000);
const root = join(__dirname, '..', '..', '..');
const realDir = join(root, 'prisma', 'migrations');
const realNames = readdirSync(realDir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) {
    await c();
  }
});

async function emptyDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase({ migrated: false });
  cleanups.push(() => db.drop());
  return db;
}

/** A copy of prisma/migrations in a temp folder, plus extra migrations { name: sql }. */
function migrationsCopy(extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'farpoint-migrations-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(realDir, dir, { recursive: true });
  for (const [name, sql] of Object.entries(extra)) {
    addMigration(dir, name, sql);
  }
  return dir;
}
function addMigration(dir: string, name: string, sql: string): void {
  mkdirSync(join(dir, name), { recursive: true });
  writeFileSync(join(dir, name, 'migration.sql'), sql);
}

async function query<T extends Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}
interface Row extends Record<string, unknown> {
  id: string;
  checksum: string;
  migration_name: string;
  finished_at: Date | null;
  started_at: Date;
  rolled_back_at: Date | null;
  logs: string | null;
  applied_steps_count: number;
}
const history = (url: string) => query<Row>(url, 'SELECT * FROM _prisma_migrations ORDER BY migration_name, started_at');
const tableExists = async (url: string, name: string) => (await query<{ t: string | null }>(url, 'SELECT to_regclass($1)::text AS t', [`"${name}"`]))[0].t !== null;

async function expectRefusal(p: Promise<unknown>, code: string): Promise<MigrationError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MigrationError);
  expect((err as MigrationError).code).toBe(code);
  expect((err as MigrationError).message).toContain(code);
  return err as MigrationError;
}

/** Prisma's own schema engine (wasm) on `url`: `status` = migrate status, `deploy` = migrate deploy. */
async function prismaEngine(command: 'status' | 'deploy', url: string, migrationsDir = realDir): Promise<any> {
  const { stdout } = await promisify(execFile)(process.execPath, [join(root, 'test', 'support', 'prisma-engine.mjs'), command, '--migrations', migrationsDir], {
    env: { ...process.env, DATABASE_URL: url },
  });
  return JSON.parse(stdout);
}

describe('applyMigrations', () => {
  it('finds prisma/migrations from the source tree', () => {
    expect(defaultMigrationsDir()).toBe(realDir);
    expect(realNames).toContain('20261126000000_init');
  });

  it('applies every migration to a fresh database and records each like Prisma does', async () => {
    const db = await emptyDatabase();
    const logs: string[] = [];
    const result = await applyMigrations(db.url, { log: (m) => logs.push(m) });
    expect(result.applied).toEqual(realNames);
    expect(logs).toContain(`applied ${realNames[0]}`);
    expect(await tableExists(db.url, 'Cluster')).toBe(true);

    const rows = await history(db.url);
    expect(rows.map((r) => r.migration_name)).toEqual(realNames);
    for (const r of rows) {
      expect(r.checksum).toBe(sha256(readFileSync(join(realDir, r.migration_name, 'migration.sql'), 'utf8')));
      expect(r.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(r.finished_at).toBeInstanceOf(Date);
      expect(r.finished_at!.getTime()).toBeGreaterThanOrEqual(r.started_at.getTime());
      expect(r).toMatchObject({ rolled_back_at: null, logs: null, applied_steps_count: 1 });
    }
    // The bookkeeping table has Prisma's exact shape.
    const columns = await query(
      db.url,
      `SELECT column_name, data_type, character_maximum_length AS len, is_nullable, column_default
         FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    );
    expect(columns).toEqual([
      { column_name: 'id', data_type: 'character varying', len: 36, is_nullable: 'NO', column_default: null },
      { column_name: 'checksum', data_type: 'character varying', len: 64, is_nullable: 'NO', column_default: null },
      { column_name: 'finished_at', data_type: 'timestamp with time zone', len: null, is_nullable: 'YES', column_default: null },
      { column_name: 'migration_name', data_type: 'character varying', len: 255, is_nullable: 'NO', column_default: null },
      { column_name: 'logs', data_type: 'text', len: null, is_nullable: 'YES', column_default: null },
      { column_name: 'rolled_back_at', data_type: 'timestamp with time zone', len: null, is_nullable: 'YES', column_default: null },
      { column_name: 'started_at', data_type: 'timestamp with time zone', len: null, is_nullable: 'NO', column_default: 'now()' },
      { column_name: 'applied_steps_count', data_type: 'integer', len: null, is_nullable: 'NO', column_default: '0' },
    ]);

    // A second run applies and writes nothing.
    expect(await applyMigrations(db.url)).toEqual({ applied: [] });
    expect(await history(db.url)).toEqual(rows);

    // Prisma's own engine reads our history as complete and unedited: `migrate deploy` would do nothing.
    expect(await prismaEngine('status', db.url)).toEqual({
      editedMigrationNames: [],
      failedMigrationNames: [],
      hasMigrationsTable: true,
      history: null,
    });
    expect(await prismaEngine('deploy', db.url)).toEqual({ appliedMigrationNames: [] });
    expect(await history(db.url)).toEqual(rows);
  });

  it("accepts a history written by Prisma's own engine (`prisma migrate deploy`)", async () => {
    const db = await emptyDatabase();
    expect(await prismaEngine('deploy', db.url)).toEqual({ appliedMigrationNames: realNames });
    expect(await applyMigrations(db.url)).toEqual({ applied: [] });
  });

  it('applies only the new migrations on a database that has the earlier ones', async () => {
    const db = await emptyDatabase();
    await applyMigrations(db.url);
    const dir = migrationsCopy({ '29990101000000_add_extra': 'CREATE TABLE "Extra" ("id" INTEGER PRIMARY KEY);\n' });
    expect(await applyMigrations(db.url, { migrationsDir: dir })).toEqual({ applied: ['29990101000000_add_extra'] });
    expect(await tableExists(db.url, 'Extra')).toBe(true);
    expect((await history(db.url)).map((r) => r.migration_name)).toEqual([...realNames, '29990101000000_add_extra']);
  });

  it('refuses an applied migration whose file changed (MIGRATION_CHECKSUM_MISMATCH) and writes nothing', async () => {
    const db = await emptyDatabase();
    const dir = migrationsCopy();
    await applyMigrations(db.url, { migrationsDir: dir });
    const before = await history(db.url);

    appendFileSync(join(dir, realNames[0], 'migration.sql'), '\nALTER TABLE "Cluster" ADD COLUMN "sneaky" TEXT;\n');
    addMigration(dir, '29990101000000_add_extra', 'CREATE TABLE "Extra" ("id" INTEGER PRIMARY KEY);\n');
    const err = await expectRefusal(applyMigrations(db.url, { migrationsDir: dir }), 'MIGRATION_CHECKSUM_MISMATCH');
    expect(err.migration).toBe(realNames[0]);

    expect(await history(db.url)).toEqual(before);
    expect(await tableExists(db.url, 'Extra')).toBe(false);
    const sneaky = await query(db.url, `SELECT 1 FROM information_schema.columns WHERE column_name = 'sneaky'`);
    expect(sneaky).toEqual([]);
    // Prisma's engine agrees the file was edited.
    expect((await prismaEngine('status', db.url, dir)).editedMigrationNames).toEqual([realNames[0]]);
  });

  it('treats a line-ending-only change (git autocrlf) as unchanged, like Prisma', async () => {
    const db = await emptyDatabase();
    const dir = migrationsCopy();
    await applyMigrations(db.url, { migrationsDir: dir });
    const file = join(dir, realNames[0], 'migration.sql');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/\n/g, '\r\n'));
    expect(await applyMigrations(db.url, { migrationsDir: dir })).toEqual({ applied: [] });
  });

  it("refuses when an applied migration's folder is missing (MIGRATION_MISSING_LOCALLY)", async () => {
    const db = await emptyDatabase();
    const dir = migrationsCopy({ '29990101000000_add_extra': 'CREATE TABLE "Extra" ("id" INTEGER PRIMARY KEY);\n' });
    await applyMigrations(db.url, { migrationsDir: dir });
    rmSync(join(dir, '29990101000000_add_extra'), { recursive: true });
    addMigration(dir, '29990102000000_other', 'CREATE TABLE "Other" ("id" INTEGER PRIMARY KEY);\n');
    const err = await expectRefusal(applyMigrations(db.url, { migrationsDir: dir }), 'MIGRATION_MISSING_LOCALLY');
    expect(err.migration).toBe('29990101000000_add_extra');
    expect(await tableExists(db.url, 'Other')).toBe(false);
  });

  it('rolls a failing migration back completely (MIGRATION_FAILED), and applies it once fixed', async () => {
    const db = await emptyDatabase();
    const dir = migrationsCopy({
      '29990101000000_broken': 'CREATE TABLE "Half" ("id" INTEGER PRIMARY KEY);\nALTER TABLE "NoSuchTable" ADD COLUMN "x" INT;\n',
    });
    const err = await expectRefusal(applyMigrations(db.url, { migrationsDir: dir }), 'MIGRATION_FAILED');
    expect(err.migration).toBe('29990101000000_broken');
    expect(err.message).toContain('NoSuchTable');
    // The earlier migrations committed in their own transactions; the broken one left nothing behind.
    expect((await history(db.url)).map((r) => r.migration_name)).toEqual(realNames);
    expect(await tableExists(db.url, 'Half')).toBe(false);

    addMigration(dir, '29990101000000_broken', 'CREATE TABLE "Half" ("id" INTEGER PRIMARY KEY);\n');
    expect(await applyMigrations(db.url, { migrationsDir: dir })).toEqual({ applied: ['29990101000000_broken'] });
    expect(await tableExists(db.url, 'Half')).toBe(true);
  });

  it('refuses after a failed attempt recorded by Prisma (MIGRATION_FAILED_PREVIOUSLY) until it is rolled back', async () => {
    const db = await emptyDatabase();
    const dir = migrationsCopy({ '29990101000000_add_extra': 'CREATE TABLE "Extra" ("id" INTEGER PRIMARY KEY);\n' });
    await applyMigrations(db.url, { migrationsDir: realDir });
    const checksum = sha256(readFileSync(join(dir, '29990101000000_add_extra', 'migration.sql'), 'utf8'));
    // What `prisma migrate deploy` leaves after a migration fails half-way.
    await query(
      db.url,
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, logs, started_at, applied_steps_count)
       VALUES ('00000000-0000-4000-8000-000000000001', $1, '29990101000000_add_extra', 'boom', now(), 0)`,
      [checksum],
    );
    await expectRefusal(applyMigrations(db.url, { migrationsDir: dir }), 'MIGRATION_FAILED_PREVIOUSLY');
    expect(await tableExists(db.url, 'Extra')).toBe(false);

    // `prisma migrate resolve --rolled-back` marks it; then the migration is applied again.
    await query(db.url, `UPDATE _prisma_migrations SET rolled_back_at = now() WHERE logs = 'boom'`);
    expect(await applyMigrations(db.url, { migrationsDir: dir })).toEqual({ applied: ['29990101000000_add_extra'] });
    const extra = (await history(db.url)).filter((r) => r.migration_name === '29990101000000_add_extra');
    expect(extra.map((r) => [r.rolled_back_at === null, r.finished_at === null])).toEqual([
      [false, true],
      [true, false],
    ]);
  });

  it('gives up waiting for another holder of the migration lock (MIGRATION_LOCK_TIMEOUT)', async () => {
    const db = await emptyDatabase();
    const holder = new Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATION_LOCK_KEY]);
      await expectRefusal(applyMigrations(db.url, { lockTimeoutMs: 300 }), 'MIGRATION_LOCK_TIMEOUT');
      expect(await tableExists(db.url, '_prisma_migrations')).toBe(false);
    } finally {
      await holder.end();
    }
    expect((await applyMigrations(db.url)).applied).toEqual(realNames);
  });
});

describe('migrate CLI (compiled, run as separate Node processes)', () => {
  let cli: string;

  beforeAll(() => {
    // Compile migrator + CLI the way the build lays them out (…/dist/src/infra/database/*.js), inside the
    // project so that the migrator has to walk up to package.json to find prisma/migrations.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const swc = require('@swc/core') as typeof SwcCore;
    const cache = join(root, 'node_modules', '.cache');
    mkdirSync(cache, { recursive: true });
    const out = join(mkdtempSync(join(cache, 'farpoint-migrator-test-')), 'dist', 'src', 'infra', 'database');
    cleanups.push(() => rmSync(dirname(dirname(dirname(dirname(out)))), { recursive: true, force: true }));
    mkdirSync(out, { recursive: true });
    for (const name of ['migrator', 'migrate.cli']) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { swcOptions } = require('../../../swc.options') as { swcOptions: (sourceMaps?: boolean | 'inline') => SwcCore.Options };
      const { code } = swc.transformFileSync(join(root, 'src', 'infra', 'database', `${name}.ts`), swcOptions(false));
      writeFileSync(join(out, `${name}.js`), code);
    }
    cli = join(out, 'migrate.cli.js');
  });

  function runCli(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [cli], { env: { ...process.env, ...env }, cwd: tmpdir() });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  it('applies prisma/migrations found by walking up from its own location, then reports up to date', async () => {
    const db = await emptyDatabase();
    const first = await runCli({ DATABASE_URL: db.url });
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toContain(`${realNames.length} migration(s) applied: ${realNames.join(', ')}`);
    const second = await runCli({ DATABASE_URL: db.url });
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('0 migration(s) applied');
  });

  it('exits 2 without DATABASE_URL and 1 with the error code on a refusal', async () => {
    const env = { ...process.env } as Record<string, string>;
    delete env.DATABASE_URL;
    const child = await new Promise<number | null>((resolve) => spawn(process.execPath, [cli], { env, stdio: 'ignore' }).on('close', resolve));
    expect(child).toBe(2);

    const db = await emptyDatabase();
    const dir = migrationsCopy();
    expect((await runCli({ DATABASE_URL: db.url, MIGRATIONS_DIR: dir })).code).toBe(0);
    appendFileSync(join(dir, realNames[0], 'migration.sql'), '-- edited\n');
    const refused = await runCli({ DATABASE_URL: db.url, MIGRATIONS_DIR: dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('MIGRATION_CHECKSUM_MISMATCH');
  });

  it('two processes started at once apply each migration exactly once (one waits on the advisory lock)', async () => {
    const db = await emptyDatabase();
    // A slow migration keeps the first process inside the lock long enough for the second to queue.
    const dir = migrationsCopy({
      '29990101000000_slow': 'SELECT pg_sleep(2);\nCREATE TABLE "Slow" ("id" INTEGER PRIMARY KEY);\n',
    });
    const all = [...realNames, '29990101000000_slow'];
    const env = { DATABASE_URL: db.url, MIGRATIONS_DIR: dir };

    // Watch pg_locks for a session waiting on Prisma's lock key in this database.
    let sawWaiter = false;
    let watching = true;
    const watcher = (async () => {
      const c = new Client({ connectionString: db.url });
      await c.connect();
      try {
        while (watching && !sawWaiter) {
          const { rows } = await c.query(
            `SELECT 1 FROM pg_locks l JOIN pg_database d ON d.oid = l.database
              WHERE l.locktype = 'advisory' AND l.objid = $1 AND NOT l.granted AND d.datname = current_database()`,
            [PRISMA_MIGRATION_LOCK_KEY],
          );
          sawWaiter = rows.length > 0;
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        await c.end();
      }
    })();
    const [a, b] = await Promise.all([runCli(env), runCli(env)]);
    watching = false;
    await watcher;

    expect([a.code, b.code, a.stderr, b.stderr]).toEqual([0, 0, '', '']);
    const applied = [a, b].map((r) => /applied: (.*)$/m.exec(r.stdout)?.[1].split(', ') ?? []);
    expect(applied.sort((x, y) => x.length - y.length)).toEqual([[], all]);
    expect(sawWaiter).toBe(true);
    const rows = await history(db.url);
    expect(rows.map((r) => r.migration_name)).toEqual(all);
    expect(rows.every((r) => r.finished_at !== null && r.applied_steps_count === 1)).toBe(true);
  });
});
