// Jest global setup for the integration and e2e projects (see jest.config.js). Runs once per jest run:
//   1. `bash scripts/services.sh up`: private Postgres (127.0.0.1:55432) and Redis (56379), or the servers
//      named by DATABASE_URL / REDIS_URL when those are set;
//   2. builds a fresh farpoint_test_template with every migration in prisma/migrations applied by the
//      real migrator (src/infra/database/migrator.ts);
//   3. exports, for the test workers (they inherit process.env):
//        DATABASE_URL           the server's maintenance database (do not write to it: createTestDatabase())
//        DATABASE_URL_TEMPLATE  the migrated template (clone it, never connect to it: connections are off)
//        REDIS_URL              the Redis server (use test/support/redis.ts for a private prefix / db)
//        FARPOINT_TEST_RUN_ID   names every database this run creates, so teardown can drop leftovers
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { applyMigrations } from '../../src/infra/database/migrator';
import { databaseUrl, quoteIdent, TEMPLATE_DATABASE, TEMPLATE_LOCK_KEY, TEST_DATABASE_PREFIX, withAdmin } from './database';

const root = join(__dirname, '..', '..');
/** Databases of runs older than this are dropped (left behind by crashed or interrupted runs). */
const STALE_AFTER_MS = 6 * 60 * 60 * 1000;

export default async function globalSetup(): Promise<void> {
  // With several projects selected (integration + e2e) jest calls this once per project.
  if (process.env.FARPOINT_TEST_RUN_ID) {
    return;
  }
  const started = Date.now();

  const out = execFileSync('bash', [join(root, 'scripts', 'services.sh'), 'up'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 5 * 60_000,
  });
  const env = Object.fromEntries(
    out
      .split('\n')
      .map((line) => /^(DATABASE_URL|REDIS_URL)=(.+)$/.exec(line.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2]]),
  );
  if (!env.DATABASE_URL || !env.REDIS_URL) {
    throw new Error(`scripts/services.sh up printed no DATABASE_URL/REDIS_URL lines:\n${out}`);
  }
  const runId = Date.now().toString(36);
  process.env.DATABASE_URL = env.DATABASE_URL;
  process.env.FARPOINT_TEST_ADMIN_URL = env.DATABASE_URL;
  process.env.REDIS_URL = env.REDIS_URL;
  process.env.FARPOINT_TEST_RUN_ID = runId;

  await dropStaleDatabases();

  // Build under a private name, then swap it in: another jest run on the same server may be cloning the
  // current template right now (it holds the lock shared while it does).
  const build = `${TEST_DATABASE_PREFIX}${runId}_template_build`;
  await withAdmin(async (admin) => {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(build)} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${quoteIdent(build)} TEMPLATE template0`);
  });
  await applyMigrations(databaseUrl(build));
  await withAdmin(async (admin) => {
    await admin.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK_KEY]);
    try {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [TEMPLATE_DATABASE]);
      if (rowCount) {
        await admin.query(`ALTER DATABASE ${quoteIdent(TEMPLATE_DATABASE)} WITH IS_TEMPLATE false`);
        await admin.query(`DROP DATABASE ${quoteIdent(TEMPLATE_DATABASE)} WITH (FORCE)`);
      }
      await admin.query(`ALTER DATABASE ${quoteIdent(build)} RENAME TO ${quoteIdent(TEMPLATE_DATABASE)}`);
      // Nobody may connect (and so write) to the template; CREATE DATABASE .. TEMPLATE still works.
      await admin.query(`ALTER DATABASE ${quoteIdent(TEMPLATE_DATABASE)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
    } finally {
      await admin.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK_KEY]);
    }
  });
  process.env.DATABASE_URL_TEMPLATE = databaseUrl(TEMPLATE_DATABASE);
  process.stderr.write(`\n[global-setup] services up, ${TEMPLATE_DATABASE} migrated in ${Date.now() - started} ms\n`);
}

/** Drops farpoint_test_<run id>_* databases whose run id (a base-36 timestamp) is older than STALE_AFTER_MS. */
async function dropStaleDatabases(): Promise<void> {
  await withAdmin(async (admin) => {
    const { rows } = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'farpoint\\_test\\_%' AND datname <> $1`, [TEMPLATE_DATABASE]);
    for (const { datname } of rows) {
      const runId = datname.slice(TEST_DATABASE_PREFIX.length).split('_')[0];
      const at = parseInt(runId, 36);
      if (Number.isFinite(at) && at > 0 && Date.now() - at > STALE_AFTER_MS) {
        await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`);
      }
    }
  });
}
