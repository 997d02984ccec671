// Rate limits of the agent protocol against the real API and Redis: per client address on every
// endpoint, checked before the body is read or a credential looked up, and per cluster on the
// credentialed ones. Requests are counted in one-minute windows, so each test sends enough requests
// that some window must overflow even if the run crosses a minute boundary (n > 2 × limit), and
// asserts on outcomes, never on timing.
import { randomBytes, randomUUID } from 'node:crypto';
import { AgentErrorBodySchema, AgentPaths, AgentProtocolLimits, ReportsResponseSchema } from '../../src/protocol';
import { makeHeartbeatItem, makeReportsRequest } from '../../src/protocol/testing/factories';
import { startApi, type TestApi } from '../support/api';

const LIMIT = 2;

async function send(api: TestApi, method: 'GET' | 'POST', path: string, body?: unknown, credential?: string) {
  const headers: Record<string, string> = {};
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
  }
  if (credential) {
    headers.authorization = `Bearer ${credential}`;
  }
  const response = await fetch(`${api.url}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), json: (await response.json()) as any };
}

function expectRateLimited(response: { status: number; retryAfter: string | null; json: any }) {
  expect(response.status).toBe(429);
  expect(AgentErrorBodySchema.parse(response.json).error.code).toBe('RATE_LIMITED');
  expect(response.json.error.message).toContain(`at most ${LIMIT} a minute`);
  const retryAfter = Number(response.retryAfter);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
}

describe('agent protocol rate limits', () => {
  let anonymousApi: TestApi;
  let clusterApi: TestApi;

  beforeAll(async () => {
    [anonymousApi, clusterApi] = await Promise.all([
      startApi({ AGENT_ANONYMOUS_RATE_LIMIT_PER_MINUTE: String(LIMIT), ADDRESS_RATE_LIMIT_PER_MINUTE: String(LIMIT) }),
      // Registration is anonymous: allow it here so only the per-cluster budget is under test.
      startApi({ AGENT_RATE_LIMIT_PER_MINUTE: String(LIMIT), AGENT_ANONYMOUS_RATE_LIMIT_PER_MINUTE: '1000' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([anonymousApi?.close(), clusterApi?.close()]);
  });

  it('refuses an address that fetches manifests too often with RATE_LIMITED and Retry-After', async () => {
    const responses = [];
    for (let i = 0; i < 2 * LIMIT + 1; i++) {
      responses.push(await send(anonymousApi, 'GET', AgentPaths.manifests(`fpr_${randomBytes(32).toString('base64url')}`)));
    }
    const limited = responses.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(1);
    limited.forEach(expectRateLimited);
    // Within the budget the request is served as usual (here: an unknown token).
    for (const r of responses.filter((r) => r.status !== 429)) {
      expect(r.json.error.code).toBe('TOKEN_UNKNOWN');
    }
  });

  it('answers a refused report without a database statement (no credential lookup)', async () => {
    const outcomes: { status: number; statements: number }[] = [];
    for (let i = 0; i < 2 * LIMIT + 1; i++) {
      const before = anonymousApi.prisma.sqlStatementCount;
      const response = await send(
        anonymousApi,
        'POST',
        AgentPaths.reports,
        makeReportsRequest([makeHeartbeatItem(1)], { clusterId: randomUUID() }),
        `fpc_${randomBytes(32).toString('base64url')}`,
      );
      outcomes.push({ status: response.status, statements: anonymousApi.prisma.sqlStatementCount - before });
      if (response.status === 429) {
        expectRateLimited(response);
      }
    }
    const limited = outcomes.filter((o) => o.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(1);
    expect(limited.map((o) => o.statements)).toEqual(limited.map(() => 0));
    // Within the budget (the first requests: this test comes first on its bucket) the credential is
    // looked up, and is unknown: those cost statements.
    const served = outcomes.filter((o) => o.status !== 429);
    expect(served.length).toBeGreaterThanOrEqual(1);
    for (const o of served) {
      expect(o.status).toBe(401);
      expect(o.statements).toBeGreaterThanOrEqual(1);
    }
  });

  it.each([AgentPaths.register, AgentPaths.reports])('refuses a flood of oversized POSTs to %s from one address with 429 before reading a body (not 413)', async (path) => {
    // Larger than the protocol's body limit: a request whose body were looked at would be a 413.
    const oversized = JSON.stringify({ padding: 'x'.repeat(AgentProtocolLimits.maxBodyBytes + 1024) });
    const responses = [];
    for (let i = 0; i < 2 * LIMIT + 1; i++) {
      responses.push(await send(anonymousApi, 'POST', path, oversized, `fpc_${randomBytes(32).toString('base64url')}`));
    }
    const limited = responses.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(1);
    limited.forEach(expectRateLimited);
    for (const r of responses.filter((r) => r.status !== 429)) {
      expect(r.json.error.code).toBe('PAYLOAD_TOO_LARGE');
    }
  });

  it('refuses a cluster that reports too often, and stores nothing of the refused batches', async () => {
    const admin = await clusterApi.bootstrapOrg('rate');
    const group = await clusterApi.gqlOk(admin, 'mutation { createClusterGroup(input: { name: "g" }) { id } }');
    const attached = await clusterApi.gqlOk(admin, 'mutation($in: AttachClusterInput!) { attachCluster(input: $in) { cluster { id } registrationToken } }', {
      in: { name: 'busy', groupId: group.createClusterGroup.id },
    });
    const clusterId: string = attached.attachCluster.cluster.id;
    const registered = await send(clusterApi, 'POST', AgentPaths.register, {
      registrationToken: attached.attachCluster.registrationToken,
      clusterUid: randomUUID(),
      agentVersion: '0.1.0',
    });
    expect(registered.status).toBe(200);

    const responses = [];
    for (let seq = 1; seq <= 2 * LIMIT + 1; seq++) {
      responses.push({ seq, ...(await send(clusterApi, 'POST', AgentPaths.reports, makeReportsRequest([makeHeartbeatItem(seq)], { clusterId }), registered.json.credential)) });
    }
    const limited = responses.filter((r) => r.status === 429);
    const served = responses.filter((r) => r.status === 200);
    expect(limited.length).toBeGreaterThanOrEqual(1);
    expect(served.length + limited.length).toBe(responses.length);
    limited.forEach(expectRateLimited);
    // The stored sequence is the highest one that was served: refused batches left nothing behind.
    const stored = await clusterApi.prisma.clusterInventory.findUniqueOrThrow({ where: { clusterId } });
    expect(stored.ackedSeq).toBe(Math.max(...served.map((r) => ReportsResponseSchema.parse(r.json).ackedSeq)));
    expect(stored.ackedSeq).toBe(Math.max(...served.map((r) => r.seq)));
  });
});
