import { Backoff, sleep, type Wakeup } from './backoff';
import type { Logger } from './logger';

/** What a step answers: wait this long (ms) before the next step, or end the loop with a value. */
export type StepResult<T> = number | { done: T };

export interface LoopContext {
  readonly signal: AbortSignal;
  /** Logs `<what>; retrying` and sleeps the loop's next back-off delay (a longer Retry-After wins). */
  retryLater(what: string, error: unknown, retryAfterMs?: number): Promise<void>;
  /** The work succeeded: the next failure waits the initial delay again. */
  succeeded(): void;
}

export interface BackoffSettings {
  initialMs: number;
  maxMs: number;
  random?: () => number;
}

export interface LoopOptions {
  /** Names the loop in the log line of an error a step throws. */
  name: string;
  log: Logger;
  backoff: BackoffSettings;
  /** Ends a step's wait early (new work); back-off sleeps are never cut short. */
  wakeup?: Wakeup;
}

/**
 * The shape of every agent loop: run `step` until the signal aborts or a step answers `{ done }`.
 * Each run has its own back-off; an error a step throws is logged and the step retried after it, so
 * a loop never rejects and never ends the process. Answers the done value, or undefined when stopped.
 */
export async function runLoop<T = never>(options: LoopOptions, step: (ctx: LoopContext) => Promise<StepResult<T>>, signal: AbortSignal): Promise<T | undefined> {
  const { log, wakeup } = options;
  const backoff = new Backoff(options.backoff.initialMs, options.backoff.maxMs, options.backoff.random);
  const ctx: LoopContext = {
    signal,
    retryLater: async (what, error, retryAfterMs) => {
      const delayMs = backoff.next(retryAfterMs);
      log.warn(`${what}; retrying`, { error, delayMs: Math.round(delayMs) });
      await sleep(delayMs, signal);
    },
    succeeded: () => backoff.reset(),
  };
  while (!signal.aborted) {
    let waitMs: number;
    try {
      const result = await step(ctx);
      if (typeof result !== 'number') {
        return result.done;
      }
      waitMs = result;
    } catch (error) {
      await ctx.retryLater(`${options.name} error`, error);
      continue;
    }
    if (waitMs > 0 && !signal.aborted) {
      await (wakeup ? wakeup.wait(waitMs, signal) : sleep(waitMs, signal));
    }
  }
  return undefined;
}

/**
 * Runs tasks one at a time in the order they were queued, for work that must not interleave (writes
 * of one object). A failed task rejects its own caller only; the next one runs anyway.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
