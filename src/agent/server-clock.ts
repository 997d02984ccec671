/**
 * The API's clock as the agent sees it: our clock plus the skew from the HTTP Date header of the
 * latest response. Credential lifetimes are the API's, so rotation is planned by this clock.
 */
export class ServerClock {
  private skewMs = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** Records the Date of a response (ms); a response without one changes nothing. */
  observe(serverTime: number | undefined): void {
    if (serverTime !== undefined) {
      this.skewMs = serverTime - this.now();
    }
  }

  serverNow(): number {
    return this.now() + this.skewMs;
  }
}
