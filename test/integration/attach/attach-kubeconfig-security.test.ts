// Queue-driven attach treats a kubeconfig as data, never code, against the real API, worker,
// Postgres, Redis and a real kube-apiserver: kubeconfigs that would run a command, read a file,
// use a proxy or skip TLS checks are refused at the mutation (nothing written, nothing queued) and
// again by the worker when a crafted job reaches it straight through Redis; servers the egress
// policy does not allow are refused the same two ways; a foreign server's answer never reaches
// lastError; a sealed payload moved to another operation does not open.
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { dump, load } from 'js-yaml';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants, existsSync, openSync, closeSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SealedBox } from '../../../src/common/crypto/sealed-box';
import { KubeHarness, locateTools, type HarnessCluster } from '../../../src/dev/kube-harness';
import { createCertificateAuthority, issueCertificate } from '../../../src/dev/kube-harness/pki';
import { JobName } from '../../../src/infra/queue/jobs';
import { attachByQueue, createGroup, type Farpoint, operation, startFarpoint, waitFor } from './support/farpoint';
import { deploymentExists, installedObjects } from './support/kube';
import { killAllChildren, type Proc } from './support/processes';

const SETUP_MS = 20 * 60_000;
const TEST_MS = 3 * 60_000;
const NAME = 'edge-k3s-security';
const MARKER = 'FARPOINT-SECRET-MARKER-5e1d';

let harness: KubeHarness;
let k3s: HarnessCluster;
let fp: Farpoint;
let worker: Proc;
let group: { id: string };
let dir: string;
let ca: { certPem: string };
let tls: { cert: string; key: string };
let connection: Redis;
let queue: Queue;
const tcpTraps: TcpServer[] = [];
const httpsServers: HttpsServer[] = [];
const logs = () => `--- worker\n${worker?.tail(40)}`;

/** A port on `host` that only counts who connects: any connection means something was sent there. */
async function trap(host = '127.0.0.1'): Promise<{ port: number; connections: () => number }> {
  let count = 0;
  const server = createTcpServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  tcpTraps.push(server);
  return { port: (server.address() as AddressInfo).port, connections: () => count };
}

/** An HTTPS server (certificate for 127.0.0.1 from the test CA) answering every request with `respond`. */
async function httpsServer(respond: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ port: number; requests: () => number }> {
  let requests = 0;
  const server = createHttpsServer(tls, (req, res) => {
    requests++;
    respond(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  httpsServers.push(server);
  return { port: (server.address() as AddressInfo).port, requests: () => requests };
}

/** A FIFO: opening it for reading blocks until a writer comes, so a reader that tried is still there. */
function fifo(name: string): string {
  const path = join(dir, name);
  execFileSync('mkfifo', ['-m', '600', path]);
  return path;
}

/** True when some process holds the FIFO open for reading (an open for writing without blocking succeeds). */
function fifoHasReader(path: string): boolean {
  try {
    closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENXIO') {
      return false;
    }
    throw error;
  }
}

const b64 = (text: string) => Buffer.from(text).toString('base64');

/** A kubeconfig for `server` whose current cluster and user are the given fields. */
function kubeconfig(server: string, cluster: Record<string, unknown> = {}, user: Record<string, unknown> = { token: 'inline-token' }): string {
  return dump({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'edge',
    clusters: [{ name: 'edge', cluster: { server, 'certificate-authority-data': b64(ca.certPem), ...cluster } }],
    users: [{ name: 'admin', user }],
    contexts: [{ name: 'edge', context: { cluster: 'edge', user: 'admin' } }],
  });
}

const ATTACH = 'mutation($in: AttachClusterWithKubeconfigInput!) { attachClusterWithKubeconfig(input: $in) { cluster { id } operation { id } } }';
let counter = 0;

/** Jobs of every state in the attach queue (ended ones are removed, so 0 once earlier work is over). */
const jobCount = async () => Object.values(await queue.getJobCounts()).reduce((a, b) => a + b, 0);

/** Rows and jobs an attach would leave behind. */
async function footprint(): Promise<Record<string, number>> {
  const prisma = fp.api.prisma;
  return {
    clusters: await prisma.cluster.count(),
    operations: await prisma.clusterOperation.count(),
    registrationTokens: await prisma.registrationToken.count(),
    events: await prisma.event.count(),
    jobs: await jobCount(),
  };
}

/** The mutation refuses the kubeconfig with BAD_USER_INPUT naming `path`, and writes and queues nothing. */
async function expectRefusedAtMutation(text: string, path: string, why: string): Promise<string> {
  await waitFor('earlier jobs to leave the queue', jobCount, (n) => n === 0, { timeoutMs: 60_000, context: logs });
  const before = await footprint();
  const res = await fp.api.gql(fp.token, ATTACH, { in: { name: `refused-${++counter}`, groupId: group.id, kubeconfig: text } });
  expect(res.data).toBeNull();
  expect(res.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'kubeconfig', path });
  expect(res.errors![0].message).toContain(why);
  expect(await footprint()).toEqual(before);
  return res.errors![0].message;
}

/**
 * Puts an attach job for `text` straight into Redis, as if the mutation had been bypassed: a cluster
 * and operation row, and the kubeconfig sealed for that operation with the deployment's key.
 */
async function craftJob(text: string, opts: { sealFor?: string } = {}): Promise<{ clusterId: string; operationId: string }> {
  const ids = await craftRows();
  const sealed = new SealedBox(fp.api.config.SECRETS_KEY).seal(
    JSON.stringify({ kubeconfig: text, registrationToken: `fpr_${randomBytes(32).toString('base64url')}` }),
    opts.sealFor ?? ids.operationId,
  );
  await queue.add(
    JobName.ATTACH_CLUSTER,
    { operationId: ids.operationId, sealed },
    { jobId: ids.operationId, attempts: 2, backoff: { type: 'fixed', delay: 100 }, removeOnComplete: true, removeOnFail: true },
  );
  return ids;
}

/** An ATTACHING cluster and its QUEUED attach operation, as the mutation writes them. */
async function craftRows(): Promise<{ clusterId: string; operationId: string }> {
  const prisma = fp.api.prisma;
  const cluster = await prisma.cluster.create({
    data: { organizationId: fp.organizationId, groupId: group.id, name: `crafted-${++counter}`, phase: 'ATTACHING', attachMode: 'QUEUE' },
  });
  const op = await prisma.clusterOperation.create({ data: { organizationId: fp.organizationId, clusterId: cluster.id, kind: 'ATTACH', createdBy: 'test:crafted' } });
  return { clusterId: cluster.id, operationId: op.id };
}

/** Waits for the crafted job's operation to end; returns it with its cluster's phase. */
async function outcome(ids: { clusterId: string; operationId: string }) {
  const op = await waitFor(
    'the operation to end',
    () => operation(fp, ids.operationId),
    (o) => o.state === 'FAILED' || o.state === 'SUCCEEDED',
    { timeoutMs: 60_000, context: logs },
  );
  const cluster = await fp.api.prisma.cluster.findUniqueOrThrow({ where: { id: ids.clusterId } });
  return { ...op, phase: cluster.phase, phaseReason: cluster.phaseReason };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'farpoint-kubeconfig-security-'));
  const authority = await createCertificateAuthority(join(dir, 'pki'), 'security-test-ca');
  const serving = await issueCertificate(authority, join(dir, 'pki'), { file: 'server', commonName: '127.0.0.1', altNames: ['IP:127.0.0.1'], usage: 'server' });
  ca = authority;
  tls = { cert: serving.certPem, key: serving.keyPem };
  [harness, fp] = await Promise.all([
    KubeHarness.start({ clusters: [{ name: NAME, profile: 'k3s-1node' }], tools: await locateTools() }),
    // Loopback (IPv4 and IPv6, for `localhost`) listed, as an on-prem fleet would list its ranges.
    startFarpoint({ ATTACH_ALLOWED_CIDRS: '127.0.0.0/8,::1/128', ATTACH_MAX_ATTEMPTS: '2', ATTACH_BACKOFF_MS: '100', ATTACH_AGENT_WAIT_SECONDS: '2' }),
  ]);
  k3s = harness.cluster(NAME);
  worker = await fp.startWorker();
  group = await createGroup(fp, 'security');
  connection = new Redis(fp.api.config.REDIS_URL, { maxRetriesPerRequest: null });
  queue = new Queue('attach', { connection, prefix: fp.api.config.QUEUE_PREFIX });
}, SETUP_MS);

afterAll(async () => {
  await killAllChildren();
  await queue?.close();
  connection?.disconnect();
  await Promise.all([...tcpTraps, ...httpsServers].map((s) => new Promise((resolve) => s.close(resolve))));
  await harness?.stop();
  await fp?.close();
  if (dir) {
    await rm(dir, { recursive: true, force: true });
  }
}, 60_000);

describe('kubeconfigs that would run a command, read a file or weaken TLS', () => {
  let listener: Awaited<ReturnType<typeof trap>>;
  let marker: string;
  let fifos: Record<string, string>;
  let cases: [string, string, string, string][];

  beforeAll(async () => {
    listener = await trap();
    marker = join(dir, 'exec-ran');
    fifos = { token: fifo('token'), cert: fifo('client.crt'), key: fifo('client.key'), ca: fifo('ca.crt') };
    const server = `https://127.0.0.1:${listener.port}`;
    const touch = { command: '/bin/sh', args: ['-c', `touch ${marker}`], apiVersion: 'client.authentication.k8s.io/v1' };
    const certData = { 'client-certificate-data': b64(tls.cert), 'client-key-data': b64(tls.key) };
    // [what, kubeconfig, the field path named in the refusal, words of the reason]
    cases = [
      ['exec', kubeconfig(server, {}, { exec: touch }), 'kubeconfig.users[0].user.exec', 'never runs commands'],
      [
        'auth-provider with cmd-path',
        kubeconfig(server, {}, { 'auth-provider': { name: 'gcp', config: { 'cmd-path': '/bin/sh', 'cmd-args': `-c "touch ${marker}"` } } }),
        'kubeconfig.users[0].user.auth-provider',
        'never runs commands',
      ],
      ['token-file', kubeconfig(server, {}, { 'token-file': fifos.token }), 'kubeconfig.users[0].user.token-file', 'never reads files'],
      ['tokenFile', kubeconfig(server, {}, { tokenFile: fifos.token }), 'kubeconfig.users[0].user.tokenFile', 'never reads files'],
      [
        'client-certificate',
        kubeconfig(server, {}, { 'client-certificate': fifos.cert, 'client-key-data': certData['client-key-data'] }),
        'kubeconfig.users[0].user.client-certificate',
        'never reads files',
      ],
      [
        'client-key',
        kubeconfig(server, {}, { 'client-certificate-data': certData['client-certificate-data'], 'client-key': fifos.key }),
        'kubeconfig.users[0].user.client-key',
        'never reads files',
      ],
      [
        'certificate-authority',
        kubeconfig(server, { 'certificate-authority-data': undefined, 'certificate-authority': fifos.ca }),
        'kubeconfig.clusters[0].cluster.certificate-authority',
        'never reads files',
      ],
      [
        'proxy-url',
        kubeconfig('https://203.0.113.10:6443', { 'proxy-url': `http://127.0.0.1:${listener.port}` }),
        'kubeconfig.clusters[0].cluster.proxy-url',
        'never through a proxy',
      ],
      ['insecure-skip-tls-verify', kubeconfig(server, { 'insecure-skip-tls-verify': true }), 'kubeconfig.clusters[0].cluster.insecure-skip-tls-verify', 'must be verified'],
      ['impersonation (as)', kubeconfig(server, {}, { token: 'inline-token', as: 'system:admin' }), 'kubeconfig.users[0].user.as', 'impersonation'],
      ['an unknown user field', kubeconfig(server, {}, { token: 'inline-token', 'token-cmd': 'id' }), 'kubeconfig.users[0].user.token-cmd', 'not a field Farpoint accepts'],
    ];
  });

  const nothingRanOrWasRead = () => {
    expect(existsSync(marker)).toBe(false);
    for (const path of Object.values(fifos)) {
      expect(fifoHasReader(path)).toBe(false);
    }
    expect(listener.connections()).toBe(0);
  };

  it(
    'are refused at the mutation with BAD_USER_INPUT naming the field; nothing is written, queued, run, read or sent',
    async () => {
      for (const [what, text, path, why] of cases) {
        const message = await expectRefusedAtMutation(text, path, why).catch((error: Error) => {
          throw new Error(`${what}: ${error.message}`);
        });
        expect(message).toContain(path);
      }
      nothingRanOrWasRead();
    },
    TEST_MS,
  );

  it(
    'are refused by the worker too when a crafted job bypasses the mutation: FAILED at once, the command never ran, no file was read',
    async () => {
      const jobs = [];
      for (const [what, text, path] of cases) {
        jobs.push({ what, path, ids: await craftJob(text) });
      }
      for (const { what, path, ids } of jobs) {
        const ended = await outcome(ids);
        expect({ what, state: ended.state, attempts: ended.attempts, phase: ended.phase }).toEqual({ what, state: 'FAILED', attempts: 1, phase: 'ERROR' });
        expect(ended.lastError).toContain(path);
        expect(ended.phaseReason).toBe(ended.lastError);
      }
      nothingRanOrWasRead();
      expect(worker.running).toBe(true);
    },
    TEST_MS,
  );
});

describe('egress: where a queued attach may connect', () => {
  it.each([
    ['the cloud metadata address', 'https://169.254.169.254', 'is a cloud metadata address, which a queued attach never connects to'],
    ['the AWS IPv6 metadata address', 'https://[fd00:ec2::254]', 'is a cloud metadata address'],
    ['the Alibaba metadata address', 'https://100.100.100.200', 'is a cloud metadata address'],
    ['the GCP metadata host name', 'https://metadata.google.internal', 'is a cloud metadata service'],
    ['a link-local address', 'https://169.254.10.20:6443', 'is a link-local address, which a queued attach never connects to'],
    ['an IPv6 link-local address', 'https://[fe80::1]:6443', 'is a link-local address'],
    ['an IPv4-mapped link-local address', 'https://[::ffff:169.254.169.254]', 'is a cloud metadata address'],
    ['an unlisted private address', 'https://10.1.2.3:6443', 'is a private address not listed in ATTACH_ALLOWED_CIDRS'],
    ['an unlisted private IPv6 address', 'https://[fd12:3456::1]:6443', 'is a private address not listed in ATTACH_ALLOWED_CIDRS'],
    ['an unlisted carrier-grade NAT address', 'https://100.64.1.1:6443', 'is a carrier-grade NAT address not listed'],
    ['0.0.0.0, which reaches the local host', 'https://0.0.0.0:6443', 'is an unspecified address'],
  ])(
    '%s is refused at the mutation with BAD_USER_INPUT on the server field',
    async (_, server, why) => {
      await expectRefusedAtMutation(kubeconfig(server), 'kubeconfig.clusters[0].cluster.server', why);
    },
    TEST_MS,
  );

  it(
    'a host name that does not resolve is refused at the mutation: where it points cannot be checked',
    async () => {
      await expectRefusedAtMutation(
        kubeconfig('https://no-such-host.invalid:6443'),
        'kubeconfig.clusters[0].cluster.server',
        'Cannot resolve the Kubernetes API server host at https://no-such-host.invalid:6443.',
      );
    },
    TEST_MS,
  );

  it(
    'the worker refuses a crafted job for the metadata address or an unlisted range: FAILED at once with the reason',
    async () => {
      const metadata = await outcome(await craftJob(kubeconfig('https://169.254.169.254')));
      expect(metadata).toMatchObject({
        state: 'FAILED',
        attempts: 1,
        phase: 'ERROR',
        lastError: "The kubeconfig's server address 169.254.169.254 is a cloud metadata address, which a queued attach never connects to.",
      });
      const privateRange = await outcome(await craftJob(kubeconfig('https://192.168.77.1:6443')));
      expect(privateRange).toMatchObject({
        state: 'FAILED',
        attempts: 1,
        lastError: "The kubeconfig's server address 192.168.77.1 is a private address not listed in ATTACH_ALLOWED_CIDRS.",
      });
    },
    TEST_MS,
  );

  it(
    'with nothing listed (the default), a worker refuses loopback: the real cluster is not touched',
    async () => {
      expect(Object.values(await installedObjects(k3s.kubeConfig)).flat()).toEqual([]);
      await worker.stop();
      // A worker with the default policy, alone on the queue while this runs.
      const strict = await fp.startWorker({ ATTACH_ALLOWED_CIDRS: '' }, 'strict worker');
      try {
        const real = await readFile(k3s.kubeconfigPath, 'utf8');
        const ended = await outcome(await craftJob(real));
        expect(ended).toMatchObject({
          state: 'FAILED',
          attempts: 1,
          lastError: "The kubeconfig's server address 127.0.0.1 is a loopback address not listed in ATTACH_ALLOWED_CIDRS.",
        });
        expect(Object.values(await installedObjects(k3s.kubeConfig)).flat()).toEqual([]);
      } finally {
        await strict.stop();
        worker = await fp.startWorker();
      }
    },
    TEST_MS,
  );

  it(
    'a listed range is accepted: the real cluster on 127.0.0.1, by address and by host name (localhost, verified by name)',
    async () => {
      const real = await readFile(k3s.kubeconfigPath, 'utf8');
      const queued = await attachByQueue(fp, { name: 'listed-by-address', groupId: group.id, kubeconfig: real });
      await waitFor('the manifests to be applied', () => deploymentExists(k3s.kubeConfig), Boolean, { timeoutMs: 60_000, context: logs });
      await waitFor(
        'the attach to wait for its agent',
        () => operation(fp, queued.operationId),
        (o) => o.state === 'WAITING_FOR_AGENT' || o.state === 'FAILED',
        { timeoutMs: 60_000, context: logs },
      );
      expect((await operation(fp, queued.operationId)).lastError ?? '').not.toMatch(/refused|not listed/);

      const byName = real.replaceAll(k3s.server, k3s.server.replace('127.0.0.1', 'localhost'));
      expect(byName).toContain('https://localhost:');
      const named = await attachByQueue(fp, { name: 'listed-by-name', groupId: group.id, kubeconfig: byName });
      // No agent runs: each attempt applies the manifests, then waits 2 s for registration. Reaching that
      // wait proves the worker resolved localhost, connected and verified the apiserver's certificate.
      const waited = await waitFor(
        'the attach by name to wait for its agent',
        () => operation(fp, named.operationId),
        (o) => o.state === 'WAITING_FOR_AGENT' || o.state === 'FAILED',
        { timeoutMs: 60_000, context: logs },
      );
      expect(waited.state).toBe('WAITING_FOR_AGENT');
      for (const id of [queued.clusterId, named.clusterId]) {
        await fp.api.gqlOk(fp.token, 'mutation($id: ID!) { detachCluster(id: $id) { id } }', { id });
      }
    },
    TEST_MS,
  );
});

describe("what a foreign server answers stays out of Farpoint's errors", () => {
  it(
    'a long answer carrying a secret never reaches lastError, the cluster reason or the worker log',
    async () => {
      const body = `<html><body>${MARKER} internal admin console ${'x'.repeat(5000)}</body></html>`;
      const server = await httpsServer((_, res) => res.writeHead(500, { 'content-type': 'text/plain' }).end(body));
      const queued = await attachByQueue(fp, { name: 'long-answer', groupId: group.id, kubeconfig: kubeconfig(`https://127.0.0.1:${server.port}`) });
      const ended = await outcome({ clusterId: queued.clusterId, operationId: queued.operationId });
      expect(server.requests()).toBeGreaterThan(0);
      expect(ended).toMatchObject({ state: 'FAILED', attempts: 2, lastError: `The Kubernetes API server at https://127.0.0.1:${server.port} answered HTTP 500.` });
      expect(ended.phaseReason).not.toContain(MARKER);
      expect(worker.output).not.toContain(MARKER);
    },
    TEST_MS,
  );

  it(
    'a redirect to another address is not followed: nothing connects there',
    async () => {
      const elsewhere = await trap('127.0.0.2');
      const server = await httpsServer((_, res) => res.writeHead(302, { location: `https://127.0.0.2:${elsewhere.port}/api/v1` }).end());
      const queued = await attachByQueue(fp, { name: 'redirected', groupId: group.id, kubeconfig: kubeconfig(`https://127.0.0.1:${server.port}`) });
      const ended = await outcome(queued);
      expect(ended).toMatchObject({
        state: 'FAILED',
        lastError: `The Kubernetes API server at https://127.0.0.1:${server.port} redirected to another address; a queued attach only talks to the server it checked.`,
      });
      expect(elsewhere.connections()).toBe(0);
    },
    TEST_MS,
  );
});

describe('sealed payloads are bound to their operation', () => {
  it(
    'a payload sealed for one operation and moved into another job does not open there: FAILED, nothing contacted',
    async () => {
      const listener = await trap();
      const other = await craftRows();
      const moved = await outcome(await craftJob(kubeconfig(`https://127.0.0.1:${listener.port}`), { sealFor: other.operationId }));
      expect(moved).toMatchObject({ state: 'FAILED', attempts: 1, lastError: 'The queued attach does not open: it was sealed for another operation or with another SECRETS_KEY.' });
      expect(listener.connections()).toBe(0);
      // The same job sealed for its own operation does reach the server.
      const own = await outcome(await craftJob(kubeconfig(`https://127.0.0.1:${listener.port}`)));
      expect(own).toMatchObject({ state: 'FAILED', lastError: `The Kubernetes API server at https://127.0.0.1:${listener.port} closed the connection.` });
      expect(listener.connections()).toBeGreaterThan(0);
    },
    TEST_MS,
  );
});

// The harness kubeconfig is inline data; make sure the security checks did not change what it is.
it('the harness kubeconfig the attach tests use is inline data only', async () => {
  const doc = load(await readFile(k3s.kubeconfigPath, 'utf8')) as { users: { user: Record<string, unknown> }[]; clusters: { cluster: Record<string, unknown> }[] };
  expect(Object.keys(doc.users[0].user).sort()).toEqual(['client-certificate-data', 'client-key-data']);
  expect(Object.keys(doc.clusters[0].cluster).sort()).toEqual(['certificate-authority-data', 'server']);
});
