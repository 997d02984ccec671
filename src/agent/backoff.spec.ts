import { Backoff, sleep, Wakeup } from './backoff';

describe(Backoff.name, () => {
  it('doubles up to the maximum with 50–100 % jitter, and starts over after reset', () => {
    const low = new Backoff(1000, 8000, () => 0);
    expect([low.next(), low.next(), low.next(), low.next(), low.next()]).toEqual([500, 1000, 2000, 4000, 4000]);
    const high = new Backoff(1000, 8000, () => 1);
    expect([high.next(), high.next()]).toEqual([1000, 2000]);
    high.reset();
    expect(high.next()).toBe(1000);
  });

  it('waits at least as long as Retry-After asks, up to the maximum', () => {
    const backoff = new Backoff(1000, 60_000, () => 0);
    expect(backoff.next(30_000)).toBe(30_000);
    expect(backoff.next(600_000)).toBe(60_000);
  });
});

describe(Wakeup.name, () => {
  it('wakes every waiter on notify', async () => {
    const wakeup = new Wakeup();
    const started = Date.now();
    const waits = [wakeup.wait(10_000), wakeup.wait(10_000)];
    wakeup.notify();
    await Promise.all(waits);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('ends a wait and a sleep when the signal aborts', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const waits = [new Wakeup().wait(10_000, controller.signal), sleep(10_000, controller.signal)];
    controller.abort();
    await Promise.all(waits);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
