import { Injectable } from '@nestjs/common';
import { FarpointError } from '../../common/errors/farpoint-error';
import { Connection, toConnection, toPageRequest } from '../../common/graphql/pagination';
import { Principal } from '../../common/graphql/request-context';
import { parseLabelSelector } from '../../common/labels/label-selector';
import { assertName, assertText } from '../../common/validation/names';
import { Workspace } from '../../generated/prisma/client';
import { TransactionRunner } from '../../infra/database/transaction';
import { EventObjectKind, EventType } from '../events/event-types';
import { EventRecorder } from '../events/event.recorder';
import { WorkspacesArgs, CreateWorkspaceInput, UpdateWorkspaceInput } from './workspace.model';
import { WorkspaceRepository } from './workspace.repository';

@Injectable()
export class WorkspaceService {
  constructor(
    private readonly workspaces: WorkspaceRepository,
    private readonly transactions: TransactionRunner,
    private readonly events: EventRecorder,
  ) {}

  async list(principal: Principal, args: WorkspacesArgs): Promise<Connection<Workspace>> {
    const request = toPageRequest(args, 'NAME');
    const { rows, total } = await this.workspaces.page(principal.organizationId, parseLabelSelector(args.labelSelector ?? ''), request);
    return toConnection(rows, request, total, 'NAME', (g) => g.name);
  }

  async get(principal: Principal, id: string): Promise<Workspace> {
    const workspace = await this.workspaces.find(principal.organizationId, id);
    if (!workspace) {
      throw FarpointError.notFound('Workspace', id);
    }
    return workspace;
  }

  create(principal: Principal, input: CreateWorkspaceInput): Promise<Workspace> {
    assertName(input.name);
    assertText(input.description, 'description');
    return this.transactions.runOrConflict(async (tx) => {
      const workspace = await this.workspaces.create(tx, {
        organizationId: principal.organizationId,
        name: input.name,
        description: input.description,
        labels: input.labels ?? {},
      });
      await this.events.recordChange(tx, principal, { kind: EventObjectKind.Workspace, id: workspace.id }, EventType.WorkspaceCreated, `Workspace ${workspace.name} created`);
      return workspace;
    }, `A workspace named ${input.name} already exists in this organization.`);
  }

  async update(principal: Principal, id: string, input: UpdateWorkspaceInput): Promise<Workspace> {
    const current = await this.get(principal, id);
    if (input.name !== undefined) {
      assertName(input.name);
    }
    assertText(input.description, 'description');
    return this.transactions.runOrConflict(
      async (tx) => {
        const workspace = await this.workspaces.update(tx, id, { name: input.name, description: input.description, labels: input.labels });
        await this.events.recordChange(tx, principal, { kind: EventObjectKind.Workspace, id: workspace.id }, EventType.WorkspaceUpdated, `Workspace ${workspace.name} updated`);
        return workspace;
      },
      `A workspace named ${input.name ?? current.name} already exists in this organization.`,
    );
  }

  async delete(principal: Principal, id: string): Promise<Workspace> {
    const workspace = await this.get(principal, id);
    return this.transactions.run(async (tx) => {
      const namespaces = await this.workspaces.countNamespaces(tx, id);
      if (namespaces > 0) {
        throw FarpointError.conflict(`Workspace ${workspace.name} still has ${namespaces} namespace(s); move or delete them first, so none is left without a workspace.`);
      }
      await this.workspaces.delete(tx, id);
      await this.events.recordChange(tx, principal, { kind: EventObjectKind.Workspace, id: workspace.id }, EventType.WorkspaceDeleted, `Workspace ${workspace.name} deleted`);
      return workspace;
    });
  }
}
