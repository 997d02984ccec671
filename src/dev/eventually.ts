import { setTimeout as sleep } from 'node:timers/promises';

export interface EventuallyOptions {
  /** Give up after this long (default 30 s: real apiservers and child processes are slow on 2 cores). */
  timeoutMs?: number;
  /** Longest wait between tries (default 200 ms); the first tries come after 5 ms and the wait grows from there. */
  intervalMs?: number;
  /** What is awaited, for the timeout message when `check` returns false rather than throwing. */
  what?: string;
}

/**
 * The one polling helper of the tests: retries `check` until it neither throws nor returns `false`,
 * and returns its value. On timeout it rethrows the last failure (an assertion error says what was
 * expected) or, for a check that returned false, says what it was waiting for. For state that settles
 * asynchronously (loops on timers, watches, informer caches, process exits), never as a timed assertion.
 */
export async function eventually<T>(check: () => T | Promise<T>, options: EventuallyOptions = {}): Promise<Exclude<T, false>> {
  const { timeoutMs = 30_000, intervalMs = 200, what = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  // Quick at first (timer loops in unit specs settle in milliseconds), then gentler on what is polled (an apiserver).
  let wait = Math.min(5, intervalMs);
  for (;;) {
    let failure: unknown;
    try {
      const value = await check();
      if (value !== false) {
        return value as Exclude<T, false>;
      }
      failure = new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    } catch (error) {
      failure = error;
    }
    if (Date.now() > deadline) {
      throw failure;
    }
    await sleep(wait);
    wait = Math.min(intervalMs, wait * 1.5);
  }
}
