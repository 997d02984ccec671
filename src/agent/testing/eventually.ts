/** Polls until check() holds; fails with `what` after ms. For tests of loops that run on timers. */
export async function eventually(check: () => boolean, what = 'condition', ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
