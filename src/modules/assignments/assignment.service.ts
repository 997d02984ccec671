import { Injectable } from '@nestjs/common';
import { FarpointError } from '../../common/errors/farpoint-error';
import { Connection, SortDirection, toConnection, toPageRequest } from '../../common/graphql/pagination';
import { actorOf, Principal } from '../../common/graphql/request-context';
import { matchesLabels, parseLabelSelector } from '../../common/labels/label-selector';
import { assertIdFilters } from '../../common/validation/ids';
import { EnforcementAction, PolicyAssignment, PolicyScope, Prisma } from '../../generated/prisma/client';
import { TransactionRunner, Tx } from '../../infra/database/transaction';
import { ConstraintRepository } from '../constraints/constraint.repository';
import { EventObjectKind, EventType } from '../events/event-types';
import { EventRecorder } from '../events/event.recorder';
import { PolicyTemplateRepository } from '../policy-templates/policy-template.repository';
import { PolicyErrors } from '../policy-templates/policy.errors';
import { GenerationRepository } from '../desired-state/generation.repository';
import { AssignmentRevision, revisionOf } from '../staged-rollouts/assignment-revision';
import { StagedRolloutErrors } from '../staged-rollouts/staged-rollout.errors';
import { StagedRolloutService } from '../staged-rollouts/staged-rollout.service';
import { AssignmentErrors } from './assignment.errors';
import { AssignPolicyInput, EffectivePolicy, PolicyAssignmentSortField, PolicyAssignmentsArgs, UpdatePolicyAssignmentInput } from './assignment.model';
import { AssignmentReach, AssignmentRepository, AssignmentWithSource, SCOPE_COLUMN } from './assignment.repository';

export const DEFAULT_EXCLUDED_NAMESPACES = ['farpoint-system', 'kube-system'];
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const SORT_KEY: Record<PolicyAssignmentSortField, keyof PolicyAssignment> = { CREATED_AT: 'createdAt', UPDATED_AT: 'updatedAt' };

export type ClusterPlace = { id: string; siteId: string | null; groupId: string; labels: Prisma.JsonValue };

/** The scope id of an assignment: the organization's for ORGANIZATION, else its site, group, cluster or workspace. */
export function scopeIdOf(a: PolicyAssignment): string {
  const column = SCOPE_COLUMN[a.scope];
  return column ? (a[column] as string) : a.organizationId;
}

function excluded(names: string[] | undefined, field: string): string[] | undefined {
  if (names === undefined) {
    return undefined;
  }
  for (const name of names) {
    if (!NAMESPACE_NAME.test(name)) {
      throw AssignmentErrors.namespaceName(name, field);
    }
  }
  return [...new Set(names)].sort();
}

function selector(value: string | undefined, field: string): string | undefined {
  if (value === undefined) {
    return undefined;
  }
  try {
    parseLabelSelector(value);
  } catch (error) {
    if (error instanceof FarpointError) {
      throw new FarpointError(error.code, error.message, { ...error.details, field });
    }
    throw error;
  }
  return value.trim();
}

/** The scopes at which a DENY covers an assignment at `a`'s scope: the scope itself and every level above it. */
function coveringScopes(a: AssignmentReach, cluster: ClusterPlace | null): Prisma.PolicyAssignmentWhereInput[] {
  const org: Prisma.PolicyAssignmentWhereInput = { scope: 'ORGANIZATION' };
  switch (a.scope) {
    case 'ORGANIZATION':
      return [org];
    case 'SITE':
      return [org, { scope: 'SITE', siteId: a.siteId }];
    case 'CLUSTER_GROUP':
      return [org, { scope: 'CLUSTER_GROUP', groupId: a.groupId }];
    case 'WORKSPACE':
      return [org, { scope: 'WORKSPACE', workspaceId: a.workspaceId }];
    case 'CLUSTER':
      return [
        org,
        ...(cluster?.siteId ? [{ scope: 'SITE' as const, siteId: cluster.siteId }] : []),
        { scope: 'CLUSTER_GROUP', groupId: cluster?.groupId },
        { scope: 'CLUSTER', clusterId: a.clusterId },
      ];
  }
}

/**
 * Policy assignments: a constraint assigned to the organization, a site, a cluster group, a cluster
 * or a workspace. Every change bumps the desired-state generation of the clusters it reaches.
 */
@Injectable()
export class AssignmentService {
  constructor(
    private readonly assignments: AssignmentRepository,
    private readonly constraints: ConstraintRepository,
    private readonly templates: PolicyTemplateRepository,
    private readonly transactions: TransactionRunner,
    private readonly events: EventRecorder,
    private readonly generations: GenerationRepository,
    private readonly stagedRollouts: StagedRolloutService,
  ) {}

  async list(principal: Principal, args: PolicyAssignmentsArgs): Promise<Connection<PolicyAssignment>> {
    assertIdFilters({ 'filter.constraintId': args.filter?.constraintId, 'filter.scopeId': args.filter?.scopeId });
    const sort = args.orderBy?.field ?? PolicyAssignmentSortField.CREATED_AT;
    const request = toPageRequest(args, sort);
    const { rows, total } = await this.assignments.page(
      { organizationId: principal.organizationId, constraintId: args.filter?.constraintId, scope: args.filter?.scope, scopeId: args.filter?.scopeId },
      sort,
      args.orderBy?.direction ?? SortDirection.ASC,
      request,
    );
    return toConnection(rows, request, total, sort, (row) => row[SORT_KEY[sort]]);
  }

  async assign(principal: Principal, input: AssignPolicyInput): Promise<PolicyAssignment> {
    const labelSelector = selector(input.labelSelector, 'input.labelSelector') ?? '';
    const namespaceSelector = selector(input.namespaceSelector, 'input.namespaceSelector') ?? '';
    const excludedNamespaces = excluded(input.excludedNamespaces, 'input.excludedNamespaces') ?? DEFAULT_EXCLUDED_NAMESPACES;
    const org = principal.organizationId;
    return this.transactions.run(async (tx) => {
      const constraint = await this.constraints.findIn(tx, org, input.constraintId);
      if (!constraint) {
        throw FarpointError.notFound('Constraint', input.constraintId);
      }
      const version = await this.templates.findVersionIn(tx, org, constraint.templateVersionId);
      if (version?.lifecycle === 'DEPRECATED') {
        throw PolicyErrors.deprecated(version.version, 'input.constraintId');
      }
      const column = SCOPE_COLUMN[input.scope];
      if (input.scope === 'ORGANIZATION') {
        if (input.scopeId !== org) {
          throw AssignmentErrors.organizationScope(input.scopeId);
        }
      } else if (!(await this.assignments.scopeExistsIn(tx, org, input.scope, input.scopeId))) {
        throw FarpointError.notFound(input.scope === 'CLUSTER_GROUP' ? 'ClusterGroup' : input.scope.charAt(0) + input.scope.slice(1).toLowerCase(), input.scopeId);
      }
      const reach: AssignmentReach = {
        scope: input.scope,
        siteId: null,
        groupId: null,
        clusterId: null,
        workspaceId: null,
        labelSelector,
        ...(column ? { [column]: input.scopeId } : {}),
      };
      const action = input.enforcementAction ?? constraint.enforcementAction;
      await this.assertNotWeakening(tx, org, constraint.id, reach, action, undefined, 'input.enforcementAction');
      const assignment = await this.assignments.create(tx, {
        organizationId: org,
        constraintId: constraint.id,
        scope: reach.scope,
        siteId: reach.siteId,
        groupId: reach.groupId,
        clusterId: reach.clusterId,
        workspaceId: reach.workspaceId,
        labelSelector,
        namespaceSelector,
        excludedNamespaces,
        enforcementAction: input.enforcementAction ?? null,
        createdBy: actorOf(principal),
      });
      const urgent = input.urgent ?? false;
      const staged = input.rollout ? await this.stagedRollouts.start(tx, principal, { assignment, previous: null, input: input.rollout, urgent }) : null;
      const bumped = staged ? staged.bumped : await this.generations.bumpReaches(tx, org, [assignment], { urgent });
      await this.record(tx, principal, assignment, EventType.PolicyAssigned, `Constraint ${constraint.name} assigned to ${assignment.scope} ${input.scopeId} (${action})`, {
        constraintId: constraint.id,
        scope: assignment.scope,
        scopeId: input.scopeId,
        enforcementAction: action,
        clustersAffected: bumped.length,
        urgent,
        ...(staged ? { stagedRolloutId: staged.rollout.id } : {}),
      });
      return staged ? { ...assignment, activeRolloutId: staged.rollout.id } : assignment;
    });
  }

  async update(principal: Principal, id: string, input: UpdatePolicyAssignmentInput): Promise<PolicyAssignment> {
    const labelSelector = selector(input.labelSelector, 'input.labelSelector');
    const namespaceSelector = selector(input.namespaceSelector, 'input.namespaceSelector');
    const excludedNamespaces = excluded(input.excludedNamespaces, 'input.excludedNamespaces');
    const org = principal.organizationId;
    return this.transactions.run(async (tx) => {
      const current = await this.assignments.lockIn(tx, org, id);
      if (!current) {
        throw FarpointError.notFound('PolicyAssignment', id);
      }
      if (current.activeRolloutId) {
        throw StagedRolloutErrors.inProgress(current.id, current.activeRolloutId);
      }
      const constraint = await this.constraints.findIn(tx, org, current.constraintId);
      if (!constraint) {
        throw new Error(`assignment ${id} refers to constraint ${current.constraintId}, which is gone`);
      }
      const next = {
        labelSelector: labelSelector ?? current.labelSelector,
        namespaceSelector: namespaceSelector ?? current.namespaceSelector,
        excludedNamespaces: excludedNamespaces ?? current.excludedNamespaces,
        enforcementAction: input.enforcementAction === undefined ? current.enforcementAction : input.enforcementAction,
      };
      const action = next.enforcementAction ?? constraint.enforcementAction;
      await this.assertNotWeakening(tx, org, constraint.id, { ...current, labelSelector: next.labelSelector }, action, current.id, 'input.enforcementAction');
      const assignment = await this.assignments.update(tx, id, next);
      const urgent = input.urgent ?? false;
      const staged = input.rollout ? await this.stagedRollouts.start(tx, principal, { assignment, previous: revisionOf(current), input: input.rollout, urgent }) : null;
      const bumped = staged ? staged.bumped : await this.generations.bumpReaches(tx, org, [current, assignment], { urgent });
      await this.record(
        tx,
        principal,
        assignment,
        EventType.PolicyAssignmentUpdated,
        `Assignment of constraint ${constraint.name} to ${current.scope} ${scopeIdOf(current)} updated`,
        {
          changed: Object.keys(input)
            .filter((k) => k !== 'urgent' && k !== 'rollout')
            .sort(),
          enforcementAction: action,
          clustersAffected: bumped.length,
          urgent,
          ...(staged ? { stagedRolloutId: staged.rollout.id } : {}),
        },
      );
      return staged ? { ...assignment, activeRolloutId: staged.rollout.id } : assignment;
    });
  }

  async unassign(principal: Principal, id: string, urgent = false): Promise<PolicyAssignment> {
    const org = principal.organizationId;
    return this.transactions.run(async (tx) => {
      const current = await this.assignments.lockIn(tx, org, id);
      if (!current) {
        throw FarpointError.notFound('PolicyAssignment', id);
      }
      if (current.activeRolloutId) {
        throw StagedRolloutErrors.inProgress(current.id, current.activeRolloutId);
      }
      const bumped = await this.generations.bumpReaches(tx, org, [current], { urgent });
      await this.assignments.delete(tx, id);
      await this.record(tx, principal, current, EventType.PolicyUnassigned, `Constraint ${current.constraintId} unassigned from ${current.scope} ${scopeIdOf(current)}`, {
        constraintId: current.constraintId,
        clustersAffected: bumped.length,
        urgent,
      });
      return current;
    });
  }

  /** What applies on the cluster: assignments of the organization, its site, its group, itself, and of the workspaces of its namespaces. */
  async effectiveForCluster(principal: Principal, clusterId: string): Promise<EffectivePolicy[]> {
    const cluster = await this.assignments.cluster(principal.organizationId, clusterId);
    if (!cluster) {
      throw FarpointError.notFound('Cluster', clusterId);
    }
    return this.effective(await this.assignmentsInEffect(principal.organizationId, cluster), cluster);
  }

  /**
   * The assignments in effect on a cluster: those of the organization, its site, its group, itself and
   * the workspaces of its namespaces, narrowed by their cluster label selectors. effectivePolicies and
   * the desired state both start here. `held`: assignments the cluster must still see as they were
   * (a staged rollout has not released its wave; null: not at all), applied before the selectors.
   */
  async assignmentsInEffect(organizationId: string, cluster: ClusterPlace, held?: Map<string, AssignmentRevision | null>): Promise<AssignmentWithSource[]> {
    const rows = await this.assignments.atScopes(organizationId, [
      ...this.clusterScopes(cluster),
      { scope: 'WORKSPACE', workspace: { namespaces: { some: { clusterId: cluster.id } } } },
    ]);
    const labels = cluster.labels as Record<string, string>;
    const asSeen = held?.size
      ? rows.flatMap((a) => {
          if (!held.has(a.id)) {
            return [a];
          }
          const previous = held.get(a.id);
          return previous ? [{ ...a, ...previous }] : [];
        })
      : rows;
    return asSeen.filter((a) => matchesLabels(parseLabelSelector(a.labelSelector), labels));
  }

  /** What applies in the namespace: its cluster's chain and its workspace, narrowed by namespace selectors and exclusions. */
  async effectiveForNamespace(principal: Principal, namespaceId: string): Promise<EffectivePolicy[]> {
    const ns = await this.assignments.namespace(principal.organizationId, namespaceId);
    if (!ns) {
      throw FarpointError.notFound('Namespace', namespaceId);
    }
    const rows = await this.assignments.atScopes(principal.organizationId, [...this.clusterScopes(ns.cluster), { scope: 'WORKSPACE', workspaceId: ns.workspaceId }]);
    const labels = ns.labels as Record<string, string>;
    return this.effective(
      rows.filter((a) => !a.excludedNamespaces.includes(ns.name) && matchesLabels(parseLabelSelector(a.namespaceSelector), labels)),
      ns.cluster,
    );
  }

  private clusterScopes(cluster: ClusterPlace): Prisma.PolicyAssignmentWhereInput[] {
    return [
      { scope: 'ORGANIZATION' },
      ...(cluster.siteId ? [{ scope: 'SITE' as const, siteId: cluster.siteId }] : []),
      { scope: 'CLUSTER_GROUP', groupId: cluster.groupId },
      { scope: 'CLUSTER', clusterId: cluster.id },
    ];
  }

  private effective(rows: AssignmentWithSource[], cluster: ClusterPlace): EffectivePolicy[] {
    const labels = cluster.labels as Record<string, string>;
    const source: Record<PolicyScope, (a: AssignmentWithSource) => string | undefined> = {
      ORGANIZATION: (a) => a.organization.name,
      SITE: (a) => a.site?.name,
      CLUSTER_GROUP: (a) => a.group?.name,
      CLUSTER: (a) => a.cluster?.name,
      WORKSPACE: (a) => a.workspace?.name,
    };
    return rows
      .filter((a) => matchesLabels(parseLabelSelector(a.labelSelector), labels))
      .map((row) => {
        const { constraint, organization: _o, site: _s, group: _g, cluster: _c, workspace: _w, ...assignment } = row;
        return {
          assignment,
          constraint,
          enforcementAction: assignment.enforcementAction ?? constraint.enforcementAction,
          scope: assignment.scope,
          scopeId: scopeIdOf(assignment),
          scopeName: source[row.scope](row) ?? '',
        };
      });
  }

  /**
   * A WARN or DRYRUN assignment is refused where a DENY of the same constraint at its scope or above
   * covers it (a DENY narrowed by a cluster selector covers it when they share a cluster). Other
   * constraints, even of the same kind, are evaluated side by side and cannot weaken each other.
   */
  private async assertNotWeakening(tx: Tx, org: string, constraintId: string, reach: AssignmentReach, action: EnforcementAction, selfId: string | undefined, field: string) {
    if (action === 'DENY') {
      return;
    }
    const cluster = reach.scope === 'CLUSTER' && reach.clusterId ? await this.assignments.clusterIn(tx, org, reach.clusterId) : null;
    const candidates = await this.assignments.sameConstraintAt(tx, org, constraintId, coveringScopes(reach, cluster), selfId);
    for (const deny of candidates.filter((c) => (c.enforcementAction ?? c.constraint.enforcementAction) === 'DENY')) {
      if (deny.labelSelector === '' || (await this.assignments.reachesSelected(tx, org, reach, deny.labelSelector))) {
        throw AssignmentErrors.weakens(deny, scopeIdOf(deny), field);
      }
    }
  }

  private record(tx: Tx, principal: Principal, a: PolicyAssignment, type: EventType, message: string, data: Record<string, unknown>) {
    return this.events.recordChange(tx, principal, { kind: EventObjectKind.PolicyAssignment, id: a.id }, type, message, data);
  }
}
