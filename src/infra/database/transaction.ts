import { Injectable } from '@nestjs/common';
import { FarpointError } from '../../common/errors/farpoint-error';
import { Prisma } from '../../generated/prisma/client';
import { isUniqueViolation } from './prisma-errors';
import { PrismaService } from './prisma.service';

/** An open database transaction, passed opaquely from services to repositories. */
export type Tx = Prisma.TransactionClient;

/** Runs multi-row writes atomically: either every repository call inside commits, or none does. */
@Injectable()
export class TransactionRunner {
  constructor(private readonly prisma: PrismaService) {}

  run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(work, { maxWait: 5_000, timeout: 15_000 });
  }

  /** Like run; a unique-constraint violation (a taken name) becomes CONFLICT with the caller's sentence. */
  async runOrConflict<T>(work: (tx: Tx) => Promise<T>, conflictMessage: string, field = 'name'): Promise<T> {
    try {
      return await this.run(work);
    } catch (error) {
      if (isUniqueViolation(error)) throw FarpointError.conflict(conflictMessage, field);
      throw error;
    }
  }
}
