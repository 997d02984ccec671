// A concurrent request, deterministically: a second connection that writes inside an open transaction
// (holding its row locks) and commits only once another session of the database is seen waiting for a
// lock, i.e. once the code under test has reached the point where it must wait for that writer.
//
//   const writer = await CompetingWriter.begin(svc.db.url);
//   await writer.query(`UPDATE "Cluster" SET "phase" = 'ATTACHED' WHERE "id" = $1`, [cluster.id]);
//   const deleting = clusters.delete(principal, cluster.id);   // blocks on the row lock
//   await writer.commitOnceBlocked();
//   await expect(deleting).rejects.toMatchObject({ code: 'CONFLICT' });
import { Client } from 'pg';

export class CompetingWriter {
  private constructor(
    private readonly writer: Client,
    private readonly watcher: Client,
  ) {}

  static async begin(url: string): Promise<CompetingWriter> {
    const writer = new Client({ connectionString: url, application_name: 'farpoint-test-competitor' });
    const watcher = new Client({ connectionString: url, application_name: 'farpoint-test-watcher' });
    await Promise.all([writer.connect(), watcher.connect()]);
    await writer.query('BEGIN');
    return new CompetingWriter(writer, watcher);
  }

  async query(sql: string, params: unknown[] = []): Promise<void> {
    await this.writer.query(sql, params);
  }

  /** Waits until some session of this database waits for a lock, then commits and closes both connections. */
  async commitOnceBlocked(): Promise<void> {
    try {
      // A bound, not a timing assumption: if nothing ever waits, the code under test never reached the lock.
      for (let polls = 0; ; polls++) {
        const { rows } = await this.watcher.query<{ waiting: number }>(
          `SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        if (rows[0].waiting > 0) {
          break;
        }
        if (polls > 1000) {
          throw new Error('no session waited for the competing writer’s locks');
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await this.writer.query('COMMIT');
    } finally {
      await this.end();
    }
  }

  /** Rolls back (if still open) and closes. Safe to call twice. */
  async end(): Promise<void> {
    await this.writer.query('ROLLBACK').catch(() => undefined);
    await Promise.all([this.writer.end().catch(() => undefined), this.watcher.end().catch(() => undefined)]);
  }
}
