import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { PrismaClient } from '../../generated/prisma/client';
import { APP_CONFIG, AppConfig } from '../config/app-config';

/**
 * The one Prisma client of a process, on the Rust-free engine over node-postgres. Only repositories
 * inject it. It counts the SQL statements it sends, so tests can prove N+1-free resolvers.
 */
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleDestroy {
  private readonly logger = new Logger(PrismaService.name);
  private statements = 0;
  readonly pool: Pool;

  constructor(@Inject(APP_CONFIG) config: Pick<AppConfig, 'DATABASE_URL'>) {
    const pool = new Pool({ connectionString: config.DATABASE_URL, max: 10 });
    super({ adapter: new PrismaPg(pool) });
    this.pool = pool;
    // An idle connection that Postgres closes (restart, failover, a forced DROP DATABASE) makes the pool
    // emit 'error'; unhandled, that would crash the process. The pool replaces the connection on next use.
    pool.on('error', (error) => this.logger.warn(`idle Postgres connection lost: ${error.message}`));
    pool.on('connect', (client) => {
      const send = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        this.statements += 1;
        return send(...args);
      };
    });
  }

  /** SQL statements sent since the process started (a monotonic counter). */
  get sqlStatementCount(): number {
    return this.statements;
  }

  async isReachable(): Promise<boolean> {
    try {
      await this.$queryRawUnsafe('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
    await this.pool.end().catch(() => undefined);
  }
}
