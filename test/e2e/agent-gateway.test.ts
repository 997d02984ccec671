// The agent protocol v1 over HTTP against the real API (Fastify, NestJS, Postgres, Redis): install
// manifests, registration, credentials and their rotation, report ingestion and detach. Clusters are
// attached the way users do (GraphQL attachCluster); the agent side is plain fetch with bodies built
// from the protocol's own test factories and checked against the protocol's response schemas.
import { loadAll } from 'js-yaml';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AGENT_ERROR_HTTP_STATUS,
  AgentErrorBodySchema,
  type AgentErrorCode,
  AgentPaths,
  AgentProtocolLimits,
  DesiredStateResponseSchema,
  DetachAckResponseSchema,
  type Inventory,
  REGISTRATION_REPEAT_WINDOW_SECONDS,
  type RegisterResponse,
  RegisterResponseSchema,
  type ReportItem,
  type ReportsResponse,
  ReportsResponseSchema,
  RotateCredentialResponseSchema,
} from '../../src/protocol';
import { makeHeartbeatItem, makeHeartbeatPayload, makeInventory, makeNamespace, makeNode, makeReportsRequest } from '../../src/protocol/testing/factories';
import { newRenewalPrivateKey, renewalPublicKeyOf, signedRenewal } from '../../src/agent/identity/renewal-key';
import { ApiFactory, type SiteRecord } from '../support/factories';
import { startApi, type TestApi } from '../support/api';

const OPENAPI = JSON.parse(readFileSync(join(__dirname, '..', '..', 'docs', 'agent-protocol.openapi.json'), 'utf8')) as {
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
};

let api: TestApi;
let admin: string;
let make: ApiFactory;
let site: SiteRecord;

/** Every agent response this file saw, by documented operation, to compare with the OpenAPI document. */
const observed: { template: string; method: string; status: number }[] = [];

interface AgentResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body (undefined when it is not JSON); typed loosely because errors and successes share it. */
  json: any;
}

async function call(
  method: 'GET' | 'POST',
  path: string,
  template: string,
  opts: { body?: unknown; raw?: string; credential?: string; headers?: Record<string, string> } = {},
): Promise<AgentResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.credential !== undefined) {
    headers.authorization = `Bearer ${opts.credential}`;
  }
  let body: string | undefined;
  if (opts.raw !== undefined) {
    body = opts.raw;
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
  }
  if (body !== undefined) {
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${api.url}${path}`, { method, headers, body });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  observed.push({ template, method: method.toLowerCase(), status: response.status });
  return { status: response.status, headers: response.headers, text, json };
}

const getManifests = (token: string) => call('GET', AgentPaths.manifests(token), AgentPaths.manifestsTemplate);
const postRegister = (body: unknown) => call('POST', AgentPaths.register, AgentPaths.register, { body });
const postReports = (credential: string | undefined, body: unknown, raw?: string) => call('POST', AgentPaths.reports, AgentPaths.reports, { body, raw, credential });
const postRotate = (credential: string | undefined, clusterId: string) =>
  call('POST', AgentPaths.rotateCredential, AgentPaths.rotateCredential, { body: { clusterId }, credential });
const postRenew = (credential: string | undefined, body: unknown) => call('POST', AgentPaths.renewCredential, AgentPaths.renewCredential, { body, credential });
const postDetachAck = (credential: string | undefined, clusterId: string) => call('POST', AgentPaths.detachAck, AgentPaths.detachAck, { body: { clusterId }, credential });

/** Asserts the protocol error body and the status the protocol assigns to its code. */
function expectError(response: AgentResponse, code: AgentErrorCode): void {
  expect({ status: response.status, code: response.json?.error?.code }).toEqual({ status: AGENT_ERROR_HTTP_STATUS[code], code });
  expect(AgentErrorBodySchema.safeParse(response.json).success).toBe(true);
  expect(response.json.error.message.length).toBeGreaterThan(20);
}

interface Attached {
  clusterId: string;
  token: string;
}

/** attachCluster through GraphQL: a PENDING cluster and its one-time registration token. */
async function attach(opts: { site?: SiteRecord | null; agentStateVolume?: Record<string, unknown> } = {}): Promise<Attached> {
  const group = await make.group().create();
  const input: Record<string, unknown> = { name: make.nextName('cluster'), groupId: group.id };
  if (opts.site) {
    input.siteId = opts.site.id;
  }
  if (opts.agentStateVolume) {
    input.agentStateVolume = opts.agentStateVolume;
  }
  const data = await api.gqlOk<{ attachCluster: { cluster: { id: string; phase: string }; registrationToken: string } }>(
    admin,
    'mutation($input: AttachClusterInput!) { attachCluster(input: $input) { cluster { id phase } registrationToken } }',
    { input },
  );
  expect(data.attachCluster.cluster.phase).toBe('PENDING');
  return { clusterId: data.attachCluster.cluster.id, token: data.attachCluster.registrationToken };
}

const newInstallationSecret = () => randomBytes(32).toString('base64url');
/** `installationSecret` null: the field is left out. */
const registerBody = (token: string, clusterUid: string = randomUUID(), agentVersion = '0.1.0', installationSecret: string | null = newInstallationSecret()) => ({
  registrationToken: token,
  clusterUid,
  agentVersion,
  ...(installationSecret === null ? {} : { installationSecret }),
});

interface Agent {
  clusterId: string;
  clusterUid: string;
  credential: string;
  response: RegisterResponse;
  seq: number;
}

/** A cluster with a registered agent (ATTACHED). */
async function registeredAgent(opts: { site?: SiteRecord | null } = {}): Promise<Agent> {
  const { clusterId, token } = await attach(opts);
  const clusterUid = randomUUID();
  const res = await postRegister(registerBody(token, clusterUid));
  expect(res.status).toBe(200);
  return { clusterId, clusterUid, credential: res.json.credential, response: res.json, seq: 0 };
}

function heartbeat(agent: Agent, observedAt?: string): ReportItem {
  return makeHeartbeatItem(++agent.seq, observedAt);
}
function snapshot(agent: Agent, inventory: Inventory = makeInventory()): ReportItem {
  return { seq: ++agent.seq, observedAt: '2026-11-26T10:00:30.000Z', kind: 'inventory.snapshot', payload: inventory };
}
function delta(agent: Agent, payload: Extract<ReportItem, { kind: 'inventory.delta' }>['payload']): ReportItem {
  return { seq: ++agent.seq, observedAt: '2026-11-26T10:00:40.000Z', kind: 'inventory.delta', payload };
}
const batch = (agent: Agent, items: ReportItem[], overrides: Record<string, unknown> = {}) => makeReportsRequest(items, { clusterId: agent.clusterId, ...overrides });

async function report(agent: Agent, items: ReportItem[]): Promise<ReportsResponse> {
  const res = await postReports(agent.credential, batch(agent, items));
  expect(res.status).toBe(200);
  expect(ReportsResponseSchema.parse(res.json)).toEqual(res.json);
  return res.json;
}

const clusterRow = (id: string) => api.prisma.cluster.findUniqueOrThrow({ where: { id } });
const inventoryRow = (clusterId: string) => api.prisma.clusterInventory.findUnique({ where: { clusterId } });
const eventsOf = (clusterId: string, type?: string) => api.prisma.event.findMany({ where: { objectId: clusterId, ...(type ? { type } : {}) }, orderBy: { occurredAt: 'asc' } });
const tokenRow = (secret: string) => api.prisma.registrationToken.findUniqueOrThrow({ where: { secretHash: createHash('sha256').update(secret).digest('hex') } });
const credentialRow = (secret: string) => api.prisma.agentCredential.findUniqueOrThrow({ where: { secretHash: createHash('sha256').update(secret).digest('hex') } });
const forgedToken = () => `fpr_${randomBytes(32).toString('base64url')}`;
const forgedCredential = () => `fpc_${randomBytes(32).toString('base64url')}`;
const notReady = (name: string) => makeNode({ name, conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletNotReady' }] });

beforeAll(async () => {
  api = await startApi();
  admin = await api.bootstrapOrg('edge-fleet');
  make = new ApiFactory(api, admin);
  site = await make.site().connectivity('INTERMITTENT', 45, 180).create();
}, 60_000);

afterAll(async () => {
  await api?.close();
});

describe('GET /agent/v1/manifests/{token}.yaml', () => {
  it("serves the install manifests of the token's cluster as YAML without consuming the token", async () => {
    const { clusterId, token } = await attach({ site });
    const first = await getManifests(token);
    const second = await getManifests(token);

    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('application/yaml');
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(second.text).toBe(first.text);
    const objects = loadAll(first.text) as { kind: string; metadata: { name: string }; data?: Record<string, string>; stringData?: Record<string, string>; spec?: any }[];
    expect(objects.map((o) => o.kind)).toEqual(expect.arrayContaining(['Namespace', 'ServiceAccount', 'ClusterRole', 'Secret', 'ConfigMap', 'Deployment']));
    const configMap = objects.find((o) => o.kind === 'ConfigMap')!;
    expect(configMap.data).toMatchObject({ FARPOINT_API_URL: api.config.publicUrl, FARPOINT_CLUSTER_ID: clusterId, FARPOINT_HEARTBEAT_INTERVAL_SECONDS: '45' });
    expect(objects.find((o) => o.kind === 'Secret')!.stringData).toEqual({ 'registration-token': token });
    const version = (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
    expect(objects.find((o) => o.kind === 'Deployment')!.spec.template.spec.containers[0].image).toBe(api.config.AGENT_IMAGE ?? `farpoint/agent:${version}`);
    expect((await tokenRow(token)).usedAt).toBeNull();
    expect((await clusterRow(clusterId)).phase).toBe('PENDING');
  });

  it('refuses unknown, forged, used, expired and revoked tokens with their codes', async () => {
    expectError(await getManifests('not-a-farpoint-token-at-all'), 'TOKEN_UNKNOWN');
    expectError(await getManifests(forgedToken()), 'TOKEN_UNKNOWN');

    const used = await attach();
    expect((await postRegister(registerBody(used.token))).status).toBe(200);
    expectError(await getManifests(used.token), 'TOKEN_USED');

    const expired = await attach();
    await api.prisma.registrationToken.update({ where: { id: (await tokenRow(expired.token)).id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expectError(await getManifests(expired.token), 'TOKEN_EXPIRED');

    const revoked = await attach();
    await api.gqlOk(admin, 'mutation($id: ID!) { revokeRegistrationLinks(clusterId: $id) { id } }', { id: revoked.clusterId });
    expectError(await getManifests(revoked.token), 'TOKEN_REVOKED');
  });

  it("serves the same objects to the queue-attach worker through manifestsFor, and only for the token's own cluster", async () => {
    const { AgentRegistrationService } = await import('../../src/modules/agent-gateway/agent-registration.service');
    const service = api.app.get(AgentRegistrationService);
    const a = await attach({ site });
    const b = await attach();
    const served = loadAll((await getManifests(a.token)).text);
    expect(JSON.parse(JSON.stringify(await service.manifestsFor(a.clusterId, a.token)))).toEqual(served);
    await expect(service.manifestsFor(b.clusterId, a.token)).rejects.toMatchObject({ code: 'TOKEN_UNKNOWN' });
  });
});

describe('the state volume chosen at attach', () => {
  type Manifest = { kind: string; metadata: { name: string }; spec?: any };
  const manifestsOf = async (token: string) => loadAll((await getManifests(token)).text) as Manifest[];
  const podOf = (objects: Manifest[]) => objects.find((o) => o.kind === 'Deployment')!.spec.template.spec;

  it('defaults to a hostPath handed to the agent by an init container, and renders a chosen path, claim or emptyDir', async () => {
    const byDefault = podOf(await manifestsOf((await attach()).token));
    expect(byDefault.volumes).toContainEqual({ name: 'state', hostPath: { path: '/var/lib/farpoint-agent', type: 'DirectoryOrCreate' } });
    expect(byDefault.initContainers.map((c: { name: string }) => c.name)).toEqual(['state-owner']);

    const custom = podOf(await manifestsOf((await attach({ agentStateVolume: { hostPath: { path: '/data/farpoint' } } })).token));
    expect(custom.volumes).toContainEqual({ name: 'state', hostPath: { path: '/data/farpoint', type: 'DirectoryOrCreate' } });

    const claimed = await manifestsOf((await attach({ agentStateVolume: { persistentVolumeClaim: { storageClassName: 'local-path', size: '1Gi' } } })).token);
    expect(claimed.find((o) => o.kind === 'PersistentVolumeClaim')).toMatchObject({
      metadata: { name: 'farpoint-agent-state' },
      spec: { storageClassName: 'local-path', resources: { requests: { storage: '1Gi' } } },
    });
    expect(podOf(claimed).volumes).toContainEqual({ name: 'state', persistentVolumeClaim: { claimName: 'farpoint-agent-state' } });
    expect(podOf(claimed).initContainers).toBeUndefined();

    expect(podOf(await manifestsOf((await attach({ agentStateVolume: { emptyDir: true } })).token)).volumes).toContainEqual({ name: 'state', emptyDir: { sizeLimit: '64Mi' } });
  });

  it.each([
    ['a relative path', { hostPath: { path: 'var/lib/x' } }, 'agentStateVolume.hostPath.path'],
    ['a path that climbs', { hostPath: { path: '/var/../etc' } }, 'agentStateVolume.hostPath.path'],
    ['a size that is no size', { persistentVolumeClaim: { size: 'lots' } }, 'agentStateVolume.persistentVolumeClaim.size'],
    ['a StorageClass that is no name', { persistentVolumeClaim: { storageClassName: 'Fast Disks' } }, 'agentStateVolume.persistentVolumeClaim.storageClassName'],
    ['emptyDir: false', { emptyDir: false }, 'agentStateVolume.emptyDir'],
  ])('refuses %s with BAD_USER_INPUT naming the field, and creates no cluster', async (_what, agentStateVolume, path) => {
    const group = await make.group().create();
    const name = make.nextName('cluster');
    const { errors } = await api.gql(admin, 'mutation($input: AttachClusterInput!) { attachCluster(input: $input) { cluster { id } } }', {
      input: { name, groupId: group.id, agentStateVolume },
    });
    expect(errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'agentStateVolume', path });
    expect(await api.prisma.cluster.count({ where: { name } })).toBe(0);
  });

  it('refuses two choices at once (the input is @oneOf)', async () => {
    const group = await make.group().create();
    const { errors } = await api.gql(admin, 'mutation($input: AttachClusterInput!) { attachCluster(input: $input) { cluster { id } } }', {
      input: { name: make.nextName('cluster'), groupId: group.id, agentStateVolume: { hostPath: {}, emptyDir: true } },
    });
    expect(errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('POST /agent/v1/register', () => {
  it('exchanges the token and kube-system UID for a credential; the cluster becomes ATTACHED with health UNKNOWN', async () => {
    const { clusterId, token } = await attach({ site });
    const clusterUid = randomUUID();
    const res = await postRegister(registerBody(token, clusterUid, '0.1.0'));

    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = RegisterResponseSchema.parse(res.json);
    expect(body).toMatchObject({ clusterId, heartbeatIntervalSeconds: 45, reportIntervalSeconds: 10 });
    expect(body.credential).toMatch(/^fpc_[A-Za-z0-9_-]{43}$/);
    const expiresIn = Date.parse(body.credentialExpiresAt) - Date.now();
    expect(expiresIn).toBeGreaterThan(api.config.AGENT_CREDENTIAL_TTL_SECONDS * 1000 - 60_000);
    expect(expiresIn).toBeLessThanOrEqual(api.config.AGENT_CREDENTIAL_TTL_SECONDS * 1000);

    const cluster = await clusterRow(clusterId);
    expect(cluster).toMatchObject({ phase: 'ATTACHED', health: 'UNKNOWN', kubeSystemUid: clusterUid, agentVersion: '0.1.0', lastHeartbeatAt: null });
    expect((await tokenRow(token)).usedAt).not.toBeNull();
    // Only the hash is stored.
    const stored = await credentialRow(body.credential);
    expect(stored).toMatchObject({ clusterId, previousId: null, firstUsedAt: null, revokedAt: null });
    expect(JSON.stringify(stored)).not.toContain(body.credential);
    expect((await eventsOf(clusterId)).map((e) => e.type)).toEqual(expect.arrayContaining(['AgentRegistered', 'ClusterPhaseChanged']));
    const events = await eventsOf(clusterId);
    expect(JSON.stringify(events)).not.toContain(body.credential);
    expect(JSON.stringify(events)).not.toContain(token);

    // The credential works.
    const agent: Agent = { clusterId, clusterUid, credential: body.credential, response: body, seq: 0 };
    expect((await report(agent, [heartbeat(agent)])).ackedSeq).toBe(1);
    expect((await credentialRow(body.credential)).firstUsedAt).not.toBeNull();
  });

  it('answers a heartbeat interval of 20 s for a cluster without a site', async () => {
    const { token } = await attach({ site: null });
    const res = await postRegister(registerBody(token));
    expect(res.status).toBe(200);
    expect(res.json.heartbeatIntervalSeconds).toBe(20);
  });

  it('refuses a token that was already used once the agent has used its credential', async () => {
    const { clusterId, token } = await attach();
    const clusterUid = randomUUID();
    const res = await postRegister(registerBody(token, clusterUid));
    expect(res.status).toBe(200);
    const agent: Agent = { clusterId, clusterUid, credential: res.json.credential, response: res.json, seq: 0 };
    await report(agent, [heartbeat(agent)]);

    expectError(await postRegister(registerBody(token, clusterUid)), 'TOKEN_USED');
    expectError(await postRegister(registerBody(token)), 'TOKEN_USED');
    expect(await api.prisma.agentCredential.count({ where: { clusterId } })).toBe(1);
    expect(await eventsOf(clusterId, 'AgentRegistered')).toHaveLength(1);
    await report(agent, [heartbeat(agent)]);
  });

  it('lets the same agent register again before it used its credential (lost answer), and no one else', async () => {
    const { clusterId, token } = await attach();
    const clusterUid = randomUUID();
    const installationSecret = newInstallationSecret();
    const first = await postRegister(registerBody(token, clusterUid, '0.1.0', installationSecret));
    expect(first.status).toBe(200);

    expectError(await postRegister(registerBody(token, randomUUID(), '0.1.0', installationSecret)), 'TOKEN_USED');
    const again = await postRegister(registerBody(token, clusterUid, '0.1.0', installationSecret));
    expect(again.status).toBe(200);
    expect(again.json.clusterId).toBe(clusterId);
    expect(again.json.credential).not.toBe(first.json.credential);
    // The first answer was lost: its credential no longer works, the new one does.
    expectError(await postReports(first.json.credential, makeReportsRequest([makeHeartbeatItem(1)], { clusterId })), 'CREDENTIAL_REVOKED');
    expect((await postReports(again.json.credential, makeReportsRequest([makeHeartbeatItem(1)], { clusterId }))).status).toBe(200);
    // Once a credential was used the token is spent for good.
    expectError(await postRegister(registerBody(token, clusterUid, '0.1.0', installationSecret)), 'TOKEN_USED');
  });

  it('refuses unknown, forged, expired and revoked tokens and leaves the cluster PENDING', async () => {
    expectError(await postRegister(registerBody(forgedToken())), 'TOKEN_UNKNOWN');
    expectError(await postRegister(registerBody('fpr_short-but-valid-chars')), 'TOKEN_UNKNOWN');

    const expired = await attach();
    await api.prisma.registrationToken.update({ where: { id: (await tokenRow(expired.token)).id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expectError(await postRegister(registerBody(expired.token)), 'TOKEN_EXPIRED');

    const revoked = await attach();
    await api.gqlOk(admin, 'mutation($id: ID!) { revokeRegistrationLinks(clusterId: $id) { id } }', { id: revoked.clusterId });
    expectError(await postRegister(registerBody(revoked.token)), 'TOKEN_REVOKED');

    for (const { clusterId, token } of [expired, revoked]) {
      expect(await clusterRow(clusterId)).toMatchObject({ phase: 'PENDING', kubeSystemUid: null });
      expect((await tokenRow(token)).usedAt).toBeNull();
      expect(await api.prisma.agentCredential.count({ where: { clusterId } })).toBe(0);
    }
  });

  it('lets exactly one of two concurrent registrations with the same token win', async () => {
    const { clusterId, token } = await attach();
    const results = await Promise.all([postRegister(registerBody(token)), postRegister(registerBody(token))]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409]);
    expectError(
      results.find((r) => r.status === 409)!,
      'TOKEN_USED',
    );
    expect(await api.prisma.agentCredential.count({ where: { clusterId, revokedAt: null } })).toBe(1);
    expect(await eventsOf(clusterId, 'AgentRegistered')).toHaveLength(1);
  });

  it('refuses an agent from another Kubernetes cluster with CLUSTER_IDENTITY_MISMATCH and a SECURITY event, without consuming the token', async () => {
    const agent = await registeredAgent();
    // The attach failed after registration (e.g. the worker gave up); an operator issues a new link.
    await api.prisma.cluster.update({ where: { id: agent.clusterId }, data: { phase: 'ERROR', phaseReason: 'attach timed out' } });
    const link = await api.gqlOk<{ reissueRegistrationLink: { registrationToken: string } }>(
      admin,
      'mutation($id: ID!) { reissueRegistrationLink(clusterId: $id) { registrationToken } }',
      { id: agent.clusterId },
    );
    const token = link.reissueRegistrationLink.registrationToken;

    const intruderUid = randomUUID();
    const refused = await postRegister(registerBody(token, intruderUid));
    expectError(refused, 'CLUSTER_IDENTITY_MISMATCH');
    const security = await eventsOf(agent.clusterId, 'AgentIdentityMismatch');
    expect(security).toHaveLength(1);
    expect(security[0]).toMatchObject({ severity: 'SECURITY', actor: 'agent:unverified', data: { agentVersion: '0.1.0' } });
    // Neither UID: VIEWERs read Events, and a UID is half of what a repeated registration needs.
    for (const uid of [agent.clusterUid, intruderUid]) {
      expect(JSON.stringify(security)).not.toContain(uid);
    }
    expect(await clusterRow(agent.clusterId)).toMatchObject({ phase: 'ERROR', kubeSystemUid: agent.clusterUid });
    expect((await tokenRow(token)).usedAt).toBeNull();

    // The original cluster's agent still registers with the same token.
    const rightful = await postRegister(registerBody(token, agent.clusterUid));
    expect(rightful.status).toBe(200);
    expect((await clusterRow(agent.clusterId)).phase).toBe('ATTACHED');
    // Its earlier credential belonged to the previous registration and is revoked.
    expectError(await postReports(agent.credential, batch(agent, [heartbeat(agent)])), 'CREDENTIAL_REVOKED');
  });

  it('answers PROTOCOL_INVALID_BODY naming the invalid fields', async () => {
    const res = await postRegister({ registrationToken: forgedToken(), clusterUid: 'not-a-uid' });
    expectError(res, 'PROTOCOL_INVALID_BODY');
    expect(res.json.error.message).toContain('clusterUid');
    expect(res.json.error.message).toContain('agentVersion');
  });
});

describe('a repeated registration with a used token (the installation secret)', () => {
  /** A cluster registered once with `installationSecret`; its credential not used yet (the answer "was lost"). */
  async function registeredOnce() {
    const { clusterId, token } = await attach();
    const clusterUid = randomUUID();
    const installationSecret = newInstallationSecret();
    const first = await postRegister(registerBody(token, clusterUid, '0.1.0', installationSecret));
    expect(first.status).toBe(200);
    return { clusterId, token, clusterUid, installationSecret, credential: first.json.credential as string };
  }

  it('stores only the SHA-256 of the installation secret the first registration presented', async () => {
    const { token, installationSecret } = await registeredOnce();
    const row = await tokenRow(token);
    expect(row.installationSecretHash).toBe(createHash('sha256').update(installationSecret).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(installationSecret);
  });

  it.each([
    ['without an installation secret', null, 'INSTALLATION_SECRET_MISSING'],
    ['with a wrong installation secret', 'a-wrong-installation-secret-0123456789abcdef', 'INSTALLATION_SECRET_MISMATCH'],
  ])('refuses a replay of the token and the kube-system UID %s (TOKEN_USED), records a SECURITY event, and the agent keeps its credential', async (_, replayedSecret, reason) => {
    const agent = await registeredOnce();
    const refused = await postRegister(registerBody(agent.token, agent.clusterUid, '0.1.0', replayedSecret));
    expectError(refused, 'TOKEN_USED');
    // The same answer as for any used token: the replayer cannot tell which check failed.
    expect(refused.json.error.message).toBe((await postRegister(registerBody(agent.token))).json.error.message);

    const security = await eventsOf(agent.clusterId, 'AgentRegistrationRepeatRefused');
    expect(security).toHaveLength(1);
    expect(security[0]).toMatchObject({ severity: 'SECURITY', actor: 'agent:unverified', data: { reason, agentVersion: '0.1.0' } });
    expect(JSON.stringify(security)).not.toContain(agent.clusterUid);
    // Nothing was issued or revoked: the real agent's first credential still works and is the only one.
    expect(await api.prisma.agentCredential.count({ where: { clusterId: agent.clusterId } })).toBe(1);
    expect((await postReports(agent.credential, makeReportsRequest([makeHeartbeatItem(1)], { clusterId: agent.clusterId }))).status).toBe(200);
    expect(await eventsOf(agent.clusterId, 'AgentRegistered')).toHaveLength(1);
  });

  it('accepts the retry of the agent that lost its answer: same token, UID and installation secret', async () => {
    const agent = await registeredOnce();
    const again = await postRegister(registerBody(agent.token, agent.clusterUid, '0.1.0', agent.installationSecret));
    expect(again.status).toBe(200);
    expect(RegisterResponseSchema.parse(again.json).clusterId).toBe(agent.clusterId);
    expectError(await postReports(agent.credential, makeReportsRequest([makeHeartbeatItem(1)], { clusterId: agent.clusterId })), 'CREDENTIAL_REVOKED');
    expect((await postReports(again.json.credential, makeReportsRequest([makeHeartbeatItem(1)], { clusterId: agent.clusterId }))).status).toBe(200);
    expect((await eventsOf(agent.clusterId, 'AgentRegistered')).map((e) => (e.data as { repeated: boolean }).repeated)).toEqual([false, true]);
    expect(await eventsOf(agent.clusterId, 'AgentRegistrationRepeatRefused')).toEqual([]);
  });

  it(`refuses the right installation secret once ${REGISTRATION_REPEAT_WINDOW_SECONDS / 60} minutes have passed since the first registration, with a WARNING event`, async () => {
    const agent = await registeredOnce();
    const row = await tokenRow(agent.token);
    // Just inside the window it still works …
    await api.prisma.registrationToken.update({ where: { id: row.id }, data: { usedAt: new Date(Date.now() - (REGISTRATION_REPEAT_WINDOW_SECONDS - 30) * 1000) } });
    const inside = await postRegister(registerBody(agent.token, agent.clusterUid, '0.1.0', agent.installationSecret));
    expect(inside.status).toBe(200);
    // … just after it, it does not.
    await api.prisma.registrationToken.update({ where: { id: row.id }, data: { usedAt: new Date(Date.now() - (REGISTRATION_REPEAT_WINDOW_SECONDS + 30) * 1000) } });
    expectError(await postRegister(registerBody(agent.token, agent.clusterUid, '0.1.0', agent.installationSecret)), 'TOKEN_USED');

    const late = await eventsOf(agent.clusterId, 'AgentRegistrationRepeatRefused');
    expect(late).toHaveLength(1);
    expect(late[0]).toMatchObject({ severity: 'WARNING', data: { reason: 'REPEAT_WINDOW_CLOSED' } });
    expect(late[0].message).toContain('10 minutes');
    // The credential of the last accepted registration is untouched.
    expect((await postReports(inside.json.credential, makeReportsRequest([makeHeartbeatItem(1)], { clusterId: agent.clusterId }))).status).toBe(200);
  });

  it('a VIEWER reading events, cluster detail and inventory never sees the kube-system UID', async () => {
    const viewer = await api.createToken(admin, 'VIEWER', 'uid-reader');
    const agent = await registeredOnce();
    // Every event that once carried the UID: registered, repeated, refused repeat, other cluster's agent.
    expect((await postRegister(registerBody(agent.token, agent.clusterUid, '0.1.0', agent.installationSecret))).status).toBe(200);
    const retry = await postRegister(registerBody(agent.token, agent.clusterUid, '0.1.0', agent.installationSecret));
    expect(retry.status).toBe(200);
    expectError(await postRegister(registerBody(agent.token, agent.clusterUid, '0.1.0', null)), 'TOKEN_USED');
    // The inventory lists kube-system with that very UID (the agent reports namespace UIDs).
    const reporter: Agent = { clusterId: agent.clusterId, clusterUid: agent.clusterUid, credential: retry.json.credential, response: retry.json, seq: 0 };
    const inventory = makeInventory({ namespaces: [makeNamespace({ name: 'kube-system', uid: agent.clusterUid }), makeNamespace({ name: 'default' })] });
    await report(reporter, [snapshot(reporter, inventory), heartbeat(reporter)]);
    await api.prisma.cluster.update({ where: { id: agent.clusterId }, data: { phase: 'ERROR' } });
    const link = await api.gqlOk<{ reissueRegistrationLink: { registrationToken: string } }>(
      admin,
      'mutation($id: ID!) { reissueRegistrationLink(clusterId: $id) { registrationToken } }',
      { id: agent.clusterId },
    );
    expectError(await postRegister(registerBody(link.reissueRegistrationLink.registrationToken, randomUUID())), 'CLUSTER_IDENTITY_MISMATCH');

    const eventFields = 'edges { node { id objectKind objectId type severity actor message data occurredAt } }';
    const read = await api.gqlOk(
      viewer,
      `query($id: ID!) {
        events(first: 100, objectId: $id) { ${eventFields} }
        cluster(id: $id) {
          id name phase phaseReason agentVersion labels description
          clusterEvents(first: 100) { ${eventFields} }
          discoveredNamespaces { name phase labels }
          nodes { name labels roles }
          workloads { kind namespace name }
          operations { id kind state lastError }
        }
      }`,
      { id: agent.clusterId },
    );
    const types = (read as { events: { edges: { node: { type: string } }[] } }).events.edges.map((e) => e.node.type);
    expect(types).toEqual(expect.arrayContaining(['AgentRegistered', 'AgentRegistrationRepeatRefused', 'AgentIdentityMismatch', 'ClusterInventoryChanged']));
    expect((read as { cluster: { discoveredNamespaces: { name: string }[] } }).cluster.discoveredNamespaces.map((n) => n.name)).toContain('kube-system');
    expect(JSON.stringify(read)).not.toContain(agent.clusterUid);
  });
});

describe('agent credentials', () => {
  it('refuses a missing, malformed, unknown or expired credential', async () => {
    const agent = await registeredAgent();
    const body = batch(agent, [makeHeartbeatItem(1)]);
    expectError(await postReports(undefined, body), 'CREDENTIAL_INVALID');
    expectError(await call('POST', AgentPaths.reports, AgentPaths.reports, { body, headers: { authorization: `Basic ${agent.credential}` } }), 'CREDENTIAL_INVALID');
    expectError(await postReports(forgedCredential(), body), 'CREDENTIAL_INVALID');
    expectError(await postReports(`fpt_${randomBytes(32).toString('base64url')}`, body), 'CREDENTIAL_INVALID');

    await api.prisma.agentCredential.update({ where: { id: (await credentialRow(agent.credential)).id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expectError(await postReports(agent.credential, body), 'CREDENTIAL_EXPIRED');
    expectError(await postRotate(agent.credential, agent.clusterId), 'CREDENTIAL_EXPIRED');
    expect(await inventoryRow(agent.clusterId)).toBeNull();
  });

  it('refuses a credential presented for another cluster with CREDENTIAL_WRONG_CLUSTER and a SECURITY event on its own cluster', async () => {
    const mine = await registeredAgent();
    const other = await registeredAgent();

    const res = await postReports(mine.credential, makeReportsRequest([heartbeat(mine), snapshot(mine)], { clusterId: other.clusterId }));
    expectError(res, 'CREDENTIAL_WRONG_CLUSTER');
    expectError(await postRotate(mine.credential, other.clusterId), 'CREDENTIAL_WRONG_CLUSTER');

    const security = await eventsOf(mine.clusterId, 'CrossClusterReportRefused');
    expect(security).toHaveLength(2);
    expect(security[0]).toMatchObject({ severity: 'SECURITY', data: { claimedClusterId: other.clusterId, operation: 'reports' } });
    expect(security[1]).toMatchObject({ severity: 'SECURITY', data: { claimedClusterId: other.clusterId, operation: 'rotate' } });
    // Nothing reached the other cluster, and it gets no event (it may be another organization's).
    expect(await clusterRow(other.clusterId)).toMatchObject({ phase: 'ATTACHED', lastHeartbeatAt: null, nodeCount: 0 });
    expect(await inventoryRow(other.clusterId)).toBeNull();
    expect(await eventsOf(other.clusterId, 'CrossClusterReportRefused')).toHaveLength(0);
    expect(await api.prisma.agentCredential.count({ where: { clusterId: other.clusterId } })).toBe(1);
  });

  it('rotates: the new credential works, the old one keeps working until the new one is used, then is refused', async () => {
    const agent = await registeredAgent();
    const old = agent.credential;
    const res = await postRotate(old, agent.clusterId);
    expect(res.status).toBe(200);
    const rotated = RotateCredentialResponseSchema.parse(res.json);
    expect(rotated.credential).not.toBe(old);
    expect((await credentialRow(rotated.credential)).previousId).toBe((await credentialRow(old)).id);
    expect(await eventsOf(agent.clusterId, 'AgentCredentialRotated')).toHaveLength(1);

    // The answer might have been lost: the old credential still works.
    await report({ ...agent, credential: old }, [heartbeat(agent)]);
    await report({ ...agent, credential: old }, [heartbeat(agent)]);
    // The first use of the new one retires the old one.
    await report({ ...agent, credential: rotated.credential }, [heartbeat(agent)]);
    expectError(await postReports(old, batch(agent, [heartbeat(agent)])), 'CREDENTIAL_REVOKED');
    expectError(await postRotate(old, agent.clusterId), 'CREDENTIAL_REVOKED');
    await report({ ...agent, credential: rotated.credential }, [heartbeat(agent)]);
    expect(await eventsOf(agent.clusterId, 'AgentCredentialPredecessorRevoked')).toHaveLength(1);
  });

  it('revokes a rotated credential that was never used when the agent rotates again with the old one', async () => {
    const agent = await registeredAgent();
    const lost = (await postRotate(agent.credential, agent.clusterId)).json.credential as string;
    const kept = (await postRotate(agent.credential, agent.clusterId)).json.credential as string;
    expectError(await postReports(lost, batch(agent, [heartbeat(agent)])), 'CREDENTIAL_REVOKED');
    await report({ ...agent, credential: kept }, [heartbeat(agent)]);
    expect(await api.prisma.agentCredential.count({ where: { clusterId: agent.clusterId, revokedAt: null } })).toBe(1);
  });
});

describe('POST /agent/v1/reports', () => {
  it("sets lastHeartbeatAt from the server clock, whatever the agent's clock says", async () => {
    const agent = await registeredAgent();
    const before = new Date();
    const res = await postReports(agent.credential, batch(agent, [heartbeat(agent, '2001-01-01T00:00:00.000Z')], { sentAt: '2001-01-01T00:00:01.000Z' }));
    const after = new Date();
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ ackedSeq: 1, directives: [] });
    const cluster = await clusterRow(agent.clusterId);
    expect(cluster.lastHeartbeatAt!.getTime()).toBeGreaterThanOrEqual(before.getTime() - 5);
    expect(cluster.lastHeartbeatAt!.getTime()).toBeLessThanOrEqual(after.getTime() + 5);
    // No inventory yet: the cluster stays ATTACHED and its health UNKNOWN.
    expect(cluster).toMatchObject({ phase: 'ATTACHED', health: 'UNKNOWN' });
    expect((await inventoryRow(agent.clusterId))!.ackedSeq).toBe(1);
  });

  it('makes the cluster READY and HEALTHY on the first snapshot and stores its summary', async () => {
    const agent = await registeredAgent();
    const inventory = makeInventory({
      kubernetesVersion: 'v1.30.2+vmware.1',
      distribution: 'TKG',
      nodes: [makeNode({ name: 'cp-1' }), makeNode({ name: 'worker-1', allocatable: { cpuMillis: 7800, memoryMiB: 30000, pods: 110 } })],
      requested: { cpuMillis: 1250, memoryMiB: 2048 },
    });
    const ack = await report(agent, [heartbeat(agent), snapshot(agent, inventory)]);
    expect(ack).toEqual({ ackedSeq: 2, directives: [] });
    expect(await clusterRow(agent.clusterId)).toMatchObject({
      phase: 'READY',
      health: 'HEALTHY',
      nodeCount: 2,
      allocatableCpuMillis: 3800 + 7800,
      allocatableMemoryMiB: 15437 + 30000,
      requestedCpuMillis: 1250,
      requestedMemoryMiB: 2048,
      distribution: 'TKG',
      kubernetesVersion: 'v1.30.2+vmware.1',
    });
    expect((await inventoryRow(agent.clusterId))!.snapshot).toEqual(JSON.parse(JSON.stringify(inventory)));
    expect((await eventsOf(agent.clusterId, 'ClusterPhaseChanged')).map((e) => (e.data as { to: string }).to)).toEqual(['ATTACHED', 'READY']);
    expect(await eventsOf(agent.clusterId, 'ClusterInventoryChanged')).toHaveLength(1);
  });

  it('treats a replayed batch as a no-op: same ackedSeq, nothing changes', async () => {
    const agent = await registeredAgent();
    const items = [heartbeat(agent), snapshot(agent), delta(agent, { nodes: { upserts: [notReady('node-3')], deletions: [] } })];
    const first = await report(agent, items);
    const clusterBefore = await clusterRow(agent.clusterId);
    const inventoryBefore = await inventoryRow(agent.clusterId);
    const eventsBefore = await eventsOf(agent.clusterId);

    const replay = await report(agent, items);
    expect(replay).toEqual(first);
    expect(replay.ackedSeq).toBe(3);
    expect(await clusterRow(agent.clusterId)).toEqual(clusterBefore);
    expect(await inventoryRow(agent.clusterId)).toEqual(inventoryBefore);
    expect(await eventsOf(agent.clusterId)).toEqual(eventsBefore);
  });

  it('stores a batch sent twice at the same time once', async () => {
    const agent = await registeredAgent();
    await report(agent, [snapshot(agent)]);
    const items = [heartbeat(agent), delta(agent, { nodes: { upserts: [notReady('node-9')], deletions: [] } })];
    const eventsBefore = (await eventsOf(agent.clusterId)).length;
    const answers = await Promise.all([postReports(agent.credential, batch(agent, items)), postReports(agent.credential, batch(agent, items))]);
    expect(answers.map((a) => [a.status, a.json])).toEqual([
      [200, { ackedSeq: 3, directives: [] }],
      [200, { ackedSeq: 3, directives: [] }],
    ]);
    expect(await clusterRow(agent.clusterId)).toMatchObject({ nodeCount: 3, health: 'WARNING' });
    // One health change and one inventory change: the second batch found everything stored already.
    expect(
      (await eventsOf(agent.clusterId))
        .map((e) => e.type)
        .slice(eventsBefore)
        .sort(),
    ).toEqual(['ClusterHealthChanged', 'ClusterInventoryChanged']);
  });

  it('ignores items older than the acknowledged seq, also within a batch that brings new ones', async () => {
    const agent = await registeredAgent();
    await report(agent, [snapshot(agent), heartbeat(agent), heartbeat(agent)]); // seq 1..3
    const stale = { seq: 2, observedAt: '2026-11-26T09:00:00.000Z', kind: 'inventory.snapshot', payload: makeInventory({ nodes: [] }) } as ReportItem;
    expect(await report(agent, [stale])).toEqual({ ackedSeq: 3, directives: [] });
    expect(await clusterRow(agent.clusterId)).toMatchObject({ nodeCount: 2, health: 'HEALTHY' });

    agent.seq = 3;
    const fresh = delta(agent, { nodes: { upserts: [], deletions: ['node-2'] } }); // seq 4
    expect(await report(agent, [stale, fresh])).toEqual({ ackedSeq: 4, directives: [] });
    expect((await clusterRow(agent.clusterId)).nodeCount).toBe(1);
  });

  it('applies deltas to the stored inventory and derives health from the nodes', async () => {
    const agent = await registeredAgent();
    await report(agent, [snapshot(agent)]);
    await report(agent, [delta(agent, { nodes: { upserts: [notReady('node-2')], deletions: [] } })]);
    expect(await clusterRow(agent.clusterId)).toMatchObject({ health: 'WARNING', nodeCount: 2 });

    await report(agent, [delta(agent, { nodes: { upserts: [notReady('node-1')], deletions: [] }, kubernetesVersion: 'v1.31.5+k3s1' })]);
    expect(await clusterRow(agent.clusterId)).toMatchObject({ health: 'UNHEALTHY', kubernetesVersion: 'v1.31.5+k3s1' });

    await report(agent, [delta(agent, { nodes: { upserts: [makeNode({ name: 'node-1' })], deletions: ['node-2'] } })]);
    expect(await clusterRow(agent.clusterId)).toMatchObject({ health: 'HEALTHY', nodeCount: 1, allocatableCpuMillis: 3800 });
    const stored = (await inventoryRow(agent.clusterId))!.snapshot as unknown as Inventory;
    expect(stored.nodes.map((n) => n.name)).toEqual(['node-1']);
    expect(stored.kubernetesVersion).toBe('v1.31.5+k3s1');
  });

  it('acknowledges a delta that arrives before any snapshot, drops it and asks for a snapshot', async () => {
    const agent = await registeredAgent();
    const res = await report(agent, [heartbeat(agent), delta(agent, { nodes: { upserts: [makeNode({ name: 'n' })], deletions: [] } })]);
    expect(res).toEqual({ ackedSeq: 2, directives: [{ type: 'SEND_SNAPSHOT' }] });
    expect((await inventoryRow(agent.clusterId))!.snapshot).toBeNull();
    expect(await clusterRow(agent.clusterId)).toMatchObject({ phase: 'ATTACHED', nodeCount: 0 });

    // A snapshot later in the same batch is the base for the deltas after it: no directive then.
    const res2 = await report(agent, [
      delta(agent, { requested: { cpuMillis: 1, memoryMiB: 1 } }),
      snapshot(agent),
      delta(agent, { nodes: { upserts: [], deletions: ['node-1'] } }),
    ]);
    expect(res2).toEqual({ ackedSeq: 5, directives: [] });
    expect(await clusterRow(agent.clusterId)).toMatchObject({ phase: 'READY', nodeCount: 1 });
  });

  it('brings a DISCONNECTED cluster back with its next heartbeat', async () => {
    const agent = await registeredAgent();
    await report(agent, [snapshot(agent)]);
    await api.prisma.cluster.update({ where: { id: agent.clusterId }, data: { health: 'DISCONNECTED' } });
    // An inventory change alone does not overrule the health sweep; a heartbeat does.
    await report(agent, [delta(agent, { requested: { cpuMillis: 900, memoryMiB: 600 } })]);
    expect((await clusterRow(agent.clusterId)).health).toBe('DISCONNECTED');
    await report(agent, [heartbeat(agent)]);
    expect((await clusterRow(agent.clusterId)).health).toBe('HEALTHY');
    const changed = await eventsOf(agent.clusterId, 'ClusterHealthChanged');
    expect(changed[changed.length - 1].data).toEqual({ from: 'DISCONNECTED', to: 'HEALTHY' });
  });

  it('refuses an audit.result naming an assignment that does not reach the cluster with 422 REPORT_ASSIGNMENT_REFUSED, storing nothing of the batch', async () => {
    const agent = await registeredAgent();
    const audit: ReportItem = {
      seq: 2,
      observedAt: '2026-12-01T10:00:00.000Z',
      kind: 'audit.result',
      payload: { assignmentId: randomUUID(), generation: 1, complete: true, totalViolations: 0, violations: [] },
    };
    const res = await postReports(agent.credential, batch(agent, [heartbeat(agent), audit]));
    expectError(res, 'REPORT_ASSIGNMENT_REFUSED');
    expect(res.status).toBe(422);
    expect((await clusterRow(agent.clusterId)).lastHeartbeatAt).toBeNull();
    expect(await inventoryRow(agent.clusterId)).toBeNull();
  });

  it("shows the agent's connectivity by the site's grace, its backlog, drops per kind and oldest queued item over GraphQL, from the last heartbeat", async () => {
    const agent = await registeredAgent({ site });
    const connectivity = async () =>
      (
        await api.gqlOk<{ cluster: { connectivity: Record<string, unknown> } }>(
          admin,
          'query($id: ID!) { cluster(id: $id) { connectivity { state backlogItems droppedByKind { kind count } oldestQueuedAt lastHeartbeatAt } } }',
          { id: agent.clusterId },
        )
      ).cluster.connectivity;
    expect(await connectivity()).toEqual({ state: 'NEVER_CONNECTED', backlogItems: null, droppedByKind: [], oldestQueuedAt: null, lastHeartbeatAt: null });

    const queued = (depth: number, droppedByKind: Record<string, number>, oldestQueuedAt?: string): ReportItem => ({
      seq: ++agent.seq,
      observedAt: '2026-11-26T10:00:20.000Z',
      kind: 'heartbeat',
      payload: makeHeartbeatPayload({
        queueDepth: depth,
        droppedItemCount: Object.values(droppedByKind).reduce((a, b) => a + b, 0),
        droppedByKind,
        ...(oldestQueuedAt ? { oldestQueuedAt } : {}),
      }),
    });
    const backlog = [queued(900, { heartbeat: 40 }, '2026-11-25T08:00:00.000Z'), queued(901, { heartbeat: 41, 'inventory.delta': 3 }, '2026-11-25T08:00:00.000Z')];
    await report(agent, backlog);
    const online = await connectivity();
    expect(online).toEqual({
      state: 'ONLINE',
      backlogItems: 901,
      droppedByKind: [
        { kind: 'heartbeat', count: 41 },
        { kind: 'inventory.delta', count: 3 },
      ],
      oldestQueuedAt: '2026-11-25T08:00:00.000Z',
      lastHeartbeatAt: (await clusterRow(agent.clusterId)).lastHeartbeatAt!.toISOString(),
    });

    // Drained: the next heartbeat is alone in the queue. A replay of the old batch changes nothing.
    await report(agent, [queued(1, { heartbeat: 41, 'inventory.delta': 3 })]);
    await report(agent, backlog);
    expect(await connectivity()).toMatchObject({
      state: 'ONLINE',
      backlogItems: 1,
      oldestQueuedAt: null,
      droppedByKind: [
        { kind: 'heartbeat', count: 41 },
        { kind: 'inventory.delta', count: 3 },
      ],
    });

    // The site allows 180 s of silence.
    await api.prisma.cluster.update({ where: { id: agent.clusterId }, data: { lastHeartbeatAt: new Date(Date.now() - 170_000) } });
    expect((await connectivity()).state).toBe('ONLINE');
    await api.prisma.cluster.update({ where: { id: agent.clusterId }, data: { lastHeartbeatAt: new Date(Date.now() - 181_000) } });
    expect(await connectivity()).toMatchObject({ state: 'OFFLINE', backlogItems: 1 });
  });

  it('answers PROTOCOL_INVALID_BODY with the field paths, for schema errors and for bodies that are not JSON', async () => {
    const agent = await registeredAgent();
    const bad = batch(agent, [{ ...makeHeartbeatItem(0), payload: { queueDepth: -1 } } as unknown as ReportItem]);
    const res = await postReports(agent.credential, bad);
    expectError(res, 'PROTOCOL_INVALID_BODY');
    expect(res.json.error.message).toContain('items[0].seq');
    expect(res.json.error.message).toContain('items[0].payload.queueDepth');

    const unordered = await postReports(agent.credential, batch(agent, [makeHeartbeatItem(5), makeHeartbeatItem(4)]));
    expectError(unordered, 'PROTOCOL_INVALID_BODY');
    expect(unordered.json.error.message).toContain('items[1].seq');

    expectError(await postReports(agent.credential, undefined, '{"clusterId": '), 'PROTOCOL_INVALID_BODY');
    expectError(
      await call('POST', AgentPaths.reports, AgentPaths.reports, { raw: 'heartbeat', credential: agent.credential, headers: { 'content-type': 'text/plain' } }),
      'PROTOCOL_INVALID_BODY',
    );
    expectError(await postReports(agent.credential, batch(agent, [makeHeartbeatItem(2 ** 31)])), 'PROTOCOL_INVALID_BODY');
    expect(await inventoryRow(agent.clusterId)).toBeNull();
  });

  it("accepts bodies above the API's general body limit up to the protocol's limit", async () => {
    const agent = await registeredAgent();
    const namespaces = Array.from({ length: 10_000 }, (_, i) =>
      makeNamespace({ name: `tenant-${String(i).padStart(5, '0')}`, labels: { 'kubernetes.io/metadata.name': `tenant-${i}`, team: 'platform-edge-operations' } }),
    );
    const body = batch(agent, [snapshot(agent, makeInventory({ namespaces }))]);
    const size = Buffer.byteLength(JSON.stringify(body));
    expect(size).toBeGreaterThan(api.config.BODY_LIMIT_BYTES);
    expect(size).toBeLessThan(AgentProtocolLimits.maxBodyBytes);
    const res = await postReports(agent.credential, body);
    expect(res.status).toBe(200);
    expect(((await inventoryRow(agent.clusterId))!.snapshot as unknown as Inventory).namespaces).toHaveLength(10_000);
  });

  it("refuses a body above the protocol's limit with 413 PAYLOAD_TOO_LARGE in the protocol's error body", async () => {
    const agent = await registeredAgent();
    const raw = JSON.stringify(batch(agent, [heartbeat(agent)], { padding: 'x'.repeat(AgentProtocolLimits.maxBodyBytes) }));
    const res = await postReports(agent.credential, undefined, raw);
    expectError(res, 'PAYLOAD_TOO_LARGE');
    expect(await inventoryRow(agent.clusterId)).toBeNull();
  });
});

describe('detach: DETACH through the report channel until the agent acknowledges it', () => {
  it('answers DETACH again after a lost answer, keeps the credential for reports and the acknowledgement only, and refuses everything after it', async () => {
    const agent = await registeredAgent();
    await report(agent, [heartbeat(agent), snapshot(agent)]);
    const rotated = (await postRotate(agent.credential, agent.clusterId)).json.credential as string;
    await api.gqlOk(admin, 'mutation($id: ID!) { detachCluster(id: $id) { phase } }', { id: agent.clusterId });
    expect((await clusterRow(agent.clusterId)).phase).toBe('DETACHING');

    // The answer carrying DETACH is lost on the way back: the agent never reads it.
    const lost = await postReports(agent.credential, batch(agent, [heartbeat(agent)]));
    expect(lost.status).toBe(200);
    expect((await clusterRow(agent.clusterId)).phase).toBe('DETACHING');
    // Its next report hears it again.
    expect(await report(agent, [heartbeat(agent)])).toEqual({ ackedSeq: 4, directives: [{ type: 'DETACH' }] });
    // Detaching: no new credential.
    expectError(await postRotate(agent.credential, agent.clusterId), 'CLUSTER_DETACHING');

    const ack = await postDetachAck(agent.credential, agent.clusterId);
    expect(ack.status).toBe(200);
    expect(DetachAckResponseSchema.parse(ack.json)).toEqual({ clusterId: agent.clusterId, detachedAt: expect.any(String) });

    expect(await clusterRow(agent.clusterId)).toMatchObject({ phase: 'DETACHED', health: 'UNKNOWN' });
    const operations = await api.prisma.clusterOperation.findMany({ where: { clusterId: agent.clusterId, kind: 'DETACH' } });
    expect(operations.map((o) => o.state)).toEqual(['SUCCEEDED']);
    expect(await eventsOf(agent.clusterId, 'ClusterDetached')).toHaveLength(1);
    expect(await api.prisma.agentCredential.count({ where: { clusterId: agent.clusterId, revokedAt: null } })).toBe(0);

    // A DETACHED cluster's credentials can do nothing.
    for (const credential of [agent.credential, rotated]) {
      expectError(await postReports(credential, batch(agent, [heartbeat(agent)])), 'CREDENTIAL_REVOKED');
      expectError(await postRotate(credential, agent.clusterId), 'CREDENTIAL_REVOKED');
      expectError(await postDetachAck(credential, agent.clusterId), 'CREDENTIAL_REVOKED');
      expectError(await call('GET', `${AgentPaths.desiredState}?generation=0`, AgentPaths.desiredState, { credential }), 'CREDENTIAL_REVOKED');
    }
  });

  it('refuses an acknowledgement from a cluster that is not detaching (DETACH_NOT_REQUESTED) and from another cluster (CREDENTIAL_WRONG_CLUSTER)', async () => {
    const agent = await registeredAgent();
    const other = await registeredAgent();
    await api.gqlOk(admin, 'mutation($id: ID!) { detachCluster(id: $id) { phase } }', { id: other.clusterId });

    expectError(await postDetachAck(agent.credential, agent.clusterId), 'DETACH_NOT_REQUESTED');
    expectError(await postDetachAck(agent.credential, other.clusterId), 'CREDENTIAL_WRONG_CLUSTER');
    expectError(await postDetachAck(forgedCredential(), other.clusterId), 'CREDENTIAL_INVALID');

    expect((await clusterRow(agent.clusterId)).phase).toBe('ATTACHED');
    expect((await clusterRow(other.clusterId)).phase).toBe('DETACHING');
  });
});

describe('POST /agent/v1/credentials/renew', () => {
  /** A registered agent that enrolled a renewal key, whose credential has expired since. */
  async function expiredAgent(): Promise<Agent & { privateKey: string }> {
    const { clusterId, token } = await attach();
    const privateKey = newRenewalPrivateKey();
    const res = await postRegister({ ...registerBody(token), renewalPublicKey: renewalPublicKeyOf(privateKey) });
    expect(res.status).toBe(200);
    const agent = { clusterId, clusterUid: '', credential: res.json.credential as string, response: res.json, seq: 0, privateKey };
    await report(agent, [heartbeat(agent)]);
    await api.prisma.agentCredential.update({
      where: { secretHash: createHash('sha256').update(agent.credential).digest('hex') },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    expectError(await postReports(agent.credential, batch(agent, [heartbeat(agent)])), 'CREDENTIAL_EXPIRED');
    return agent;
  }
  const signed = (agent: { clusterId: string; credential: string; privateKey: string }, clusterId = agent.clusterId) =>
    signedRenewal(agent.privateKey, clusterId, agent.credential, randomBytes(16).toString('base64url'), new Date().toISOString());

  it('gives an agent back a credential after it was offline longer than the lifetime; the renewal works once', async () => {
    const agent = await expiredAgent();
    const body = signed(agent);

    const res = await postRenew(agent.credential, body);

    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const renewed = RotateCredentialResponseSchema.parse(res.json).credential;
    expect(await report({ ...agent, credential: renewed }, [heartbeat(agent)])).toMatchObject({ directives: [] });
    expect(await eventsOf(agent.clusterId, 'AgentCredentialRenewed')).toHaveLength(1);
    // The same request again, and a fresh one with the expired credential (revoked by the successor's first use).
    expectError(await postRenew(agent.credential, body), 'CREDENTIAL_REVOKED');
    expectError(await postRenew(agent.credential, signed(agent)), 'CREDENTIAL_REVOKED');
  });

  it('refuses a replay before the successor was used (RENEWAL_REPLAYED), a valid credential (CREDENTIAL_NOT_EXPIRED), another cluster (CREDENTIAL_WRONG_CLUSTER) and its key (RENEWAL_SIGNATURE_INVALID)', async () => {
    const agent = await expiredAgent();
    const other = await expiredAgent();
    const body = signed(agent);
    expect((await postRenew(agent.credential, body)).status).toBe(200);
    expectError(await postRenew(agent.credential, body), 'RENEWAL_REPLAYED');

    const valid = await registeredAgent();
    expectError(await postRenew(valid.credential, signed({ ...valid, privateKey: newRenewalPrivateKey() })), 'CREDENTIAL_NOT_EXPIRED');
    expectError(await postRenew(other.credential, signed(other, agent.clusterId)), 'CREDENTIAL_WRONG_CLUSTER');
    expectError(await postRenew(other.credential, signed({ ...other, privateKey: agent.privateKey })), 'RENEWAL_SIGNATURE_INVALID');
    expectError(await postRenew(forgedCredential(), signed(other)), 'CREDENTIAL_INVALID');
    expect(await api.prisma.agentCredential.count({ where: { clusterId: other.clusterId } })).toBe(1);
  });

  it('refuses a detached cluster: its credentials are revoked (CREDENTIAL_REVOKED)', async () => {
    const agent = await expiredAgent();
    await api.gqlOk(admin, 'mutation($id: ID!) { detachCluster(id: $id) { phase } }', { id: agent.clusterId });
    const fresh = await postRenew(agent.credential, signed(agent));
    // Still DETACHING: it may renew to hear DETACH and acknowledge.
    expect(fresh.status).toBe(200);
    const renewed = fresh.json.credential as string;
    expect((await report({ ...agent, credential: renewed }, [heartbeat(agent)])).directives).toEqual([{ type: 'DETACH' }]);
    expect((await postDetachAck(renewed, agent.clusterId)).status).toBe(200);

    expectError(await postRenew(agent.credential, signed(agent)), 'CREDENTIAL_REVOKED');
    expectError(await postRenew(renewed, signed({ ...agent, credential: renewed })), 'CREDENTIAL_REVOKED');
  });
});

describe('GET /agent/v1/desired-state and /agent/v1/bundles/{sha256}', () => {
  const getDesired = (credential: string | undefined, query = '') => call('GET', `${AgentPaths.desiredState}${query}`, AgentPaths.desiredState, { credential });
  const getBundle = (credential: string | undefined, sha256: string) => call('GET', AgentPaths.bundle(sha256), AgentPaths.bundleTemplate, { credential });
  let n = 0;

  /** A compiled constraint (bundle bytes of its own) assigned through GraphQL to the agent's cluster. */
  async function assignedTo(agent: Agent, options: { urgent?: boolean } = {}): Promise<{ sha256: string; wasm: Buffer; assignmentId: string; name: string }> {
    const { organizationId } = await clusterRow(agent.clusterId);
    const kind = `K8sE2eDesired${++n}${randomBytes(3).toString('hex')}`;
    const wasm = Buffer.concat([Buffer.from('\0asm'), randomBytes(64)]);
    const sha256 = createHash('sha256').update(wasm).digest('hex');
    await api.prisma.policyBundle.create({ data: { sha256, wasm, size: wasm.byteLength } });
    const template = await api.prisma.policyTemplate.create({ data: { organizationId, name: kind.toLowerCase(), kind, createdBy: 'test' } });
    const version = await api.prisma.policyTemplateVersion.create({
      data: {
        templateId: template.id,
        version: 1,
        kind,
        title: kind,
        rego: 'package x',
        sourceHash: kind,
        lifecycle: 'PUBLISHED',
        compileStatus: 'COMPILED',
        entrypoint: `${kind.toLowerCase()}/violation`,
        bundleSha256: sha256,
        createdBy: 'test',
      },
    });
    const constraint = await api.prisma.constraint.create({ data: { organizationId, name: kind.toLowerCase(), kind, templateVersionId: version.id, createdBy: 'test' } });
    const data = await api.gqlOk<{ assignPolicy: { id: string } }>(admin, 'mutation($input: AssignPolicyInput!) { assignPolicy(input: $input) { id } }', {
      input: { constraintId: constraint.id, scope: 'CLUSTER', scopeId: agent.clusterId, ...(options.urgent ? { urgent: true } : {}) },
    });
    return { sha256, wasm, assignmentId: data.assignPolicy.id, name: constraint.name };
  }

  describe("a site's maintenance windows", () => {
    // Real time, no timed assertion: a UTC window around now (open for hours either side) or half a day away (closed).
    const hhmm = (d: Date) => d.toISOString().slice(11, 16);
    const ALL_DAYS = ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY'];
    const openNow = () => [{ days: ALL_DAYS, start: hhmm(new Date(Date.now() - 3 * 3600_000)), durationMinutes: 6 * 60, timeZone: 'UTC' }];
    const closedNow = () => [{ days: ALL_DAYS, start: hhmm(new Date(Date.now() + 12 * 3600_000)), durationMinutes: 60, timeZone: 'UTC' }];
    const setWindows = (siteId: string, windows: object[]) =>
      api.gqlOk<{ updateSite: { maintenanceWindows: object[] } }>(
        admin,
        'mutation($id: ID!, $input: UpdateSiteInput!) { updateSite(id: $id, input: $input) { maintenanceWindows { days start durationMinutes timeZone } } }',
        { id: siteId, input: { maintenanceWindows: windows } },
      );
    const rolloutOf = (assignmentId: string) =>
      api.gqlOk<{ policyAssignmentRollout: { counts: { waitingForWindow: number }; edges: { node: { state: string; pendingUntil: string | null } }[] } }>(
        admin,
        'query($id: ID!) { policyAssignmentRollout(assignmentId: $id) { counts { waitingForWindow } edges { node { state pendingUntil } } } }',
        { id: assignmentId },
      );

    it('holds a non-urgent change back outside the windows (unchanged at the generation the agent runs), serves it inside one, and serves an urgent one at once', async () => {
      const windowed = await make.site().create();
      const closed = closedNow();
      expect((await setWindows(windowed.id, closed)).updateSite.maintenanceWindows).toEqual(closed);
      const agent = await registeredAgent({ site: windowed });
      await assignedTo(agent);
      // An agent that runs nothing gets the current state whatever the windows.
      const first = await getDesired(agent.credential);
      expect(first.status).toBe(200);
      const running = DesiredStateResponseSchema.parse(first.json).generation;
      const beat = heartbeat(agent) as Extract<ReportItem, { kind: 'heartbeat' }>;
      await report(agent, [{ ...beat, payload: { ...beat.payload, desiredStateGeneration: running } }]);

      const second = await assignedTo(agent);
      expect(second.assignmentId).toBeDefined();
      expect((await getDesired(agent.credential, `?generation=${running}`)).json).toEqual({ generation: running, unchanged: true });
      const waiting = await rolloutOf(second.assignmentId);
      expect(waiting.policyAssignmentRollout.counts.waitingForWindow).toBe(1);
      expect(waiting.policyAssignmentRollout.edges[0].node.state).toBe('WAITING_FOR_WINDOW');
      expect(Date.parse(waiting.policyAssignmentRollout.edges[0].node.pendingUntil!)).toBeGreaterThan(Date.now());

      await setWindows(windowed.id, openNow());
      const inside = await getDesired(agent.credential, `?generation=${running}`);
      expect(inside.json).toMatchObject({ generation: running + 1, unchanged: false, bundles: expect.arrayContaining([second.sha256]) });

      await setWindows(windowed.id, closed);
      const urgent = await assignedTo(agent, { urgent: true });
      const served = await getDesired(agent.credential, `?generation=${running}`);
      expect(served.json).toMatchObject({ generation: running + 2, unchanged: false, bundles: expect.arrayContaining([second.sha256, urgent.sha256]) });
    });

    it('refuses invalid windows with BAD_USER_INPUT and a stable reason, and changes nothing', async () => {
      const windowed = await make.site().create();
      const [closed] = closedNow();
      await setWindows(windowed.id, [closed]);
      for (const [window, reason] of [
        [{ ...closed, timeZone: 'Mars/Olympus_Mons' }, 'MAINTENANCE_WINDOW_TIME_ZONE_INVALID'],
        [{ ...closed, start: '25:00' }, 'MAINTENANCE_WINDOW_START_INVALID'],
        [{ ...closed, durationMinutes: 0 }, 'MAINTENANCE_WINDOW_DURATION_INVALID'],
        [{ ...closed, days: [] }, 'MAINTENANCE_WINDOW_DAYS_INVALID'],
      ] as const) {
        const res = await api.gql(admin, 'mutation($id: ID!, $input: UpdateSiteInput!) { updateSite(id: $id, input: $input) { id } }', {
          id: windowed.id,
          input: { maintenanceWindows: [window] },
        });
        expect(res.errors?.[0]?.extensions).toMatchObject({
          code: 'BAD_USER_INPUT',
          field: 'maintenanceWindows',
          reason,
          path: expect.stringMatching(/^maintenanceWindows\[0\]\./),
        });
      }
      expect((await api.prisma.site.findUniqueOrThrow({ where: { id: windowed.id } })).maintenanceWindows).toEqual([closed]);
    });
  });

  it('answers the full state for another generation and unchanged for the current one, and serves its bundles as immutable wasm', async () => {
    const agent = await registeredAgent();
    const k = await assignedTo(agent);
    const { desiredStateGeneration: generation } = await clusterRow(agent.clusterId);

    const full = await getDesired(agent.credential, '?generation=0');
    expect(full.status).toBe(200);
    expect(full.headers.get('cache-control')).toBe('no-store');
    expect(DesiredStateResponseSchema.parse(full.json)).toEqual(full.json);
    expect(full.json).toMatchObject({ generation, unchanged: false, bundles: [k.sha256], admission: { failurePolicy: 'Ignore', timeoutSeconds: 3 } });
    expect(full.json.constraints.map((c: { assignmentId: string; name: string; enforcementAction: string }) => [c.assignmentId, c.name, c.enforcementAction])).toEqual([
      [k.assignmentId, k.name, 'deny'],
    ]);
    expect((await getDesired(agent.credential)).json.unchanged).toBe(false);
    const same = await getDesired(agent.credential, `?generation=${generation}`);
    expect([same.status, same.json]).toEqual([200, { generation, unchanged: true }]);

    const bundle = await getBundle(agent.credential, k.sha256);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toBe('application/wasm');
    expect(bundle.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(bundle.headers.get('etag')).toBe(`"${k.sha256}"`);
    const bytes = Buffer.from(await (await fetch(`${api.url}${AgentPaths.bundle(k.sha256)}`, { headers: { authorization: `Bearer ${agent.credential}` } })).arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(k.sha256);
  });

  it("refuses another cluster's bundle, a bundle no state uses, a malformed sha256 or generation, and missing, forged and revoked credentials", async () => {
    const agent = await registeredAgent();
    const neighbour = await registeredAgent();
    const k = await assignedTo(agent);

    expectError(await getBundle(neighbour.credential, k.sha256), 'BUNDLE_NOT_FOUND');
    expect((await getDesired(neighbour.credential)).json).toMatchObject({ unchanged: false, bundles: [], constraints: [] });
    expectError(await getBundle(agent.credential, createHash('sha256').update('no such bundle').digest('hex')), 'BUNDLE_NOT_FOUND');
    expectError(await getBundle(agent.credential, k.sha256.toUpperCase()), 'PROTOCOL_INVALID_PARAMETER');
    expectError(await getBundle(agent.credential, 'not-a-sha'), 'PROTOCOL_INVALID_PARAMETER');
    for (const query of ['?generation=abc', '?generation=-1', '?generation=1.5', '?generation=99999999999', '?generation=1&generation=2']) {
      expectError(await getDesired(agent.credential, query), 'PROTOCOL_INVALID_PARAMETER');
    }
    expectError(await getDesired(undefined), 'CREDENTIAL_INVALID');
    expectError(await getDesired(forgedCredential()), 'CREDENTIAL_INVALID');
    expectError(await getBundle(forgedCredential(), k.sha256), 'CREDENTIAL_INVALID');

    // Detached: every credential of the cluster is revoked, for these routes as for the others.
    await api.gqlOk(admin, 'mutation($id: ID!) { detachCluster(id: $id) { phase } }', { id: agent.clusterId });
    expect((await report(agent, [heartbeat(agent)])).directives).toEqual([{ type: 'DETACH' }]);
    expect((await postDetachAck(agent.credential, agent.clusterId)).status).toBe(200);
    expectError(await getDesired(agent.credential, '?generation=0'), 'CREDENTIAL_REVOKED');
    expectError(await getBundle(agent.credential, k.sha256), 'CREDENTIAL_REVOKED');
  });

  it('stores the generation the agent acknowledges in its heartbeats, with the reason a newer one failed', async () => {
    const agent = await registeredAgent();
    expect((await clusterRow(agent.clusterId)).appliedDesiredStateGeneration).toBeNull();
    const failed = {
      ...heartbeat(agent),
      payload: { ...makeHeartbeatItem(1).payload, desiredStateGeneration: 3, desiredStateError: { code: 'BUNDLE_HASH_MISMATCH', message: 'bundle abc has SHA-256 def' } },
    };
    await report(agent, [failed as ReportItem]);
    expect(await clusterRow(agent.clusterId)).toMatchObject({
      appliedDesiredStateGeneration: 3,
      desiredStateError: { code: 'BUNDLE_HASH_MISMATCH', message: 'bundle abc has SHA-256 def' },
    });
    const ok = { ...heartbeat(agent), payload: { ...makeHeartbeatItem(1).payload, desiredStateGeneration: 4 } };
    await report(agent, [ok as ReportItem]);
    expect(await clusterRow(agent.clusterId)).toMatchObject({ appliedDesiredStateGeneration: 4, desiredStateError: null });
    // A heartbeat without the fields (admission off) leaves them as they are.
    await report(agent, [heartbeat(agent)]);
    expect((await clusterRow(agent.clusterId)).appliedDesiredStateGeneration).toBe(4);
    const bad = { ...heartbeat(agent), payload: { ...makeHeartbeatItem(1).payload, desiredStateError: { code: 'lower case', message: 'x' } } };
    expectError(await postReports(agent.credential, batch(agent, [bad as ReportItem])), 'PROTOCOL_INVALID_BODY');
  });
});

describe('the agent protocol document (docs/agent-protocol.openapi.json)', () => {
  const operations = Object.entries(OPENAPI.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ path, method })));
  const fastifyUrl = (template: string) => template.replace(/\{(\w+)\}/g, ':$1');

  it('documents the eight operations of protocol v1', () => {
    expect(operations.map((o) => `${o.method.toUpperCase()} ${o.path}`).sort()).toEqual(
      [
        `GET ${AgentPaths.bundleTemplate}`,
        `GET ${AgentPaths.desiredState}`,
        `GET ${AgentPaths.manifestsTemplate}`,
        `POST ${AgentPaths.renewCredential}`,
        `POST ${AgentPaths.rotateCredential}`,
        `POST ${AgentPaths.detachAck}`,
        `POST ${AgentPaths.register}`,
        `POST ${AgentPaths.reports}`,
      ].sort(),
    );
  });

  it.each(operations)('routes $method $path', ({ path, method }) => {
    const fastify = api.app.getHttpAdapter().getInstance();
    expect(fastify.hasRoute({ method: method.toUpperCase(), url: fastifyUrl(path) })).toBe(true);
  });

  it('serves no agent route or method the document does not describe', () => {
    const fastify = api.app.getHttpAdapter().getInstance();
    // One line per path, e.g. "├── /agent/v1/manifests/:token.yaml (GET, HEAD)"; HEAD comes with every GET.
    const served = fastify
      .printRoutes({ commonPrefix: false })
      .split('\n')
      .map((line) => /(\/agent\/v1\/\S*) \(([A-Z, ]+)\)/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map(
        (m) =>
          `${m[2]
            .split(', ')
            .filter((method) => method !== 'HEAD')
            .sort()
            .join(',')} ${m[1]}`,
      )
      .sort();
    const documented = operations.map((o) => `${o.method.toUpperCase()} ${fastifyUrl(o.path)}`).sort();
    expect(served).toEqual(documented);
  });

  // Runs last: compares every status this file received with the document's responses.
  it('answered only status codes the document lists for each operation', () => {
    if (observed.length < 50) {
      throw new Error(`Only ${observed.length} agent responses recorded: run the whole file, this test checks the responses of the tests before it.`);
    }
    const undocumented = observed.filter(({ template, method, status }) => !(String(status) in (OPENAPI.paths[template]?.[method]?.responses ?? {})));
    expect(undocumented).toEqual([]);
    const seen = new Set(observed.map((o) => `${o.method} ${o.template} ${o.status}`));
    for (const expected of [
      'get /agent/v1/manifests/{token}.yaml 200',
      'post /agent/v1/register 200',
      'post /agent/v1/credentials/rotate 200',
      'post /agent/v1/credentials/renew 200',
      'post /agent/v1/detach/ack 200',
      'post /agent/v1/reports 200',
      'post /agent/v1/reports 413',
      'get /agent/v1/desired-state 200',
      'get /agent/v1/desired-state 400',
      'get /agent/v1/bundles/{sha256} 200',
      'get /agent/v1/bundles/{sha256} 404',
    ]) {
      expect(seen).toContain(expected);
    }
  });
});
