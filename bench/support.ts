import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
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

/** Polls `read` until `done` holds (a failed read counts as not yet), or throws after timeoutMs. */
export async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 120_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    let read_ = false;
    try {
      last = await read();
      read_ = true;
    } catch {
      // not there yet
    }
    if (read_ && done(last as T)) {
      return last as T;
    }
    if (Date.now() > deadline) {
      throw new Error(`gave up waiting for ${what}; last: ${JSON.stringify(last)?.slice(0, 500)}`);
    }
    await sleep(intervalMs);
  }
}

/** A child process of a benchmark: its last 20 kB of output, whether it runs, stop(). */
export class Child {
  private out = '';
  readonly exited: Promise<number | null>;
  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.out = (this.out + d).slice(-20_000)));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.out = (this.out + d).slice(-20_000)));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }
  get output() {
    return this.out;
  }
  get running() {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
  async stop(signal: NodeJS.Signals = 'SIGTERM') {
    if (this.running) {
      this.child.kill(signal);
    }
    return this.exited;
  }
}

/** A GraphQL client of the benchmarks: POST /graphql with a bearer token; throws on GraphQL errors. */
export function graphqlClient(base: string, token: string) {
  return async <T>(query: string, variables: Record<string, unknown> = {}): Promise<T> => {
    const response = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: T; errors?: unknown };
    if (body.errors) {
      throw new Error(JSON.stringify(body.errors));
    }
    return body.data!;
  };
}
