import { Client } from 'pg';
import { applyMigrations } from '../src/infra/database/migrator';

/** Nearest-rank percentile of unsorted values. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** A fresh, fully migrated database for one benchmark run on the DATABASE_URL server; drop() removes it. */
export async function createBenchDatabase(name: string): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = process.env.DATABASE_URL;
  if (!admin || !process.env.REDIS_URL) {
    throw new Error('run through `npm run bench` (it starts Postgres and Redis and sets FARPOINT_TOOLS_BIN)');
  }
  const dbName = `farpoint_bench_${name}_${Date.now()}`;
  const pg = new Client(admin);
  await pg.connect();
  await pg.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(admin);
  url.pathname = `/${dbName}`;
  await applyMigrations(url.toString());
  return {
    url: url.toString(),
    async drop() {
      await pg.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await pg.end();
    },
  };
}
