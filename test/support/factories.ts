// Test data, two ways:
//
//   Through the API (what users do; records Events, runs validation):
//     const make = new ApiFactory(api, token);
//     const site = await make.site().named('berlin-01').labels({ tier: 'edge' }).create();
//     const group = await make.group().create();
//     const cluster = await make.cluster().in(group).at(site).distribution('K3S').create();
//     const ws = await make.workspace().create();
//     const ns = await make.namespace().on(cluster).in(ws).create();
//
//   Straight into Postgres, for bulk setup (no Events, no validation; createManyAndReturn):
//     const seed = new DbSeed(api.prisma, organizationId);
//     const sites = await seed.sites(3);
//     const clusters = await seed.clusters(100, (i) => ({ groupId: groups[i % 2].id, siteId: sites[i % 3].id }));
//
// Names default to `<kind>-<n>` with a counter per factory, so they are unique within an organization.
import type { Prisma } from '../../src/generated/prisma/client';
import type { PrismaService } from '../../src/infra/database/prisma.service';
import type { TestApi } from './api';

type Labels = Record<string, string>;
type Ref = string | { id: string };
const idOf = (ref: Ref): string => (typeof ref === 'string' ? ref : ref.id);

export interface SiteRecord {
  id: string;
  name: string;
  tier: string;
  region: string;
  labels: Labels;
  latitude: number | null;
  longitude: number | null;
  connectivity: { mode: string; heartbeatIntervalSeconds: number; disconnectGraceSeconds: number };
}
export interface GroupRecord {
  id: string;
  name: string;
  description: string | null;
  labels: Labels;
}
export interface ClusterRecord {
  id: string;
  name: string;
  labels: Labels;
  distribution: string;
  phase: string;
  health: string;
  group: { id: string };
  site: { id: string } | null;
}
export interface WorkspaceRecord {
  id: string;
  name: string;
  description: string | null;
  labels: Labels;
}
export interface NamespaceRecord {
  id: string;
  name: string;
  labels: Labels;
  cluster: { id: string };
  workspace: { id: string };
}

export const SITE_FIELDS = 'id name tier region labels latitude longitude connectivity { mode heartbeatIntervalSeconds disconnectGraceSeconds }';
export const GROUP_FIELDS = 'id name description labels';
export const CLUSTER_FIELDS = 'id name labels distribution phase health group { id } site { id }';
export const WORKSPACE_FIELDS = 'id name description labels';
export const NAMESPACE_FIELDS = 'id name labels cluster { id } workspace { id }';

/** Fluent builders that create objects through GraphQL mutations with the given token. */
export class ApiFactory {
  private counter = 0;

  constructor(
    readonly api: TestApi,
    readonly token: string,
    /** Prefix of generated names, e.g. 'a' for organization A's objects. */
    readonly prefix = '',
  ) {}

  nextName(kind: string): string {
    return `${this.prefix ? `${this.prefix}-` : ''}${kind}-${++this.counter}`;
  }

  site(): SiteBuilder {
    return new SiteBuilder(this);
  }
  group(): GroupBuilder {
    return new GroupBuilder(this);
  }
  cluster(): ClusterBuilder {
    return new ClusterBuilder(this);
  }
  workspace(): WorkspaceBuilder {
    return new WorkspaceBuilder(this);
  }
  namespace(): NamespaceBuilder {
    return new NamespaceBuilder(this);
  }

  async mutate<T>(mutation: string, inputType: string, fields: string, input: Record<string, unknown>): Promise<T> {
    const data = await this.api.gqlOk<Record<string, T>>(this.token, `mutation($input: ${inputType}!) { ${mutation}(input: $input) { ${fields} } }`, { input });
    return data[mutation];
  }
}

abstract class Builder<R> {
  protected input: Record<string, unknown> = {};
  constructor(protected readonly make: ApiFactory) {}

  named(name: string): this {
    this.input.name = name;
    return this;
  }
  labels(labels: Labels): this {
    this.input.labels = labels;
    return this;
  }
  /** Any other input field, as the GraphQL input type names it. */
  with(fields: Record<string, unknown>): this {
    Object.assign(this.input, fields);
    return this;
  }
  abstract create(): Promise<R>;
}

export class SiteBuilder extends Builder<SiteRecord> {
  tier(tier: 'FAR_EDGE' | 'NEAR_EDGE' | 'CORE'): this {
    return this.with({ tier });
  }
  region(region: string): this {
    return this.with({ region });
  }
  located(latitude: number, longitude: number): this {
    return this.with({ latitude, longitude });
  }
  connectivity(mode: 'ALWAYS_ON' | 'INTERMITTENT' | 'SCHEDULED', heartbeatIntervalSeconds?: number, disconnectGraceSeconds?: number): this {
    return this.with({ connectivity: { mode, heartbeatIntervalSeconds, disconnectGraceSeconds } });
  }
  create(): Promise<SiteRecord> {
    return this.make.mutate('createSite', 'CreateSiteInput', SITE_FIELDS, { name: this.make.nextName('site'), tier: 'FAR_EDGE', region: 'eu-central', ...this.input });
  }
}

export class GroupBuilder extends Builder<GroupRecord> {
  create(): Promise<GroupRecord> {
    return this.make.mutate('createClusterGroup', 'CreateClusterGroupInput', GROUP_FIELDS, { name: this.make.nextName('group'), ...this.input });
  }
}

export class ClusterBuilder extends Builder<ClusterRecord> {
  in(group: Ref): this {
    return this.with({ groupId: idOf(group) });
  }
  at(site: Ref | null): this {
    return this.with({ siteId: site === null ? null : idOf(site) });
  }
  distribution(distribution: 'TKG' | 'K3S' | 'OTHER'): this {
    return this.with({ distribution });
  }
  /** Creates the cluster; without .in(group) a fresh group is created for it. */
  async create(): Promise<ClusterRecord> {
    const groupId = this.input.groupId ?? (await this.make.group().create()).id;
    return this.make.mutate('createCluster', 'CreateClusterInput', CLUSTER_FIELDS, { name: this.make.nextName('cluster'), ...this.input, groupId });
  }
}

export class WorkspaceBuilder extends Builder<WorkspaceRecord> {
  create(): Promise<WorkspaceRecord> {
    return this.make.mutate('createWorkspace', 'CreateWorkspaceInput', WORKSPACE_FIELDS, { name: this.make.nextName('workspace'), ...this.input });
  }
}

export class NamespaceBuilder extends Builder<NamespaceRecord> {
  on(cluster: Ref): this {
    return this.with({ clusterId: idOf(cluster) });
  }
  in(workspace: Ref): this {
    return this.with({ workspaceId: idOf(workspace) });
  }
  /** Creates the namespace; a missing cluster or workspace is created for it. */
  async create(): Promise<NamespaceRecord> {
    const clusterId = this.input.clusterId ?? (await this.make.cluster().create()).id;
    const workspaceId = this.input.workspaceId ?? (await this.make.workspace().create()).id;
    return this.make.mutate('createNamespace', 'CreateNamespaceInput', NAMESPACE_FIELDS, { name: this.make.nextName('ns'), ...this.input, clusterId, workspaceId });
  }
}

type Without<T> = Omit<T, 'organizationId'>;

/** Bulk rows straight through Prisma, scoped to one organization. `each(i)` customises row i. */
export class DbSeed {
  private counter = 0;

  constructor(
    readonly prisma: PrismaService,
    readonly organizationId: string,
    readonly prefix = '',
  ) {}

  private name(kind: string, i: number): string {
    return `${this.prefix ? `${this.prefix}-` : ''}${kind}-${String(++this.counter).padStart(3, '0')}-${i}`;
  }

  sites(count: number, each: (i: number) => Partial<Without<Prisma.SiteCreateManyInput>> = () => ({})) {
    return this.prisma.site.createManyAndReturn({
      data: Array.from({ length: count }, (_, i) => ({
        organizationId: this.organizationId,
        name: this.name('site', i),
        tier: 'FAR_EDGE' as const,
        region: 'eu-central',
        ...each(i),
      })),
    });
  }

  groups(count: number, each: (i: number) => Partial<Without<Prisma.ClusterGroupCreateManyInput>> = () => ({})) {
    return this.prisma.clusterGroup.createManyAndReturn({
      data: Array.from({ length: count }, (_, i) => ({ organizationId: this.organizationId, name: this.name('group', i), ...each(i) })),
    });
  }

  workspaces(count: number, each: (i: number) => Partial<Without<Prisma.WorkspaceCreateManyInput>> = () => ({})) {
    return this.prisma.workspace.createManyAndReturn({
      data: Array.from({ length: count }, (_, i) => ({ organizationId: this.organizationId, name: this.name('workspace', i), ...each(i) })),
    });
  }

  /** `each(i)` must give at least the groupId. */
  clusters(count: number, each: (i: number) => Partial<Without<Prisma.ClusterCreateManyInput>> & { groupId: string }) {
    return this.prisma.cluster.createManyAndReturn({
      data: Array.from({ length: count }, (_, i) => ({ organizationId: this.organizationId, name: this.name('cluster', i), ...each(i) })),
    });
  }

  /** `each(i)` must give the clusterId and workspaceId. */
  namespaces(count: number, each: (i: number) => Partial<Without<Prisma.NamespaceCreateManyInput>> & { clusterId: string; workspaceId: string }) {
    return this.prisma.namespace.createManyAndReturn({
      data: Array.from({ length: count }, (_, i) => ({ organizationId: this.organizationId, name: this.name('ns', i), ...each(i) })),
    });
  }
}
