import { GenerationRepository } from '../desired-state/generation.repository';
import { Injectable } from '@nestjs/common';
import { FarpointError } from '../../common/errors/farpoint-error';
import { Connection, toConnection, toPageRequest } from '../../common/graphql/pagination';
import { Principal } from '../../common/graphql/request-context';
import { parseLabelSelector } from '../../common/labels/label-selector';
import { assertName, assertText } from '../../common/validation/names';
import { ClusterGroup } from '../../generated/prisma/client';
import { TransactionRunner } from '../../infra/database/transaction';
import { EventObjectKind, EventType } from '../events/event-types';
import { EventRecorder } from '../events/event.recorder';
import { ClusterGroupsArgs, CreateClusterGroupInput, UpdateClusterGroupInput } from './cluster-group.model';
import { ClusterGroupRepository } from './cluster-group.repository';

const MAX_ADMISSION_TIMEOUT_SECONDS = 30;

/** The apiserver accepts 1 to 30 s for a webhook. */
function assertAdmissionTimeout(seconds: number | undefined | null): void {
  if (seconds !== undefined && seconds !== null && (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_ADMISSION_TIMEOUT_SECONDS)) {
    throw FarpointError.badInput(`admissionTimeoutSeconds must be a whole number of seconds from 1 to ${MAX_ADMISSION_TIMEOUT_SECONDS}.`, 'input.admissionTimeoutSeconds');
  }
}

@Injectable()
export class ClusterGroupService {
  constructor(
    private readonly groups: ClusterGroupRepository,
    private readonly transactions: TransactionRunner,
    private readonly events: EventRecorder,
    private readonly generations: GenerationRepository,
  ) {}

  async list(principal: Principal, args: ClusterGroupsArgs): Promise<Connection<ClusterGroup>> {
    const request = toPageRequest(args, 'NAME');
    const { rows, total } = await this.groups.page(principal.organizationId, parseLabelSelector(args.labelSelector ?? ''), request);
    return toConnection(rows, request, total, 'NAME', (g) => g.name);
  }

  async get(principal: Principal, id: string): Promise<ClusterGroup> {
    const group = await this.groups.find(principal.organizationId, id);
    if (!group) {
      throw FarpointError.notFound('ClusterGroup', id);
    }
    return group;
  }

  async create(principal: Principal, input: CreateClusterGroupInput): Promise<ClusterGroup> {
    assertName(input.name);
    assertText(input.description, 'description');
    assertAdmissionTimeout(input.admissionTimeoutSeconds);
    return this.transactions.runOrConflict(async (tx) => {
      const group = await this.groups.create(tx, {
        organizationId: principal.organizationId,
        name: input.name,
        description: input.description,
        labels: input.labels ?? {},
        admissionFailurePolicy: input.admissionFailurePolicy ?? undefined,
        admissionTimeoutSeconds: input.admissionTimeoutSeconds ?? undefined,
      });
      await this.events.recordChange(tx, principal, { kind: EventObjectKind.ClusterGroup, id: group.id }, EventType.ClusterGroupCreated, `Cluster group ${group.name} created`);
      return group;
    }, `A cluster group named ${input.name} already exists in this organization.`);
  }

  async update(principal: Principal, id: string, input: UpdateClusterGroupInput): Promise<ClusterGroup> {
    const current = await this.get(principal, id);
    if (input.name !== undefined) {
      assertName(input.name);
    }
    assertText(input.description, 'description');
    assertAdmissionTimeout(input.admissionTimeoutSeconds);
    return this.transactions.runOrConflict(
      async (tx) => {
        const group = await this.groups.update(tx, id, {
          name: input.name,
          description: input.description,
          labels: input.labels,
          admissionFailurePolicy: input.admissionFailurePolicy ?? undefined,
          admissionTimeoutSeconds: input.admissionTimeoutSeconds ?? undefined,
        });
        // The admission settings are part of every member's desired state.
        if (group.admissionFailurePolicy !== current.admissionFailurePolicy || group.admissionTimeoutSeconds !== current.admissionTimeoutSeconds) {
          await this.generations.bumpGroup(tx, principal.organizationId, group.id);
        }
        await this.events.recordChange(tx, principal, { kind: EventObjectKind.ClusterGroup, id: group.id }, EventType.ClusterGroupUpdated, `Cluster group ${group.name} updated`);
        return group;
      },
      `A cluster group named ${input.name ?? current.name} already exists in this organization.`,
    );
  }

  async delete(principal: Principal, id: string): Promise<ClusterGroup> {
    const group = await this.get(principal, id);
    return this.transactions.run(async (tx) => {
      const clusters = await this.groups.countClusters(tx, id);
      if (clusters > 0) {
        throw FarpointError.conflict(`Cluster group ${group.name} still has ${clusters} cluster(s); move or delete them first.`);
      }
      await this.groups.delete(tx, id);
      await this.events.recordChange(tx, principal, { kind: EventObjectKind.ClusterGroup, id: group.id }, EventType.ClusterGroupDeleted, `Cluster group ${group.name} deleted`);
      return group;
    });
  }
}
