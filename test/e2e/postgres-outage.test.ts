// Postgres unreachable under load, over HTTP against the real application and database. The API reaches
// the real Postgres through a TCP link this test cuts (every open connection reset, every new one
// refused, as a failed database host or a lost network path would) while fifty clients keep writing
// through GraphQL and calling the agent protocol:
//   - while the link is down every answer is a success or 503 SERVICE_UNAVAILABLE with Retry-After,
//     never a 500 or INTERNAL_SERVER_ERROR;
//   - when the link returns the same API process serves again, no restart or manual step (the pool
//     drops its dead connections and opens new ones);
//   - every write the API acknowledged is in Postgres.
import { randomBytes } from 'node:crypto';
import { SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS } from '../../src/common/errors/farpoint-error';
import { eventually } from '../../src/dev/eventually';
import { AgentErrorBodySchema, AgentPaths } from '../../src/protocol';
import { startApi, type TestApi } from '../support/api';
import { CuttableLink } from '../support/cuttable-link';
import { adminDatabaseUrl } from '../support/database';

jest.setTimeout(180_000);

const CLIENTS = 50;
const POOL_SIZE = 5; // fewer connections than clients: the pool is contended throughout
const unique = () => randomBytes(5).toString('hex');

interface Answer {
  phase: 'before' | 'down' | 'after';
  /** Sent and answered while the link was down (not spanning the cut or the repair). */
  insideOutage: boolean;
  name: string;
  status: number;
  code?: string;
  retryAfter: string | null;
  ok: boolean;
}

let api: TestApi;
let admin: string;
const link = new CuttableLink();
let phase: Answer['phase'] = 'before';
let hammering = true;
const answers: Answer[] = [];
/** The running clients; afterAll waits for them, so a failed check never leaves them hitting a closed API. */
let clients: Promise<void>[] = [];

/** One client: createSite after createSite until told to stop, recording every answer. */
async function client(): Promise<void> {
  while (hammering) {
    const name = `outage-${unique()}`;
    const sentIn = phase;
    const res = await api.gql(admin, 'mutation($in: CreateSiteInput!) { createSite(input: $in) { id name } }', { in: { name, tier: 'FAR_EDGE', region: 'eu' } });
    const ok = res.status === 200 && !res.errors?.length && res.data?.createSite?.name === name;
    // An answer counts for the phase it was sent in and answered in (a request that spans a cut is "down").
    const answeredIn = sentIn === phase ? phase : 'down';
    answers.push({
      phase: answeredIn,
      insideOutage: sentIn === 'down' && phase === 'down',
      name,
      status: res.status,
      code: res.errors?.[0]?.extensions?.code,
      retryAfter: res.headers.get('retry-after'),
      ok,
    });
    if (!ok) {
      await new Promise((resolve) => setTimeout(resolve, 20)); // a client that respects Retry-After would wait longer
    }
  }
}

const register = () =>
  fetch(`${api.url}${AgentPaths.register}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ registrationToken: `fpr_${'x'.repeat(43)}`, clusterUid: '5a6b7c8d-2b7d-4e8f-9a6b-1c2d3e4f5a6b', agentVersion: '0.1.0' }),
  });

beforeAll(async () => {
  const postgres = new URL(adminDatabaseUrl());
  await link.start(postgres.hostname, Number(postgres.port || 5432));
  api = await startApi({ DATABASE_POOL_SIZE: String(POOL_SIZE), DATABASE_TX_MAX_WAIT_MS: '1000' }, (url) => {
    const through = new URL(url);
    through.hostname = '127.0.0.1';
    through.port = String(link.port);
    return through.toString();
  });
  admin = await api.bootstrapOrg('outage-org');
}, 60_000);

afterAll(async () => {
  hammering = false;
  link.up();
  await Promise.allSettled(clients);
  await api?.close();
  await link.stop();
});

it(`${CLIENTS} clients writing while the link to Postgres is cut and restored`, async () => {
  clients = Array.from({ length: CLIENTS }, () => client());
  const count = (p: Answer['phase'], ok: boolean) => answers.filter((a) => a.phase === p && a.ok === ok).length;

  await eventually(() => count('before', true) >= CLIENTS, { what: `${CLIENTS} sites created before the cut`, timeoutMs: 60_000 });

  phase = 'down';
  link.down();
  await eventually(() => count('down', false) >= 2 * CLIENTS, { what: 'refused writes while Postgres is unreachable', timeoutMs: 60_000 });
  const agentWhileDown = await register();
  const agentWhileDownBody = AgentErrorBodySchema.parse(await agentWhileDown.json());

  phase = 'after';
  link.up();
  await eventually(() => count('after', true) >= CLIENTS, { what: 'writes succeeding again after the link returned', timeoutMs: 60_000 });
  hammering = false;
  await Promise.all(clients);

  // Every answer was a success or a retryable 503; nothing was an internal error.
  const wrong = answers.filter((a) => !a.ok && !(a.status === 503 && a.code === 'SERVICE_UNAVAILABLE' && a.retryAfter === String(SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS)));
  expect({ wrong: wrong.length, first: wrong[0] }).toEqual({ wrong: 0, first: undefined });
  // The outage was real: no write sent and answered while the link was down succeeded.
  expect(answers.filter((a) => a.insideOutage && a.ok)).toEqual([]);

  // The agent protocol: 503 with Retry-After while down, its real answer (an unknown token) after.
  expect({ status: agentWhileDown.status, retryAfter: agentWhileDown.headers.get('retry-after'), code: agentWhileDownBody.error.code }).toEqual({
    status: 503,
    retryAfter: String(SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS),
    code: 'SERVICE_UNAVAILABLE',
  });
  const agentAfter = await register();
  expect({ status: agentAfter.status, code: AgentErrorBodySchema.parse(await agentAfter.json()).error.code }).toEqual({ status: 404, code: 'TOKEN_UNKNOWN' });

  // Nothing acknowledged is lost: every site the API answered with is in Postgres.
  const acknowledged = answers.filter((a) => a.ok).map((a) => a.name);
  expect(await api.prisma.site.count({ where: { name: { in: acknowledged } } })).toBe(acknowledged.length);
});
