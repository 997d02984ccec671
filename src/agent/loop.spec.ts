import { Wakeup } from './backoff';
import { runLoop, SerialQueue } from './loop';
import { capturedLog } from './testing/loops';

describe(runLoop.name, () => {
  it('runs steps until one answers done, and answers its value', async () => {
    const { log } = capturedLog();
    let steps = 0;
    const result = await runLoop(
      { name: 'test loop', log, backoff: { initialMs: 1, maxMs: 1 } },
      async () => (++steps === 3 ? { done: 'finished' } : 0),
      new AbortController().signal,
    );
    expect(result).toBe('finished');
    expect(steps).toBe(3);
  });

  it('logs an error a step throws and retries after its back-off, never rejecting', async () => {
    const { log, logs } = capturedLog();
    let steps = 0;
    const result = await runLoop(
      { name: 'test loop', log, backoff: { initialMs: 4, maxMs: 8, random: () => 1 } },
      async () => {
        steps += 1;
        if (steps <= 3) {
          throw new Error(`failure ${steps}`);
        }
        return { done: steps };
      },
      new AbortController().signal,
    );
    expect(result).toBe(4);
    expect(logs.map((l) => [l.level, l.msg, (l.error as { message: string }).message, l.delayMs])).toEqual([
      ['warn', 'test loop error; retrying', 'failure 1', 4],
      ['warn', 'test loop error; retrying', 'failure 2', 8],
      ['warn', 'test loop error; retrying', 'failure 3', 8],
    ]);
  });

  it('waits a Retry-After longer than its back-off, and starts the back-off over after succeeded()', async () => {
    const { log, logs } = capturedLog();
    let steps = 0;
    await runLoop(
      { name: 'test loop', log, backoff: { initialMs: 2, maxMs: 40, random: () => 1 } },
      async (ctx) => {
        steps += 1;
        if (steps === 1) {
          await ctx.retryLater('first', new Error('x'));
        }
        if (steps === 2) {
          await ctx.retryLater('second', new Error('x'), 30);
        }
        if (steps === 3) {
          ctx.succeeded();
        }
        if (steps === 4) {
          await ctx.retryLater('fourth', new Error('x'));
        }
        return steps === 4 ? { done: undefined } : 0;
      },
      new AbortController().signal,
    );
    expect(logs.map((l) => [l.msg, l.delayMs])).toEqual([
      ['first; retrying', 2],
      ['second; retrying', 30],
      ['fourth; retrying', 2],
    ]);
  });

  it('ends a wait when woken or when the signal aborts, and answers undefined when stopped', async () => {
    const { log } = capturedLog();
    const wakeup = new Wakeup();
    const controller = new AbortController();
    let steps = 0;
    const running = runLoop(
      { name: 'test loop', log, backoff: { initialMs: 1, maxMs: 1 }, wakeup },
      async () => {
        steps += 1;
        return 60_000;
      },
      controller.signal,
    );
    await new Promise((r) => setImmediate(r));
    expect(steps).toBe(1);
    wakeup.notify();
    await new Promise((r) => setImmediate(r));
    expect(steps).toBe(2);
    controller.abort();
    expect(await running).toBeUndefined();
    expect(steps).toBe(2);
  });

  it('does not step at all when the signal has already aborted', async () => {
    const { log } = capturedLog();
    const controller = new AbortController();
    controller.abort();
    const step = jest.fn(async () => 0);
    expect(await runLoop({ name: 'test loop', log, backoff: { initialMs: 1, maxMs: 1 } }, step, controller.signal)).toBeUndefined();
    expect(step).not.toHaveBeenCalled();
  });
});

describe(SerialQueue.name, () => {
  it('runs tasks one at a time in order, and a failed task does not stop the next', async () => {
    const queue = new SerialQueue();
    const events: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = queue.run(async () => {
      events.push('first start');
      await gate;
      events.push('first end');
      throw new Error('first failed');
    });
    const second = queue.run(async () => {
      events.push('second');
      return 2;
    });
    await new Promise((r) => setImmediate(r));
    expect(events).toEqual(['first start']);
    release();
    await expect(first).rejects.toThrow('first failed');
    expect(await second).toBe(2);
    expect(events).toEqual(['first start', 'first end', 'second']);
  });
});
