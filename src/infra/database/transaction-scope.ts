import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Marks the async context of a transaction's work, so the base client can refuse to be used there.
 * A base-client query inside a transaction needs a second pooled connection while the transaction
 * holds one; with enough concurrent transactions every connection is held by one that waits for
 * another, and none finishes (seen: 15 concurrent attaches on a 10-connection pool all failed).
 */
interface Scope {
  /** False once the work has settled: fire-and-forget work started inside may outlive it. */
  open: boolean;
}

const scopes = new AsyncLocalStorage<Scope>();

/** Runs a transaction's work inside the marked context. */
export async function runInTransactionScope<T>(work: () => Promise<T>): Promise<T> {
  const scope: Scope = { open: true };
  return scopes.run(scope, async () => {
    try {
      return await work();
    } finally {
      scope.open = false;
    }
  });
}

/** True while the caller runs inside a transaction's work. */
export function insideTransaction(): boolean {
  return scopes.getStore()?.open === true;
}

/** A query on the base client (or a nested transaction) from inside a transaction: a bug. */
export class BaseClientInTransactionError extends Error {
  constructor() {
    super(
      'The base database client was used inside a transaction; pass the transaction client (tx) to the repository instead. A second pooled connection per transaction deadlocks the pool under load.',
    );
    this.name = 'BaseClientInTransactionError';
  }
}
