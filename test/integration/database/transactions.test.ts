// The transaction rules against a real Postgres: inside a transaction only the transaction client
// reaches the database (the base client and nested transactions are refused, and nothing of the
// transaction is kept), and a pool that cannot give a connection fails fast with an error that is
// classified as "database unavailable" (SERVICE_UNAVAILABLE to clients), never waits without end.
import { ConsoleLogger, Logger } from '@nestjs/common';
import type { PoolClient } from 'pg';
import { type AppConfig } from '../../../src/infra/config/app-config';
import { isDatabaseUnavailable } from '../../../src/infra/database/prisma-errors';
import { PrismaService } from '../../../src/infra/database/prisma.service';
import { TransactionRunner } from '../../../src/infra/database/transaction';
import { BaseClientInTransactionError } from '../../../src/infra/database/transaction-scope';
import { createTestDatabase, type TestDatabase } from '../../support/database';

type DbConfig = Pick<AppConfig, 'DATABASE_URL' | 'DATABASE_POOL_SIZE' | 'DATABASE_TX_MAX_WAIT_MS' | 'DATABASE_TX_TIMEOUT_MS' | 'NODE_ENV'>;

let db: TestDatabase;
const opened: PrismaService[] = [];

function open(overrides: Partial<DbConfig> = {}): { prisma: PrismaService; transactions: TransactionRunner } {
  const config: DbConfig = { DATABASE_URL: db.url, DATABASE_POOL_SIZE: 4, DATABASE_TX_MAX_WAIT_MS: 2_000, DATABASE_TX_TIMEOUT_MS: 10_000, NODE_ENV: 'test', ...overrides };
  const prisma = new PrismaService(config);
  opened.push(prisma);
  return { prisma, transactions: new TransactionRunner(prisma, config) };
}

const organizationNamed = (prisma: PrismaService, name: string) => prisma.organization.findUnique({ where: { name } });

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  for (const prisma of opened) {
    await prisma.onModuleDestroy();
  }
  await db?.drop();
});

describe('inside a transaction only the transaction client', () => {
  it('refuses a base-client read inside a transaction and rolls the transaction back', async () => {
    const { prisma, transactions } = open();
    const attempt = transactions.run(async (tx) => {
      await tx.organization.create({ data: { name: 'guard-read', displayName: 'Guard read' } });
      // The mistake this guards against: a repository read without the tx.
      return prisma.organization.findMany();
    });
    await expect(attempt).rejects.toBeInstanceOf(BaseClientInTransactionError);
    expect(await organizationNamed(prisma, 'guard-read')).toBeNull();
  });

  it('refuses raw SQL on the base client and a nested transaction the same way', async () => {
    const { prisma, transactions } = open();
    await expect(transactions.run(() => prisma.$queryRawUnsafe('SELECT 1'))).rejects.toBeInstanceOf(BaseClientInTransactionError);
    await expect(transactions.run(() => transactions.run((inner) => inner.organization.count()))).rejects.toBeInstanceOf(BaseClientInTransactionError);
  });

  it('lets the transaction client, the base client outside, and work that outlives the transaction run', async () => {
    const { prisma, transactions } = open();
    let later: Promise<unknown> | undefined;
    const created = await transactions.run(async (tx) => {
      const organization = await tx.organization.create({ data: { name: 'guard-ok', displayName: 'Guard ok' } });
      const release = new Promise<void>((resolve) => setImmediate(resolve));
      // Started inside, runs after the transaction settled: no longer inside it.
      later = release.then(() => new Promise((resolve) => setImmediate(resolve))).then(() => organizationNamed(prisma, 'guard-ok'));
      return organization;
    });
    expect((await organizationNamed(prisma, 'guard-ok'))?.id).toBe(created.id);
    await expect(later).resolves.toMatchObject({ id: created.id });
  });

  it('concurrent transactions on a one-connection pool all finish: none needs a second connection', async () => {
    const { transactions } = open({ DATABASE_POOL_SIZE: 1 });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        transactions.run(async (tx) => {
          const organization = await tx.organization.create({ data: { name: `one-connection-${i}`, displayName: `One ${i}` } });
          return tx.organization.findUniqueOrThrow({ where: { id: organization.id } });
        }),
      ),
    );
    expect(results.map((o) => o.name).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `one-connection-${i}`).sort());
  });

  it('in production the base client is not refused but logged with its stack, so a missed path degrades instead of failing', async () => {
    const { prisma, transactions } = open({ NODE_ENV: 'production' });
    const errors: string[] = [];
    Logger.overrideLogger({ log: () => undefined, warn: () => undefined, error: (message: string) => void errors.push(message) });
    try {
      await expect(transactions.run(() => prisma.organization.count())).resolves.toEqual(expect.any(Number));
    } finally {
      Logger.overrideLogger(new ConsoleLogger());
    }
    expect(errors).toEqual([expect.stringContaining('base database client was used inside a transaction')]);
  });
});

describe('a pool that cannot give a connection', () => {
  it('fails a query and a transaction start within DATABASE_TX_MAX_WAIT_MS, as "database unavailable"', async () => {
    const { prisma, transactions } = open({ DATABASE_POOL_SIZE: 2, DATABASE_TX_MAX_WAIT_MS: 200 });
    const held: PoolClient[] = [await prisma.pool.connect(), await prisma.pool.connect()];
    try {
      const query = await prisma.organization.count().then(
        () => 'answered',
        (error: unknown) => error,
      );
      const transaction = await transactions
        .run((tx) => tx.organization.count())
        .then(
          () => 'answered',
          (error: unknown) => error,
        );
      expect({ query: isDatabaseUnavailable(query), transaction: isDatabaseUnavailable(transaction) }).toEqual({ query: true, transaction: true });
      expect(String((transaction as Error).message)).toContain('Unable to start a transaction in the given time');
    } finally {
      for (const client of held) {
        client.release();
      }
    }
    // The pool recovers once connections come back.
    await expect(transactions.run((tx) => tx.organization.count())).resolves.toEqual(expect.any(Number));
  });

  it('classifies a database that refuses connections as unavailable', async () => {
    const { prisma, transactions } = open({ DATABASE_URL: 'postgresql://farpoint@127.0.0.1:1/none', DATABASE_TX_MAX_WAIT_MS: 500 });
    const query = await prisma.organization.count().then(
      () => 'answered',
      (error: unknown) => error,
    );
    const transaction = await transactions
      .run((tx) => tx.organization.count())
      .then(
        () => 'answered',
        (error: unknown) => error,
      );
    expect({ query: isDatabaseUnavailable(query), transaction: isDatabaseUnavailable(transaction) }).toEqual({ query: true, transaction: true });
  });
});
