import { GenerationRepository } from '../desired-state/generation.repository';
import { Injectable } from '@nestjs/common';
import { assertIdFilters } from '../../common/validation/ids';
import { FarpointError } from '../../common/errors/farpoint-error';
import { Connection, toConnection, toPageRequest } from '../../common/graphql/pagination';
import { Principal } from '../../common/graphql/request-context';
import { parseLabelSelector } from '../../common/labels/label-selector';
import { assertName } from '../../common/validation/names';
import { Namespace } from '../../generated/prisma/client';
import { TransactionRunner } from '../../infra/database/transaction';
import { ClusterRepository } from '../clusters/cluster.repository';
import { EventObjectKind, EventType } from '../events/event-types';
import { EventRecorder } from '../events/event.recorder';
import { WorkspaceRepository } from '../workspaces/workspace.repository';
import { CreateNamespaceInput, NamespacesArgs, UpdateNamespaceInput } from './namespace.model';
import { NamespaceRepository } from './namespace.repository';

@Injectable()
export class NamespaceService {
  constructor(
    private readonly namespaces: NamespaceRepository,
    private readonly clusters: ClusterRepository,
    private readonly workspaces: WorkspaceRepository,
    private readonly transactions: TransactionRunner,
    private readonly events: EventRecorder,
    private readonly generations: GenerationRepository,
  ) {}

  async list(principal: Principal, args: NamespacesArgs): Promise<Connection<Namespace>> {
    assertIdFilters({ clusterId: args.clusterId, workspaceId: args.workspaceId });
    const request = toPageRequest(args, 'NAME');
    const { rows, total } = await this.namespaces.page(
      { organizationId: principal.organizationId, clusterId: args.clusterId, workspaceId: args.workspaceId, labels: parseLabelSelector(args.labelSelector ?? '') },
      request,
    );
    return toConnection(rows, request, total, 'NAME', (n) => n.name);
  }

  async get(principal: Principal, id: string): Promise<Namespace> {
    const namespace = await this.namespaces.find(principal.organizationId, id);
    if (!namespace) {
      throw FarpointError.notFound('Namespace', id);
    }
    return namespace;
  }

  async create(principal: Principal, input: CreateNamespaceInput): Promise<Namespace> {
    assertName(input.name);
    const [cluster, workspace] = await Promise.all([
      this.clusters.find(principal.organizationId, input.clusterId),
      this.workspaces.find(principal.organizationId, input.workspaceId),
    ]);
    if (!cluster) {
      throw FarpointError.notFound('Cluster', input.clusterId);
    }
    if (!workspace) {
      throw FarpointError.notFound('Workspace', input.workspaceId);
    }
    return this.transactions.runOrConflict(async (tx) => {
      const namespace = await this.namespaces.create(tx, {
        organizationId: principal.organizationId,
        clusterId: cluster.id,
        workspaceId: workspace.id,
        name: input.name,
        labels: input.labels ?? {},
      });
      // A workspace assignment now covers this namespace too.
      await this.generations.bumpForWorkspaces(tx, principal.organizationId, cluster.id, [workspace.id]);
      await this.events.recordChange(
        tx,
        principal,
        { kind: EventObjectKind.Namespace, id: namespace.id },
        EventType.NamespaceCreated,
        `Namespace ${namespace.name} created on cluster ${cluster.name} in workspace ${workspace.name}`,
      );
      return namespace;
    }, `Cluster ${cluster.name} already has a namespace named ${input.name}.`);
  }

  async update(principal: Principal, id: string, input: UpdateNamespaceInput): Promise<Namespace> {
    const current = await this.get(principal, id);
    if (input.workspaceId && !(await this.workspaces.find(principal.organizationId, input.workspaceId))) {
      throw FarpointError.notFound('Workspace', input.workspaceId);
    }
    return this.transactions.run(async (tx) => {
      const namespace = await this.namespaces.update(tx, id, { labels: input.labels, workspaceId: input.workspaceId });
      const moved = input.workspaceId && input.workspaceId !== current.workspaceId;
      if (moved) {
        // It leaves what the old workspace's assignments cover and joins the new one's.
        await this.generations.bumpForWorkspaces(tx, principal.organizationId, namespace.clusterId, [current.workspaceId, namespace.workspaceId]);
      }
      await this.events.recordChange(
        tx,
        principal,
        { kind: EventObjectKind.Namespace, id: namespace.id },
        moved ? EventType.NamespaceMoved : EventType.NamespaceUpdated,
        `Namespace ${namespace.name} ${moved ? 'moved to another workspace' : 'updated'}`,
        moved ? { from: current.workspaceId, to: input.workspaceId } : undefined,
      );
      return namespace;
    });
  }

  async delete(principal: Principal, id: string): Promise<Namespace> {
    const namespace = await this.get(principal, id);
    return this.transactions.run(async (tx) => {
      await this.generations.bumpForWorkspaces(tx, principal.organizationId, namespace.clusterId, [namespace.workspaceId]);
      await this.namespaces.delete(tx, id);
      await this.events.recordChange(tx, principal, { kind: EventObjectKind.Namespace, id: namespace.id }, EventType.NamespaceDeleted, `Namespace ${namespace.name} deleted`);
      return namespace;
    });
  }
}
