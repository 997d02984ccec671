// Per-test-file Postgres databases for integration and e2e tests.
//
//   const db = await createTestDatabase();   // fresh, fully migrated, isolated: CREATE DATABASE .. TEMPLATE
//   ... new PrismaClient({ adapter: new PrismaPg({ connectionString: db.url }) }) / new pg.Client(db.url)
//   await db.drop();                          // in afterAll (global teardown drops leftovers of the run)
//
// The template (farpoint_test_template, all of prisma/migrations applied) is built once per jest run by
// test/support/global-setup.ts, so cloning takes a fraction of a second. Never point a test at
// process.env.DATABASE_URL itself: that is the server's shared maintenance database.
//
// Several jest runs may share one Postgres server (a shared work tree runs one private instance), so
// swapping in a new template (exclusive) and cloning it (shared) hold an advisory lock on the
// maintenance database, and every database a run creates is named farpoint_test_<run id>_....
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

export const TEMPLATE_DATABASE = 'farpoint_test_template';
/** Advisory lock key guarding the template (arbitrary, distinct from Prisma's migration lock). */
export const TEMPLATE_LOCK_KEY = 4_207_311;
/** Prefix of every database the test helpers create. */
export const TEST_DATABASE_PREFIX = 'farpoint_test_';

export interface TestDatabase {
  name: string;
  /** Connection string for this database (same server and credentials as DATABASE_URL). */
  url: string;
  /** Drops the database, closing any connections still open to it. Safe to call twice. */
  drop(): Promise<void>;
}

/** The server's maintenance database URL (DATABASE_URL as printed by scripts/services.sh). */
export function adminDatabaseUrl(): string {
  const url = process.env.FARPOINT_TEST_ADMIN_URL ?? process.env.DATABASE_URL;
  if (!url) {
    throw new Error('DATABASE_URL is not set: run tests through jest (test/support/global-setup.ts)');
  }
  return url;
}

/** The URL of database `name` on the same server as `base`. */
export function databaseUrl(name: string, base: string = adminDatabaseUrl()): string {
  const url = new URL(base);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.toString();
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A run id that sorts by time: base-36 milliseconds. Set once per jest run by global setup. */
export function testRunId(): string {
  return process.env.FARPOINT_TEST_RUN_ID ?? `${Date.now().toString(36)}`;
}

let counter = 0;

/**
 * Creates an isolated database for one test file: a clone of the migrated template by default, or an
 * empty one (`{ migrated: false }`, cloned from template0) for tests of the migrator itself.
 */
export async function createTestDatabase(opts: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const migrated = opts.migrated ?? true;
  const name = `${TEST_DATABASE_PREFIX}${testRunId()}_${process.pid}_${++counter}_${randomBytes(3).toString('hex')}`;
  await withAdmin(async (admin) => {
    if (migrated) {
      await admin.query('SELECT pg_advisory_lock_shared($1)', [TEMPLATE_LOCK_KEY]);
      try {
        await admin.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(TEMPLATE_DATABASE)}`);
      } finally {
        await admin.query('SELECT pg_advisory_unlock_shared($1)', [TEMPLATE_LOCK_KEY]);
      }
    } else {
      await admin.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0`);
    }
  });
  let dropped = false;
  return {
    name,
    url: databaseUrl(name),
    async drop() {
      if (dropped) {
        return;
      }
      dropped = true;
      await dropDatabase(name);
    },
  };
}

/** DROP DATABASE IF EXISTS .. WITH (FORCE): ends sessions still connected (e.g. a pool not closed). */
export async function dropDatabase(name: string): Promise<void> {
  await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
}

/** Runs `fn` with a connection to the maintenance database, closed afterwards. */
export async function withAdmin<T>(fn: (admin: Client) => Promise<T>): Promise<T> {
  const admin = new Client({ connectionString: adminDatabaseUrl(), application_name: 'farpoint-test-admin' });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}
