import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls until `check` returns without throwing, then returns its value; after `timeoutMs` rethrows the
 * last failure. For state that settles asynchronously (watches, informer-fed caches, process exit).
 */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 30_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await sleep(intervalMs);
  }
}

/** The apiserver's Status message of a client-node ApiException (its body is Status JSON), else the error message. */
export function errorText(err: unknown): string {
  const e = err as { body?: unknown; message?: string } | undefined;
  let body = e?.body;
  if (typeof body === 'string') {
    const text = body;
    try {
      body = JSON.parse(text);
    } catch {
      return text;
    }
  }
  const message = (body as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : String(e?.message ?? err);
}
