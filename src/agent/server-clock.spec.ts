import { ServerClock } from './server-clock';

describe(ServerClock.name, () => {
  it('follows the API clock from the Date of the latest response, and keeps the skew without one', () => {
    let now = 1_000_000;
    const clock = new ServerClock(() => now);
    expect(clock.serverNow()).toBe(1_000_000);
    clock.observe(1_005_000);
    now += 100;
    expect(clock.serverNow()).toBe(1_005_100);
    clock.observe(undefined);
    expect(clock.serverNow()).toBe(1_005_100);
    clock.observe(999_100);
    expect(clock.serverNow()).toBe(999_100);
  });
});
