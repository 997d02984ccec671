import { GenerationRepository } from '../desired-state/generation.repository';
import { Injectable } from '@nestjs/common';
import { assertIdFilters } from '../../common/validation/ids';
import { FarpointError } from '../../common/errors/farpoint-error';
import { Connection, SortDirection, toConnection, toPageRequest } from '../../common/graphql/pagination';
import { Principal } from '../../common/graphql/request-context';
import { parseLabelSelector } from '../../common/labels/label-selector';
import { assertName, assertText } from '../../common/validation/names';
import { Cluster } from '../../generated/prisma/client';
import { isUniqueViolation } from '../../infra/database/prisma-errors';
import { TransactionRunner, Tx } from '../../infra/database/transaction';
import { ClusterGroupRepository } from '../cluster-groups/cluster-group.repository';
import { EventObjectKind, EventType } from '../events/event-types';
import { EventRecorder } from '../events/event.recorder';
import { SiteRepository } from '../sites/site.repository';
import { ClusterSortField, ClustersArgs, CreateClusterInput, MoveClusterInput, UpdateClusterInput } from './cluster.model';
import { ClusterRepository } from './cluster.repository';
import { agentMayRun } from './cluster-phases';

const SORT_KEY: Record<ClusterSortField, keyof Cluster> = { NAME: 'name', CREATED_AT: 'createdAt', UPDATED_AT: 'updatedAt', NODE_COUNT: 'nodeCount' };

const sortedLabels = (labels: unknown): [string, unknown][] => Object.entries((labels ?? {}) as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));

@Injectable()
export class ClusterService {
  constructor(
    private readonly clusters: ClusterRepository,
    private readonly groups: ClusterGroupRepository,
    private readonly sites: SiteRepository,
    private readonly transactions: TransactionRunner,
    private readonly events: EventRecorder,
    private readonly generations: GenerationRepository,
  ) {}

  async list(principal: Principal, args: ClustersArgs): Promise<Connection<Cluster>> {
    const sort = args.orderBy?.field ?? ClusterSortField.NAME;
    const request = toPageRequest(args, sort);
    const f = args.filter ?? {};
    assertIdFilters({ siteId: f.siteId, groupId: f.groupId });
    const { rows, total } = await this.clusters.page(
      {
        organizationId: principal.organizationId,
        siteId: f.siteId,
        groupId: f.groupId,
        phases: f.phases,
        health: f.health,
        distribution: f.distribution,
        labels: parseLabelSelector(f.labelSelector ?? ''),
      },
      sort,
      args.orderBy?.direction ?? SortDirection.ASC,
      request,
    );
    return toConnection(rows, request, total, sort, (row) => row[SORT_KEY[sort]]);
  }

  async get(principal: Principal, id: string): Promise<Cluster> {
    const cluster = await this.clusters.find(principal.organizationId, id);
    if (!cluster) {
      throw FarpointError.notFound('Cluster', id);
    }
    return cluster;
  }

  create(principal: Principal, input: CreateClusterInput): Promise<Cluster> {
    return this.transactions.run((tx) => this.createInTransaction(tx, principal, { ...input, phase: 'PENDING' }));
  }

  /** Creates a cluster record inside a caller's transaction (used by attach). */
  async createInTransaction(
    tx: Tx,
    principal: Principal,
    input: CreateClusterInput & { phase: Cluster['phase']; attachMode?: Cluster['attachMode']; agentStateVolume?: object | null },
  ): Promise<Cluster> {
    assertName(input.name);
    assertText(input.description, 'description');
    await this.assertPlacement(tx, principal.organizationId, input.groupId, input.siteId);
    try {
      const cluster = await this.clusters.create(tx, {
        organizationId: principal.organizationId,
        name: input.name,
        description: input.description,
        groupId: input.groupId,
        siteId: input.siteId ?? null,
        distribution: input.distribution ?? 'OTHER',
        labels: input.labels ?? {},
        phase: input.phase,
        attachMode: input.attachMode ?? null,
        ...(input.agentStateVolume ? { agentStateVolume: input.agentStateVolume } : {}),
      });
      await this.events.recordChange(tx, principal, { kind: EventObjectKind.Cluster, id: cluster.id }, EventType.ClusterCreated, `Cluster ${cluster.name} created`);
      return cluster;
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw FarpointError.conflict(`A cluster named ${input.name} already exists in this organization.`, 'name');
      }
      throw error;
    }
  }

  async update(principal: Principal, id: string, input: UpdateClusterInput): Promise<Cluster> {
    const current = await this.get(principal, id);
    if (input.name !== undefined) {
      assertName(input.name);
    }
    assertText(input.description, 'description');
    return this.transactions.runOrConflict(
      async (tx) => {
        const cluster = await this.clusters.update(tx, id, { name: input.name, description: input.description, labels: input.labels });
        // Cluster label selectors of assignments may now select it or not.
        if (input.labels !== undefined && JSON.stringify(sortedLabels(input.labels)) !== JSON.stringify(sortedLabels(current.labels))) {
          await this.generations.bumpClusters(tx, principal.organizationId, [cluster.id]);
        }
        await this.events.recordChange(tx, principal, { kind: EventObjectKind.Cluster, id: cluster.id }, EventType.ClusterUpdated, `Cluster ${cluster.name} updated`, {
          changed: Object.keys(input),
        });
        return cluster;
      },
      `A cluster named ${input.name ?? current.name} already exists in this organization.`,
    );
  }

  async move(principal: Principal, id: string, input: MoveClusterInput): Promise<Cluster> {
    if (input.groupId === undefined && input.siteId === undefined) {
      throw FarpointError.badInput('Give a groupId, a siteId, or both to move the cluster to.', 'groupId');
    }
    const current = await this.get(principal, id);
    const groupId = input.groupId ?? current.groupId;
    const siteId = input.siteId !== undefined ? input.siteId : current.siteId;
    return this.transactions.run(async (tx) => {
      await this.assertPlacement(tx, principal.organizationId, groupId, siteId);
      const cluster = await this.clusters.update(tx, id, { groupId, siteId });
      // Site and group assignments, and the group's admission settings, follow the cluster.
      if (groupId !== current.groupId || siteId !== current.siteId) {
        await this.generations.bumpClusters(tx, principal.organizationId, [cluster.id]);
      }
      await this.events.recordChange(tx, principal, { kind: EventObjectKind.Cluster, id: cluster.id }, EventType.ClusterMoved, `Cluster ${cluster.name} moved`, {
        from: { groupId: current.groupId, siteId: current.siteId },
        to: { groupId, siteId },
      });
      return cluster;
    });
  }

  async delete(principal: Principal, id: string): Promise<Cluster> {
    return this.transactions.run(async (tx) => {
      // Decided under the row lock: an agent that registers meanwhile (PENDING → ATTACHED) must not be orphaned.
      const cluster = await this.clusters.lock(tx, principal.organizationId, id);
      if (!cluster) {
        throw FarpointError.notFound('Cluster', id);
      }
      if (agentMayRun(cluster)) {
        throw FarpointError.conflict(`Cluster ${cluster.name} is ${cluster.phase}; detach it before deleting it.`);
      }
      await this.clusters.delete(tx, id);
      await this.events.recordChange(tx, principal, { kind: EventObjectKind.Cluster, id: cluster.id }, EventType.ClusterDeleted, `Cluster ${cluster.name} deleted`);
      return cluster;
    });
  }

  /** In the caller's transaction: a base-client read here would hold two pooled connections at once. */
  private async assertPlacement(tx: Tx, organizationId: string, groupId: string, siteId: string | null | undefined): Promise<void> {
    const group = await this.groups.findIn(tx, organizationId, groupId);
    const site = siteId ? await this.sites.findIn(tx, organizationId, siteId) : null;
    if (!group) {
      throw FarpointError.notFound('ClusterGroup', groupId);
    }
    if (siteId && !site) {
      throw FarpointError.notFound('Site', siteId);
    }
  }
}
