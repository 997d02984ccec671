// GraphQL rate limits against the real API and Redis: per client address before the body is read
// (X-Forwarded-For honoured only when TRUST_PROXY trusts the proxy), per API token after
// authentication, and failing open when Redis is down. Counted in one-minute windows, so each test
// sends more than twice the limit (some window must overflow even across a minute boundary) and
// asserts on outcomes, never on timing.
import { freePort } from '../../src/dev/free-port';
import { type GqlResponse, startApi, type TestApi } from '../support/api';

const LIMIT = 2;
const QUERY = 'query { viewer { role } }';

let direct: TestApi;
let proxied: TestApi;

beforeAll(async () => {
  [direct, proxied] = await Promise.all([
    startApi({ ADDRESS_RATE_LIMIT_PER_MINUTE: String(LIMIT) }),
    // Behind a proxy on loopback (where the tests' requests come from); the token limit is under test here too.
    startApi({ ADDRESS_RATE_LIMIT_PER_MINUTE: String(LIMIT), GRAPHQL_RATE_LIMIT_PER_MINUTE: String(LIMIT), TRUST_PROXY: '127.0.0.1' }),
  ]);
});
afterAll(async () => {
  await Promise.all([direct?.close(), proxied?.close()]);
});

let address = 0;
/** A client address no other request of this file uses. */
const freshAddress = () => `203.0.113.${++address}`;

function expectRateLimited(response: GqlResponse, limit: string) {
  expect(response.errors?.[0].extensions?.code).toBe('RATE_LIMITED');
  expect(response.errors?.[0].message).toContain(`at most ${LIMIT} a minute are accepted from ${limit}`);
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(response.errors?.[0].extensions?.retryAfterSeconds).toBe(retryAfter);
}

describe('GraphQL rate limits', () => {
  it('refuses an address with 429 before authenticating, ignoring X-Forwarded-For by default', async () => {
    const responses: GqlResponse[] = [];
    for (let i = 0; i < 2 * LIMIT + 1; i++) {
      responses.push(await direct.gql(undefined, QUERY, undefined, { 'x-forwarded-for': freshAddress() }));
    }
    const limited = responses.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(1);
    limited.forEach((r) => expectRateLimited(r, 'one address'));
    for (const r of responses.filter((r) => r.status !== 429)) {
      expect(r.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    }
  });

  it('keys the address limit by X-Forwarded-For when TRUST_PROXY trusts the proxy', async () => {
    const distinct: GqlResponse[] = [];
    for (let i = 0; i < 2 * LIMIT + 1; i++) {
      distinct.push(await proxied.gql(undefined, QUERY, undefined, { 'x-forwarded-for': freshAddress() }));
    }
    // One request per client address: none is over its limit.
    expect(distinct.map((r) => r.errors?.[0].extensions?.code)).toEqual(distinct.map(() => 'UNAUTHENTICATED'));
    const same = freshAddress();
    const repeated: GqlResponse[] = [];
    for (let i = 0; i < 2 * LIMIT + 1; i++) {
      repeated.push(await proxied.gql(undefined, QUERY, undefined, { 'x-forwarded-for': same }));
    }
    const limited = repeated.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(1);
    limited.forEach((r) => expectRateLimited(r, 'one address'));
  });

  it('refuses a token beyond GRAPHQL_RATE_LIMIT_PER_MINUTE with RATE_LIMITED and Retry-After; another token is still served', async () => {
    const [busy, quiet] = await Promise.all([proxied.bootstrapOrg('busy'), proxied.bootstrapOrg('quiet')]);
    const responses: GqlResponse[] = [];
    // From fresh addresses, so only the token's limit can refuse.
    for (let i = 0; i < 2 * LIMIT + 1; i++) {
      responses.push(await proxied.gql(busy, '{ viewer { role } again: viewer { role } }', undefined, { 'x-forwarded-for': freshAddress() }));
    }
    const limited = responses.filter((r) => r.errors?.length);
    expect(limited.length).toBeGreaterThanOrEqual(1);
    limited.forEach((r) => expectRateLimited(r, 'one API token'));
    expect(limited.map((r) => r.status)).toEqual(limited.map(() => 429));
    // Both root fields of a request share its one count: a served request answers both.
    for (const r of responses.filter((r) => !r.errors?.length)) {
      expect(r.data).toEqual({ viewer: { role: 'ADMIN' }, again: { role: 'ADMIN' } });
    }
    const other = await proxied.gql(quiet, QUERY, undefined, { 'x-forwarded-for': freshAddress() });
    expect(other.errors).toBeUndefined();
    expect(other.data).toEqual({ viewer: { role: 'ADMIN' } });
  });

  it('lets requests through when Redis is down (fails open) instead of answering errors', async () => {
    // Nothing listens on this port: every Redis command fails.
    const down = await startApi({
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      ADDRESS_RATE_LIMIT_PER_MINUTE: '1',
      GRAPHQL_RATE_LIMIT_PER_MINUTE: '1',
      AGENT_ANONYMOUS_RATE_LIMIT_PER_MINUTE: '1',
    });
    try {
      const token = await down.bootstrapOrg('no-redis');
      for (let i = 0; i < 3; i++) {
        expect((await down.gql(token, QUERY)).data).toEqual({ viewer: { role: 'ADMIN' } });
      }
      for (let i = 0; i < 3; i++) {
        const response = await fetch(`${down.url}/agent/v1/manifests/fpr_${'a'.repeat(43)}.yaml`);
        expect(response.status).toBe(404);
        expect(((await response.json()) as { error: { code: string } }).error.code).toBe('TOKEN_UNKNOWN');
      }
      expect((await fetch(`${down.url}/readyz`)).status).toBe(503);
    } finally {
      await down.close();
    }
  });
});
