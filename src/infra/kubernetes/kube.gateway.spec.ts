import { dump } from 'js-yaml';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { createCertificateAuthority, issueCertificate } from '../../dev/kube-harness/pki';
import type { AppConfig } from '../config/app-config';
import { type HostResolver, parseCidrs } from './egress-policy';
import { describeKubeError, EgressRefusedError, KubeGateway } from './kube.gateway';

const NAME = 'edge.farpoint.test';
const MARKER = 'SECRET-INTERNAL-BODY-7f3a';

/** A TLS server on a loopback address that answers like a tiny apiserver, recording what reached it. */
interface FakeServer {
  server: Server;
  port: number;
  connections: number;
  requests: { path: string; host?: string; authorization?: string; servername?: string }[];
  respond: (req: IncomingMessage, res: ServerResponse) => void;
}

const apiserver = (req: IncomingMessage, res: ServerResponse) => {
  res.setHeader('content-type', 'application/json');
  if (req.url === '/api/v1') {
    return res.end(
      JSON.stringify({
        kind: 'APIResourceList',
        groupVersion: 'v1',
        resources: [{ name: 'namespaces', singularName: 'namespace', namespaced: false, kind: 'Namespace', verbs: ['get'] }],
      }),
    );
  }
  if (req.url === '/api/v1/namespaces/kube-system') {
    return res.end(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system', uid: 'uid-of-kube-system' } }));
  }
  res.statusCode = 404;
  res.end('{}');
};

let dir: string;
let caPem: string;
let tls: { cert: string; key: string };
const servers: FakeServer[] = [];

async function start(host: string, respond = apiserver): Promise<FakeServer> {
  const fake = { connections: 0, requests: [], respond } as unknown as FakeServer;
  fake.server = createServer(tls, (req, res) => {
    fake.requests.push({ path: req.url!, host: req.headers.host, authorization: req.headers.authorization, servername: (req.socket as TLSSocket).servername || undefined });
    fake.respond(req, res);
  });
  fake.server.on('connection', () => fake.connections++);
  await new Promise<void>((resolve) => fake.server.listen(0, host, resolve));
  fake.port = (fake.server.address() as AddressInfo).port;
  servers.push(fake);
  return fake;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'farpoint-kube-gateway-'));
  const ca = await createCertificateAuthority(dir, 'test-ca');
  // Only a DNS name: connecting by IP verifies only with tls-server-name.
  const cert = await issueCertificate(ca, dir, { file: 'server', commonName: NAME, altNames: [`DNS:${NAME}`], usage: 'server' });
  caPem = ca.certPem;
  tls = { cert: cert.certPem, key: cert.keyPem };
}, 60_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.server.close(resolve))));
  await rm(dir, { recursive: true, force: true });
});

function gateway(resolver: HostResolver, allowed = '127.0.0.0/8'): KubeGateway {
  const config = { ATTACH_ALLOW_HTTP: false, ATTACH_ALLOW_INSECURE_TLS: false, ATTACH_ALLOWED_CIDRS: parseCidrs(allowed) } as unknown as AppConfig;
  return new KubeGateway(config, resolver);
}

function kubeconfig(server: string, cluster: Record<string, unknown> = {}): string {
  return dump({
    'current-context': 'c',
    clusters: [{ name: 'c', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64'), ...cluster } }],
    users: [{ name: 'u', user: { token: 'the-token' } }],
    contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
  });
}

const failure = async (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error,
  );

describe(KubeGateway.name, () => {
  it('connects to the address checked at connect time, not to what the name resolves to later (DNS rebinding)', async () => {
    const fake = await start('127.0.0.1');
    const answers = [['127.0.0.1'], ['169.254.169.254']];
    const resolver = jest.fn<ReturnType<HostResolver>, [string]>(async () => answers.shift()!.map((address) => ({ address, family: 4 as const })));
    const kube = gateway(resolver);
    const connection = await kube.connect(kube.checkKubeconfig(kubeconfig(`https://${NAME}:${fake.port}`)));

    expect(await kube.kubeSystemUid(connection)).toBe('uid-of-kube-system');
    expect(await kube.kubeSystemUid(connection)).toBe('uid-of-kube-system');
    expect(resolver).toHaveBeenCalledTimes(1);
    // The certificate was verified for the name (SNI), the Host header kept it, and the token was sent.
    expect(fake.requests.length).toBeGreaterThanOrEqual(2);
    for (const request of fake.requests) {
      expect(request).toMatchObject({ host: `${NAME}:${fake.port}`, servername: NAME, authorization: 'Bearer the-token' });
    }
  });

  it('verifies the certificate for tls-server-name when the server is an IP address, and refuses it without', async () => {
    const fake = await start('127.0.0.1');
    const kube = gateway(jest.fn());
    const named = await kube.connect(kube.checkKubeconfig(kubeconfig(`https://127.0.0.1:${fake.port}`, { 'tls-server-name': NAME })));
    expect(await kube.kubeSystemUid(named)).toBe('uid-of-kube-system');

    const unnamed = await kube.connect(kube.checkKubeconfig(kubeconfig(`https://127.0.0.1:${fake.port}`)));
    const error = await failure(kube.kubeSystemUid(unnamed));
    expect(describeKubeError(error, unnamed.server)).toBe(
      `The Kubernetes API server at ${unnamed.server} presented a certificate the kubeconfig does not trust (ERR_TLS_CERT_ALTNAME_INVALID).`,
    );
  });

  it('does not follow a redirect to another address or name: nothing connects there', async () => {
    const elsewhere = await start('127.0.0.2');
    const toAddress = await start('127.0.0.1', (_, res) => res.writeHead(302, { location: `https://127.0.0.2:${elsewhere.port}/api/v1` }).end());
    const toName = await start('127.0.0.1', (_, res) => res.writeHead(307, { location: `https://other.farpoint.test:${elsewhere.port}/api/v1` }).end());
    const resolver = jest.fn<ReturnType<HostResolver>, [string]>(async () => [{ address: '127.0.0.1', family: 4 }]);
    const kube = gateway(resolver);
    for (const fake of [toAddress, toName]) {
      const connection = await kube.connect(kube.checkKubeconfig(kubeconfig(`https://${NAME}:${fake.port}`)));
      const error = await failure(kube.kubeSystemUid(connection));
      expect(describeKubeError(error, connection.server)).toBe(
        `The Kubernetes API server at ${connection.server} redirected to another address; a queued attach only talks to the server it checked.`,
      );
      expect(fake.requests).toHaveLength(1);
    }
    expect(elsewhere.connections).toBe(0);
    expect(resolver.mock.calls.map(([name]) => name)).toEqual([NAME, NAME]);
  });

  it('refuses a server the egress policy does not allow before connecting', async () => {
    const fake = await start('127.0.0.1');
    const kube = gateway(async () => [{ address: '127.0.0.1', family: 4 }], '10.0.0.0/8');
    const target = kube.checkKubeconfig(kubeconfig(`https://${NAME}:${fake.port}`));
    await expect(kube.connect(target)).rejects.toThrow(
      new EgressRefusedError(`The kubeconfig's server ${NAME} resolves to 127.0.0.1, which is a loopback address not listed in ATTACH_ALLOWED_CIDRS.`),
    );
    expect(fake.connections).toBe(0);
  });

  it.each([
    [500, 'answered HTTP 500.'],
    [401, "The kubeconfig's credentials were rejected by the Kubernetes API server at SERVER (401)."],
    [403, "The kubeconfig's user may not install the agent at SERVER (403 Forbidden): it needs cluster-admin or equivalent."],
    [404, 'answered 404 Not Found: the server URL may not point at a Kubernetes API.'],
    [200, "the server's answer was not a Kubernetes API response."],
  ])('describes an answer with status %s by its status only, never quoting the body', async (status, sentence) => {
    const body = `${'<html>'.repeat(20)} ${MARKER} ${'x'.repeat(2000)}`;
    // A 200 that is not JSON: the parser's own message quotes the start of the body.
    const fake = await start('127.0.0.1', (_, res) =>
      res.writeHead(status, { 'content-type': status === 200 ? 'application/json' : 'text/html' }).end(status === 200 ? MARKER : body),
    );
    const kube = gateway(jest.fn());
    const connection = await kube.connect(kube.checkKubeconfig(kubeconfig(`https://127.0.0.1:${fake.port}`, { 'tls-server-name': NAME })));
    const error = await failure(kube.kubeSystemUid(connection));
    // What client-node hands back does carry the body, so describing it is what keeps it out.
    expect(String((error as Error).message ?? '') + JSON.stringify((error as { body?: unknown }).body ?? '')).toContain(MARKER.slice(0, 8));
    const description = describeKubeError(error, connection.server);
    expect(description).toContain(sentence.replace('SERVER', connection.server));
    expect(description).not.toContain(MARKER.slice(0, 8));
    expect(description.length).toBeLessThan(200);
  });
});
