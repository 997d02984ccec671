// The GraphQL explorer is served by the API itself, every asset included (no CDN: edge operators and
// the build machines have no internet), only where configured, and never serves a file outside its own.
import { startApi, type TestApi } from '../support/api';

describe('with GRAPHQL_EXPLORER on', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startApi({ GRAPHQL_EXPLORER: 'true' });
  }, 60_000);
  afterAll(() => api?.close());

  it('serves the explorer page pointed at /graphql, with every script and stylesheet from this server', async () => {
    const res = await fetch(`${api.url}/graphql/explorer`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('<base href="/graphql/explorer/">');
    expect(html).toContain('/graphql');
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(assets).toEqual(expect.arrayContaining(['main.js', 'styles.css']));
    for (const asset of assets) {
      expect(asset).not.toMatch(/^(https?:)?\/\//);
    }
    for (const asset of ['main.js', 'styles.css', 'polyfills.js']) {
      const file = await fetch(`${api.url}/graphql/explorer/${asset}`);
      expect({ asset, status: file.status }).toEqual({ asset, status: 200 });
      expect((await file.arrayBuffer()).byteLength).toBeGreaterThan(100);
    }
  });

  it('answers 404 for paths that leave its folder or do not exist', async () => {
    for (const path of [
      '/graphql/explorer/..%2f..%2f..%2fpackage.json',
      '/graphql/explorer/%2e%2e/%2e%2e/%2e%2e/%2e%2e/package.json',
      '/graphql/explorer/%2fetc%2fpasswd',
      '/graphql/explorer/no-such-file.js',
    ]) {
      const res = await fetch(`${api.url}${path}`);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect(await res.text()).not.toContain('"name": "farpoint"');
    }
  });

  it('lets the explorer load the schema: the standard introspection query passes the limits', async () => {
    const admin = await api.bootstrapOrg('explorer');
    const { getIntrospectionQuery } = await import('graphql');
    expect((await api.gql(admin, getIntrospectionQuery())).errors).toBeUndefined();
  });
});

describe('by default outside development', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startApi();
  }, 60_000);
  afterAll(() => api?.close());

  it('does not serve the explorer', async () => {
    expect((await fetch(`${api.url}/graphql/explorer`)).status).toBe(404);
    expect((await fetch(`${api.url}/graphql/explorer/main.js`)).status).toBe(404);
  });
});
