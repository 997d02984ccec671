import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { PrismaClient } from '../../generated/prisma/client';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { BaseClientInTransactionError, insideTransaction } from './transaction-scope';

type PoolConnect = (callback?: (error: Error | undefined, client?: unknown, done?: unknown) => void) => Promise<unknown> | undefined;

/**
 * The one Prisma client of a process, on the Rust-free engine over node-postgres. Only repositories
 * inject it. It counts the SQL statements it sends, so tests can prove N+1-free resolvers. Inside a
 * transaction's work it refuses to run (outside production; there it logs): see transaction-scope.ts.
 */
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleDestroy {
  private readonly logger = new Logger(PrismaService.name);
  private statements = 0;
  readonly pool: Pool;

  constructor(@Inject(APP_CONFIG) config: Pick<AppConfig, 'DATABASE_URL' | 'DATABASE_POOL_SIZE' | 'DATABASE_TX_MAX_WAIT_MS' | 'NODE_ENV'>) {
    // connectionTimeoutMillis: a saturated pool fails a waiting query (SERVICE_UNAVAILABLE) instead of queueing it forever.
    const pool = new Pool({ connectionString: config.DATABASE_URL, max: config.DATABASE_POOL_SIZE, connectionTimeoutMillis: config.DATABASE_TX_MAX_WAIT_MS });
    super({ adapter: new PrismaPg(pool) });
    this.pool = pool;
    this.guardTransactionScope(pool, config.NODE_ENV !== 'production');
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

  /**
   * Every base-client query and every transaction start checks a connection out of the pool; inside a
   * transaction's work that is a second connection, so it is refused (strict) or logged with its stack.
   */
  private guardTransactionScope(pool: Pool, strict: boolean): void {
    const connect = pool.connect.bind(pool) as PoolConnect;
    (pool as unknown as { connect: PoolConnect }).connect = (callback) => {
      if (insideTransaction()) {
        const error = new BaseClientInTransactionError();
        if (strict) {
          if (!callback) {
            return Promise.reject(error);
          }
          process.nextTick(() => callback(error));
          return undefined;
        }
        this.logger.error(error.message, error.stack);
      }
      return connect(callback);
    };
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
