import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { makeHeartbeatItem, makeReportsRequest, TEST_CLUSTER_ID, TEST_CREDENTIAL, TEST_KUBE_SYSTEM_UID, TEST_REGISTRATION_TOKEN } from '../protocol/testing/factories';
import { AgentApiError, HttpAgentApi } from './api-client';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

describe(HttpAgentApi.name, () => {
  let server: Server;
  let handler: Handler;
  let baseUrl: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => handler(req, body, res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const api = (timeoutMs = 2000) => new HttpAgentApi({ apiUrl: `${baseUrl}/farpoint/`, agentVersion: '0.1.0', timeoutMs });
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const registerRequest = { registrationToken: TEST_REGISTRATION_TOKEN, clusterUid: TEST_KUBE_SYSTEM_UID, agentVersion: '0.1.0' };

  async function failure(call: Promise<unknown>): Promise<AgentApiError> {
    const error = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AgentApiError);
    return error as AgentApiError;
  }

  it('registers with a JSON POST under the API URL path and returns the server time', async () => {
    let seen: { url?: string; headers?: IncomingMessage['headers']; body?: unknown } = {};
    handler = (req, body, res) => {
      seen = { url: req.url, headers: req.headers, body: JSON.parse(body) };
      json(
        res,
        200,
        {
          clusterId: TEST_CLUSTER_ID,
          credential: TEST_CREDENTIAL,
          credentialExpiresAt: '2026-12-26T10:00:00Z',
          heartbeatIntervalSeconds: 20,
          reportIntervalSeconds: 10,
        },
        { date: 'Thu, 26 Nov 2026 10:00:00 GMT' },
      );
    };
    const result = await api().register(registerRequest);
    expect(seen.url).toBe('/farpoint/agent/v1/register');
    expect(seen.headers?.['content-type']).toBe('application/json');
    expect(seen.headers?.['user-agent']).toBe('farpoint-agent/0.1.0');
    expect(seen.headers?.authorization).toBeUndefined();
    expect(seen.body).toEqual(registerRequest);
    expect(result.body.clusterId).toBe(TEST_CLUSTER_ID);
    expect(result.serverTime).toBe(Date.parse('2026-11-26T10:00:00Z'));
  });

  it('sends the credential as a bearer token and drops directive types it does not know', async () => {
    let authorization: string | undefined;
    handler = (req, _body, res) => {
      authorization = req.headers.authorization;
      json(res, 200, { ackedSeq: 7, directives: [{ type: 'UPGRADE', to: '2.0' }, { type: 'DETACH' }] });
    };
    const result = await api().sendReports(TEST_CREDENTIAL, makeReportsRequest([makeHeartbeatItem(7)]));
    expect(authorization).toBe(`Bearer ${TEST_CREDENTIAL}`);
    expect(result.body).toEqual({ ackedSeq: 7, directives: [{ type: 'DETACH' }] });
    expect(result.ignoredDirectives).toEqual(['UPGRADE']);
  });

  it('turns a protocol error body into an error with its code', async () => {
    handler = (_req, _body, res) => json(res, 401, { error: { code: 'CREDENTIAL_REVOKED', message: 'Cluster detached.' } });
    const error = await failure(api().rotateCredential(TEST_CREDENTIAL, { clusterId: TEST_CLUSTER_ID }));
    expect(error).toMatchObject({ kind: 'http', status: 401, code: 'CREDENTIAL_REVOKED' });
    expect(error.isCredentialRejected).toBe(true);
    expect(error.message).toContain('Cluster detached.');
  });

  it('reads Retry-After and tolerates error bodies that are not protocol errors', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(503, { 'retry-after': '30', 'content-type': 'text/html' });
      res.end('<html>bad gateway</html>');
    };
    const error = await failure(api().register(registerRequest));
    expect(error).toMatchObject({ kind: 'http', status: 503, code: undefined, retryAfterMs: 30_000 });
    expect(error.isCredentialRejected).toBe(false);
  });

  it('classifies token and body rejections', async () => {
    handler = (_req, _body, res) => json(res, 409, { error: { code: 'TOKEN_USED', message: 'used' } });
    expect((await failure(api().register(registerRequest))).isTokenRejected).toBe(true);
    handler = (_req, _body, res) => json(res, 413, { error: { code: 'PAYLOAD_TOO_LARGE', message: 'too big' } });
    expect((await failure(api().sendReports(TEST_CREDENTIAL, makeReportsRequest([makeHeartbeatItem(1)])))).isBodyRejected).toBe(true);
  });

  it('rejects a 2xx response that does not match the protocol', async () => {
    handler = (_req, _body, res) => json(res, 200, { ackedSeq: -1, directives: [] });
    const error = await failure(api().sendReports(TEST_CREDENTIAL, makeReportsRequest([makeHeartbeatItem(1)])));
    expect(error.kind).toBe('invalid-response');
    expect(error.message).toContain('ackedSeq');
  });

  it('reports an unreachable API and a timeout as network errors', async () => {
    const closed = new HttpAgentApi({ apiUrl: 'http://127.0.0.1:1', agentVersion: '0.1.0', timeoutMs: 2000 });
    expect((await failure(closed.register(registerRequest))).kind).toBe('network');
    handler = () => undefined; // never answers
    const error = await failure(api(100).register(registerRequest));
    expect(error.kind).toBe('network');
  });
  it('asks for the desired state with its generation and the credential, and reads unchanged and full answers', async () => {
    const seen: { url?: string; authorization?: string }[] = [];
    const full = {
      generation: 4,
      unchanged: false,
      constraints: [],
      bundles: [],
      admission: { failurePolicy: 'Fail', timeoutSeconds: 5 },
      inventoryKinds: [],
    };
    handler = (req, _body, res) => {
      seen.push({ url: req.url, authorization: req.headers.authorization });
      json(res, 200, req.url?.endsWith('generation=4') ? { generation: 4, unchanged: true } : full);
    };
    expect((await api().desiredState(TEST_CREDENTIAL, 4)).body).toEqual({ generation: 4, unchanged: true });
    expect((await api().desiredState(TEST_CREDENTIAL, undefined)).body).toEqual(full);
    expect(seen).toEqual([
      { url: '/farpoint/agent/v1/desired-state?generation=4', authorization: `Bearer ${TEST_CREDENTIAL}` },
      { url: '/farpoint/agent/v1/desired-state', authorization: `Bearer ${TEST_CREDENTIAL}` },
    ]);

    handler = (_req, _body, res) => json(res, 200, { generation: 'four' });
    expect((await failure(api().desiredState(TEST_CREDENTIAL, 1))).kind).toBe('invalid-response');
  });

  it('downloads a bundle as bytes, and turns a protocol error body into its code', async () => {
    const wasm = Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
    handler = (req, _body, res) => {
      if (req.url === '/farpoint/agent/v1/bundles/' + 'a'.repeat(64)) {
        res.writeHead(200, { 'content-type': 'application/wasm' });
        res.end(wasm);
        return;
      }
      json(res, 404, { error: { code: 'BUNDLE_NOT_FOUND', message: "This bundle is not in the cluster's current desired state." } });
    };
    expect(Buffer.from((await api().bundle(TEST_CREDENTIAL, 'a'.repeat(64))).body)).toEqual(wasm);
    const refused = await failure(api().bundle(TEST_CREDENTIAL, 'b'.repeat(64)));
    expect([refused.kind, refused.status, refused.code]).toEqual(['http', 404, 'BUNDLE_NOT_FOUND']);
  });
});
