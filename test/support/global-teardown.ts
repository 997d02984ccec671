// Jest global teardown (integration and e2e projects): drops the databases this run created and did not
// drop itself (farpoint_test_<run id>_*), e.g. after a failed test. The template stays for the next run,
// and Postgres/Redis keep running (`bash scripts/services.sh down` stops them).
import { quoteIdent, TEST_DATABASE_PREFIX, withAdmin } from './database';

export default async function globalTeardown(): Promise<void> {
  const runId = process.env.FARPOINT_TEST_RUN_ID;
  if (!runId || !(process.env.FARPOINT_TEST_ADMIN_URL ?? process.env.DATABASE_URL)) {
    return;
  }
  await withAdmin(async (admin) => {
    const { rows } = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [`${TEST_DATABASE_PREFIX}${runId}_`]);
    for (const { datname } of rows) {
      await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`);
    }
  });
}
