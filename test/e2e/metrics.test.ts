// Prometheus metrics are served on their own port (METRICS_PORT), never on the API port, behind
// METRICS_TOKEN when one is set, and every label comes from a closed set: the GraphQL operation is
// labelled by its root field from the schema, not by the client's free-text operation name.
import { randomBytes } from 'node:crypto';
import { freePort } from '../../src/dev/free-port';
import { startApi, type TestApi } from '../support/api';

const METRICS_TOKEN = 'scrape-token-0123456789';

let api: TestApi;
let guarded: TestApi;
let admin: string;

beforeAll(async () => {
  const [port, guardedPort] = [await freePort(), await freePort()];
  [api, guarded] = await Promise.all([startApi({ METRICS_PORT: String(port) }), startApi({ METRICS_PORT: String(guardedPort), METRICS_TOKEN })]);
  admin = await api.bootstrapOrg('metrics');
});
afterAll(async () => {
  await Promise.all([api?.close(), guarded?.close()]);
});

async function scrape(target: TestApi = api): Promise<string> {
  const response = await fetch(target.metricsUrl!);
  expect(response.status).toBe(200);
  return response.text();
}

const seriesOf = (text: string, metric: string) => text.split('\n').filter((line) => line.startsWith(`${metric}{`));

describe('metrics', () => {
  it('are not served on the API port', async () => {
    expect((await fetch(`${api.url}/metrics`)).status).toBe(404);
  });

  it('are served on METRICS_PORT with HTTP, GraphQL and queue metrics', async () => {
    await api.gqlOk(admin, 'query Probe { viewer { role } }');
    const text = await scrape();
    for (const name of ['farpoint_http_requests_total', 'farpoint_graphql_operations_total', 'farpoint_queue_jobs']) {
      expect(text).toContain(`# TYPE ${name}`);
    }
    expect(text).toMatch(/^farpoint_graphql_operations_total\{type="query",name="viewer",outcome="ok"\} \d+$/m);
    expect(text).not.toContain('Probe');
    expect((await fetch(api.metricsUrl!.replace(/\/metrics$/, '/other'))).status).toBe(404);
  });

  it('refuse a scrape without METRICS_TOKEN when one is set', async () => {
    expect((await fetch(guarded.metricsUrl!)).status).toBe(401);
    expect((await fetch(guarded.metricsUrl!, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    const ok = await fetch(guarded.metricsUrl!, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('# TYPE farpoint_http_requests_total');
  });

  it('do not grow with random operation names, unknown fields, paths or methods', async () => {
    const random = () => `n${randomBytes(8).toString('hex')}`;
    // One of each kind first, so every series that can appear exists before counting.
    const send = async () => {
      await api.gql(admin, `query ${random()} { viewer { role } }`);
      await api.gql(admin, `query ${random()} { viewer { role } sites(first: 1) { totalCount } }`);
      await api.gql(admin, `query ${random()} { ${random()} }`);
      await api.gql(admin, `mutation ${random()} { ${random()} }`);
      await fetch(`${api.url}/${random()}`);
      await fetch(`${api.url}/graphql`, { method: 'PATCH' });
      await fetch(`${api.url}/${random()}`, { method: 'PROPFIND' });
    };
    await send();
    const before = await scrape();
    for (let i = 0; i < 50; i++) {
      await send();
    } // 200 random operation names
    const after = await scrape();
    for (const metric of ['farpoint_graphql_operations_total', 'farpoint_http_requests_total', 'farpoint_http_request_duration_seconds_bucket']) {
      expect(seriesOf(after, metric).map((line) => line.replace(/ [\d.e+]+$/, ''))).toEqual(seriesOf(before, metric).map((line) => line.replace(/ [\d.e+]+$/, '')));
    }
    const operations = seriesOf(after, 'farpoint_graphql_operations_total').join('\n');
    expect(operations).toContain('name="multiple"');
    expect(operations).toContain('name="other"');
    expect(seriesOf(after, 'farpoint_http_requests_total').join('\n')).toContain('method="other",route="unmatched"');
  }, 60_000); // 50 rounds of requests: a budget for a loaded CI machine, not a timed assertion
});
