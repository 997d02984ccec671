// Test data for service tests, written straight to Postgres (no Events, no validation), so a test sets
// up exactly the state it is about and then calls the service under test:
//
//   const data = new TestData(svc.prisma);
//   const org = await data.organization();                 // org.principal: an ADMIN caller (actor token:<org>-admin)
//   const site = await data.site(org, { heartbeatIntervalSeconds: 30 });
//   const cluster = await data.cluster(org).at(site).phase('READY').health('HEALTHY').create();   // a fresh group unless .in(group)
//   const agent = await data.cluster(org).registered().create();   // ATTACHED, kube-system UID and agent version set
//   const credential = await data.agentCredential(agent);
//   const events = await data.eventsOf(cluster.id);         // oldest first
//
// Bulk rows for one organization: org.seed is a DbSeed (test/support/factories.ts).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Principal } from '../../../src/common/graphql/request-context';
import type {
  AgentCredential,
  Cluster,
  ClusterGroup,
  ClusterOperation,
  Constraint,
  EnforcementAction,
  Event,
  PolicyTemplateVersion,
  Prisma,
  RegistrationToken,
  Site,
} from '../../../src/generated/prisma/client';
import type { ClusterHealth, ClusterPhase } from '../../../src/generated/prisma/enums';
import type { PrismaService } from '../../../src/infra/database/prisma.service';
import { DbSeed } from '../../support/factories';

export interface TestOrganization {
  id: string;
  name: string;
  /** An ADMIN principal of the organization, as the auth guard would hand it to a resolver. */
  principal: Principal;
  /** The actor its Events name: token:<tokenName>. */
  actor: string;
  seed: DbSeed;
}

type Ref = { id: string };
const hash = () => randomBytes(32).toString('hex');

export class TestData {
  private counter = 0;

  constructor(readonly prisma: PrismaService) {}

  private next(kind: string): string {
    return `${kind}-${++this.counter}`;
  }

  async organization(name = this.next('org')): Promise<TestOrganization> {
    const org = await this.prisma.organization.create({ data: { name, displayName: name } });
    const tokenName = `${name}-admin`;
    return {
      id: org.id,
      name,
      principal: { tokenId: randomUUID(), tokenName, organizationId: org.id, role: 'ADMIN' },
      actor: `token:${tokenName}`,
      seed: new DbSeed(this.prisma, org.id, name),
    };
  }

  async group(org: Ref, fields: Partial<Prisma.ClusterGroupUncheckedCreateInput> = {}): Promise<ClusterGroup> {
    return this.prisma.clusterGroup.create({ data: { organizationId: org.id, name: this.next('group'), ...fields } });
  }

  async site(org: Ref, fields: Partial<Prisma.SiteUncheckedCreateInput> = {}): Promise<Site> {
    return this.prisma.site.create({ data: { organizationId: org.id, name: this.next('site'), tier: 'FAR_EDGE', region: 'eu-central', ...fields } });
  }

  cluster(org: Ref): ClusterBuilder {
    return new ClusterBuilder(this, org, this.next('cluster'));
  }

  /** A valid (unused, unexpired) agent credential of the cluster; the secret is not kept, services take the row. */
  async agentCredential(cluster: Pick<Cluster, 'id' | 'organizationId'>, fields: Partial<Prisma.AgentCredentialUncheckedCreateInput> = {}): Promise<AgentCredential> {
    return this.prisma.agentCredential.create({
      data: { organizationId: cluster.organizationId, clusterId: cluster.id, secretHash: hash(), expiresAt: new Date(Date.now() + 24 * 3600_000), ...fields },
    });
  }

  /** An unused registration token of the cluster, valid for a day. */
  async registrationToken(cluster: Pick<Cluster, 'id' | 'organizationId'>, fields: Partial<Prisma.RegistrationTokenUncheckedCreateInput> = {}): Promise<RegistrationToken> {
    return this.prisma.registrationToken.create({
      data: {
        organizationId: cluster.organizationId,
        clusterId: cluster.id,
        secretHash: hash(),
        createdBy: 'token:test',
        expiresAt: new Date(Date.now() + 24 * 3600_000),
        ...fields,
      },
    });
  }

  async operation(
    cluster: Pick<Cluster, 'id' | 'organizationId'>,
    fields: Pick<Prisma.ClusterOperationUncheckedCreateInput, 'kind'> & Partial<Prisma.ClusterOperationUncheckedCreateInput>,
  ): Promise<ClusterOperation> {
    return this.prisma.clusterOperation.create({ data: { organizationId: cluster.organizationId, clusterId: cluster.id, createdBy: 'token:test', ...fields } });
  }

  /** The cluster row as stored now (throws when it is gone). */
  reload(cluster: Ref): Promise<Cluster> {
    return this.prisma.cluster.findUniqueOrThrow({ where: { id: cluster.id } });
  }

  /** Events about one object, oldest first (one transaction's Events may share a millisecond: compare types as sets there). */
  /** A compiled, published template version with a (fake) bundle of its own, and a constraint on it. */
  async compiledConstraint(
    org: Ref,
    action: EnforcementAction = 'DENY',
    fields: { match?: object; parameters?: object; syncKinds?: object[] } = {},
  ): Promise<{ constraint: Constraint; version: PolicyTemplateVersion; sha256: string; wasm: Buffer }> {
    const kind = `K8sDesired${String(++this.counter).padStart(6, '0')}`;
    const wasm = Buffer.from(`\0asm fake bundle ${kind}`);
    const sha256 = createHash('sha256').update(wasm).digest('hex');
    await this.prisma.policyBundle.create({ data: { sha256, wasm, size: wasm.byteLength } });
    const template = await this.prisma.policyTemplate.create({ data: { organizationId: org.id, name: kind.toLowerCase(), kind, createdBy: 'test' } });
    const version = await this.prisma.policyTemplateVersion.create({
      data: {
        templateId: template.id,
        version: 1,
        kind,
        title: kind,
        rego: 'package x',
        sourceHash: `h-${kind}`,
        lifecycle: 'PUBLISHED',
        compileStatus: 'COMPILED',
        entrypoint: `${kind.toLowerCase()}/violation`,
        bundleSha256: sha256,
        parametersSchema: { type: 'object', properties: { tags: { type: 'array', items: { type: 'string' } } } },
        syncKinds: fields.syncKinds ?? [],
        createdBy: 'test',
      },
    });
    const constraint = await this.prisma.constraint.create({
      data: {
        organizationId: org.id,
        name: this.next('c'),
        kind,
        templateVersionId: version.id,
        enforcementAction: action,
        match: fields.match ?? {},
        parameters: fields.parameters ?? {},
        createdBy: 'test',
      },
    });
    return { constraint, version, sha256, wasm };
  }

  eventsOf(objectId: string): Promise<Event[]> {
    return this.prisma.event.findMany({ where: { objectId }, orderBy: [{ occurredAt: 'asc' }, { id: 'asc' }] });
  }
}

export class ClusterBuilder {
  private fields: Partial<Prisma.ClusterUncheckedCreateInput> = {};

  constructor(
    private readonly data: TestData,
    private readonly org: Ref,
    private readonly name: string,
  ) {}

  in(group: Ref): this {
    this.fields.groupId = group.id;
    return this;
  }
  at(site: Ref | null): this {
    this.fields.siteId = site?.id ?? null;
    return this;
  }
  phase(phase: ClusterPhase): this {
    this.fields.phase = phase;
    return this;
  }
  health(health: ClusterHealth): this {
    this.fields.health = health;
    return this;
  }
  /** What registration leaves: ATTACHED/UNKNOWN with the kube-system UID and agent version (0.1.0). */
  registered(): this {
    return this.with({ phase: 'ATTACHED', health: 'UNKNOWN', kubeSystemUid: randomUUID(), agentVersion: '0.1.0', attachMode: 'LINK' });
  }
  /** Any other column. */
  with(fields: Partial<Prisma.ClusterUncheckedCreateInput>): this {
    Object.assign(this.fields, fields);
    return this;
  }

  async create(): Promise<Cluster> {
    const groupId = this.fields.groupId ?? (await this.data.group(this.org)).id;
    return this.data.prisma.cluster.create({ data: { organizationId: this.org.id, name: this.name, ...this.fields, groupId } });
  }
}
