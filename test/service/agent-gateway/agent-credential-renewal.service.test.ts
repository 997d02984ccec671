// Renewal of an expired agent credential (AgentCredentialRenewalService behind the guard's
// authenticateExpired) on the real Postgres, signed with real Ed25519 keys as the agent signs
// (src/agent/identity/renewal-key.ts): the successor works like a rotated credential, and every
// refusal leaves nothing issued — replay, stale signature, another cluster's key or credential, a
// revoked or detached cluster, a credential that has not expired, an agent that enrolled no key.
import { newSecret } from '../../../src/common/crypto/secrets';
import type { AgentCredential, Cluster } from '../../../src/generated/prisma/client';
import { PubSubGateway } from '../../../src/infra/redis/pubsub.gateway';
import { newRenewalPrivateKey, renewalPublicKeyOf, signedRenewal } from '../../../src/agent/identity/renewal-key';
import { AgentClusterRepository } from '../../../src/modules/agent-gateway/agent-cluster.repository';
import { AgentCredentialRenewalService } from '../../../src/modules/agent-gateway/agent-credential-renewal.service';
import { AgentCredentialRepository } from '../../../src/modules/agent-gateway/agent-credential.repository';
import { AgentCredentialService } from '../../../src/modules/agent-gateway/agent-credential.service';
import { type AgentProtocolError, type RenewCredentialRequest } from '../../../src/protocol';
import { TestData, type TestOrganization } from '../support/factories';
import { RecordingPubSub } from '../support/fakes';
import { createServiceModule, type ServiceModule } from '../support/service-module';
import { randomBytes } from 'node:crypto';

let svc: ServiceModule;
let renewal: AgentCredentialRenewalService;
let credentials: AgentCredentialService;
let data: TestData;
let org: TestOrganization;

beforeAll(async () => {
  svc = await createServiceModule({
    providers: [AgentCredentialRenewalService, AgentCredentialService, AgentCredentialRepository, AgentClusterRepository],
    fakes: [{ provide: PubSubGateway, useValue: new RecordingPubSub() }],
  });
  renewal = svc.get(AgentCredentialRenewalService);
  credentials = svc.get(AgentCredentialService);
  data = new TestData(svc.prisma);
  org = await data.organization();
}, 30_000);

afterAll(async () => {
  await svc?.close();
});

interface Enrolled {
  cluster: Cluster;
  privateKey: string;
  /** The bearer secret of the expired credential and its row. */
  secret: string;
  credential: AgentCredential;
}

/** A READY cluster whose agent enrolled a renewal key at registration and whose credential expired an hour ago. */
async function enrolledCluster(options: { enrolled?: boolean; expired?: boolean } = {}): Promise<Enrolled> {
  const privateKey = newRenewalPrivateKey();
  const cluster = await data
    .cluster(org)
    .registered()
    .phase('READY')
    .with({ agentRenewalPublicKey: options.enrolled === false ? null : renewalPublicKeyOf(privateKey) })
    .create();
  const { secret, hash } = newSecret('fpc_');
  const expiresAt = new Date(Date.now() + (options.expired === false ? 3600_000 : -3600_000));
  const credential = await data.agentCredential(cluster, { secretHash: hash, expiresAt, firstUsedAt: new Date(Date.now() - 7200_000) });
  return { cluster, privateKey, secret, credential };
}

const nonce = () => randomBytes(16).toString('base64url');
const sign = (e: Enrolled, fields: { clusterId?: string; signedAt?: Date; privateKey?: string; secret?: string; nonce?: string } = {}): RenewCredentialRequest =>
  signedRenewal(
    fields.privateKey ?? e.privateKey,
    fields.clusterId ?? e.cluster.id,
    fields.secret ?? e.secret,
    fields.nonce ?? nonce(),
    (fields.signedAt ?? new Date()).toISOString(),
  );

/** What the controller does: the guard's authentication of the expired bearer, then the service. */
async function renew(bearer: string, body: unknown, now = new Date()) {
  const credential = await credentials.authenticateExpired(`Bearer ${bearer}`, now);
  return renewal.renew(credential, body, now);
}

const codeOf = async (promise: Promise<unknown>) => ((await promise.catch((e: unknown) => e)) as AgentProtocolError).code;
const credentialsOf = (cluster: { id: string }) => svc.prisma.agentCredential.findMany({ where: { clusterId: cluster.id }, orderBy: { createdAt: 'asc' } });

describe(AgentCredentialRenewalService.name, () => {
  it('issues one successor of the expired credential, which authenticates; its first use revokes the expired one, which then renews no more', async () => {
    const e = await enrolledCluster();
    const now = new Date();

    const answer = await renew(e.secret, sign(e), now);

    const successor = await credentials.authenticate(`Bearer ${answer.credential}`, now);
    expect(successor).toMatchObject({ clusterId: e.cluster.id, previousId: e.credential.id, revokedAt: null });
    expect(successor.expiresAt.toISOString()).toBe(answer.credentialExpiresAt);
    expect((await data.eventsOf(e.cluster.id)).find((ev) => ev.type === 'AgentCredentialRenewed')).toMatchObject({
      actor: `agent:${e.cluster.name}`,
      data: { credentialId: successor.id, previousId: e.credential.id, abandonedSuccessorsRevoked: 0 },
    });

    await svc.prisma.$transaction((tx) => credentials.recordUse(tx, successor, e.cluster, new Date()));

    expect(await codeOf(renew(e.secret, sign(e)))).toBe('CREDENTIAL_REVOKED');
    expect(await credentialsOf(e.cluster)).toHaveLength(2);
  });

  it('answers a renewal whose answer was lost again with a fresh nonce, revoking the successor that was never used', async () => {
    const e = await enrolledCluster();
    const lost = await renew(e.secret, sign(e));

    const second = await renew(e.secret, sign(e));

    expect(await codeOf(credentials.authenticate(`Bearer ${lost.credential}`))).toBe('CREDENTIAL_REVOKED');
    expect(await credentials.authenticate(`Bearer ${second.credential}`)).toMatchObject({ previousId: e.credential.id });
  });

  it('refuses a replayed renewal (the same nonce) with RENEWAL_REPLAYED and issues nothing more', async () => {
    const e = await enrolledCluster();
    const body = sign(e);
    await renew(e.secret, body);
    const before = await credentialsOf(e.cluster);

    expect(await codeOf(renew(e.secret, body))).toBe('RENEWAL_REPLAYED');
    expect(await credentialsOf(e.cluster)).toEqual(before);
  });

  it('refuses a renewal signed too long ago (RENEWAL_REPLAYED) and issues nothing', async () => {
    const e = await enrolledCluster();
    expect(await codeOf(renew(e.secret, sign(e, { signedAt: new Date(Date.now() - 3600_000) })))).toBe('RENEWAL_REPLAYED');
    expect(await credentialsOf(e.cluster)).toHaveLength(1);
  });

  it("refuses another cluster's key (RENEWAL_SIGNATURE_INVALID), records a SECURITY event and issues nothing", async () => {
    const e = await enrolledCluster();
    const other = await enrolledCluster();

    expect(await codeOf(renew(e.secret, sign(e, { privateKey: other.privateKey })))).toBe('RENEWAL_SIGNATURE_INVALID');

    expect(await credentialsOf(e.cluster)).toHaveLength(1);
    expect((await data.eventsOf(e.cluster.id)).find((ev) => ev.type === 'AgentCredentialRenewalRefused')).toMatchObject({
      severity: 'SECURITY',
      data: { credentialId: e.credential.id },
    });
  });

  it("refuses another cluster's signed renewal presented with this cluster's credential (the signature binds the credential): RENEWAL_SIGNATURE_INVALID", async () => {
    const e = await enrolledCluster();
    const other = await enrolledCluster();
    // Material the other agent signed for its own credential, replayed with ours.
    const foreign = sign(other, { clusterId: e.cluster.id });
    expect(await codeOf(renew(e.secret, foreign))).toBe('RENEWAL_SIGNATURE_INVALID');
    expect(await credentialsOf(e.cluster)).toHaveLength(1);
  });

  it("refuses a body naming another cluster than the credential's (CREDENTIAL_WRONG_CLUSTER)", async () => {
    const e = await enrolledCluster();
    const other = await enrolledCluster();
    expect(await codeOf(renew(e.secret, sign(other, { secret: e.secret })))).toBe('CREDENTIAL_WRONG_CLUSTER');
    expect([await credentialsOf(e.cluster), await credentialsOf(other.cluster)].map((c) => c.length)).toEqual([1, 1]);
  });

  it('refuses a tampered request (the signature no longer matches its fields): RENEWAL_SIGNATURE_INVALID', async () => {
    const e = await enrolledCluster();
    const body = { ...sign(e), nonce: nonce() };
    expect(await codeOf(renew(e.secret, body))).toBe('RENEWAL_SIGNATURE_INVALID');
  });

  it('refuses a revoked credential (CREDENTIAL_REVOKED)', async () => {
    const e = await enrolledCluster();
    await svc.prisma.agentCredential.update({ where: { id: e.credential.id }, data: { revokedAt: new Date() } });
    expect(await codeOf(renew(e.secret, sign(e)))).toBe('CREDENTIAL_REVOKED');
    expect(await credentialsOf(e.cluster)).toHaveLength(1);
  });

  it('refuses a DETACHED cluster, also with a credential row read before the detach revoked it (CREDENTIAL_REVOKED)', async () => {
    const e = await enrolledCluster();
    const credential = await credentials.authenticateExpired(`Bearer ${e.secret}`);
    await svc.prisma.cluster.update({ where: { id: e.cluster.id }, data: { phase: 'DETACHED' } });
    expect(await codeOf(renewal.renew(credential, sign(e)))).toBe('CREDENTIAL_REVOKED');
    expect(await credentialsOf(e.cluster)).toHaveLength(1);
  });

  it('refuses a credential that has not expired (CREDENTIAL_NOT_EXPIRED: rotate instead)', async () => {
    const e = await enrolledCluster({ expired: false });
    expect(await codeOf(renew(e.secret, sign(e)))).toBe('CREDENTIAL_NOT_EXPIRED');
    expect(await credentialsOf(e.cluster)).toHaveLength(1);
  });

  it('refuses a cluster whose agent enrolled no renewal key (RENEWAL_NOT_ENROLLED)', async () => {
    const e = await enrolledCluster({ enrolled: false });
    expect(await codeOf(renew(e.secret, sign(e)))).toBe('RENEWAL_NOT_ENROLLED');
  });

  it('refuses an unknown bearer (CREDENTIAL_INVALID) and a malformed body (PROTOCOL_INVALID_BODY)', async () => {
    const e = await enrolledCluster();
    expect(await codeOf(renew(newSecret('fpc_').secret, sign(e)))).toBe('CREDENTIAL_INVALID');
    expect(await codeOf(renew(e.secret, { ...sign(e), signature: 'short' }))).toBe('PROTOCOL_INVALID_BODY');
  });
});
