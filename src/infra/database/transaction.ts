import { Inject, Injectable } from '@nestjs/common';
import { FarpointError } from '../../common/errors/farpoint-error';
import { Prisma } from '../../generated/prisma/client';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { isUniqueViolation } from './prisma-errors';
import { PrismaService } from './prisma.service';
import { runInTransactionScope } from './transaction-scope';

/** An open database transaction, passed opaquely from services to repositories. */
export type Tx = Prisma.TransactionClient;

/**
 * Runs multi-row writes atomically: either every repository call inside commits, or none does.
 * Inside `work` only `tx` may reach the database: repository methods that run in a transaction take it
 * as their first argument, and the base client refuses to run there (transaction-scope.ts).
 */
@Injectable()
export class TransactionRunner {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'DATABASE_TX_MAX_WAIT_MS' | 'DATABASE_TX_TIMEOUT_MS'>,
  ) {}

  run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.prisma.$transaction((tx) => runInTransactionScope(() => work(tx)), { maxWait: this.config.DATABASE_TX_MAX_WAIT_MS, timeout: this.config.DATABASE_TX_TIMEOUT_MS });
  }

  /** Like run; a unique-constraint violation (a taken name) becomes CONFLICT with the caller's sentence. */
  async runOrConflict<T>(work: (tx: Tx) => Promise<T>, conflictMessage: string, field = 'name'): Promise<T> {
    try {
      return await this.run(work);
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw FarpointError.conflict(conflictMessage, field);
      }
      throw error;
    }
  }
}
