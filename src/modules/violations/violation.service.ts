import { Injectable } from '@nestjs/common';
import { FarpointError } from '../../common/errors/farpoint-error';
import { Connection, SortDirection, toConnection, toPageRequest } from '../../common/graphql/pagination';
import { Principal } from '../../common/graphql/request-context';
import { assertIdFilters, isUuid } from '../../common/validation/ids';
import { PolicyAssignment, PolicyViolation } from '../../generated/prisma/client';
import { PubSubGateway } from '../../infra/redis/pubsub.gateway';
import { violationsChannel, ViolationsChange } from './violation-ingestion.service';
import {
  AssignmentImpact,
  ComplianceScope,
  ComplianceSummary,
  PolicyViolationFilter,
  PolicyViolationSortField,
  PolicyViolationsArgs,
  ViolationCount,
  ViolationCountsArgs,
} from './violation.model';
import { ViolationQuery, ViolationRepository } from './violation.repository';

const SORT_KEY: Record<PolicyViolationSortField, keyof PolicyViolation> = { FIRST_SEEN_AT: 'firstSeenAt', LAST_SEEN_AT: 'lastSeenAt' };

/** Insights over the violations the agents' audits reported: lists, counts, compliance, impact. */
@Injectable()
export class ViolationService {
  constructor(
    private readonly violations: ViolationRepository,
    private readonly pubsub: PubSubGateway,
  ) {}

  async list(principal: Principal, args: PolicyViolationsArgs): Promise<Connection<PolicyViolation>> {
    const query = this.query(principal, args.filter);
    const sort = args.orderBy?.field ?? PolicyViolationSortField.FIRST_SEEN_AT;
    const request = toPageRequest(args, sort);
    const { rows, total } = await this.violations.page(query, sort, args.orderBy?.direction ?? SortDirection.DESC, request);
    return toConnection(rows, request, total, sort, (row) => row[SORT_KEY[sort]]);
  }

  async counts(principal: Principal, args: ViolationCountsArgs): Promise<ViolationCount[]> {
    const rows = await this.violations.counts(this.query(principal, args.filter), args.by);
    return rows.map((r) => ({ id: r.id, open: r.open, byAction: { deny: r.deny, warn: r.warn, dryrun: r.dryrun } }));
  }

  /** Over one cluster, the clusters of one site, both (the cluster if it is in the site), or the fleet. */
  async compliance(principal: Principal, clusterId?: string, siteId?: string): Promise<ComplianceSummary> {
    const org = principal.organizationId;
    if (clusterId !== undefined && !(isUuid(clusterId) && (await this.violations.exists(org, 'cluster', clusterId)))) {
      throw FarpointError.notFound('Cluster', clusterId);
    }
    if (siteId !== undefined && !(isUuid(siteId) && (await this.violations.exists(org, 'site', siteId)))) {
      throw FarpointError.notFound('Site', siteId);
    }
    const row = await this.violations.compliance(org, clusterId, siteId);
    return {
      scope: clusterId ? ComplianceScope.CLUSTER : siteId ? ComplianceScope.SITE : ComplianceScope.FLEET,
      clusters: row.clusters,
      compliantClusters: row.clusters - row.violating,
      clustersWithViolations: row.violating,
      openViolations: row.deny + row.warn + row.dryrun,
      openByAction: { deny: row.deny, warn: row.warn, dryrun: row.dryrun },
    };
  }

  /** The assignment is the caller's (resolved through its own assignments query). */
  async impact(principal: Principal, assignment: Pick<PolicyAssignment, 'id'>): Promise<AssignmentImpact> {
    const row = await this.violations.impact(principal.organizationId, assignment.id);
    return { objects: row.objects, namespaces: row.namespaces, clusters: row.clusters, sites: row.sites, reportedViolations: row.reported };
  }

  subscribe(organizationId: string): AsyncIterableIterator<ViolationsChange> {
    return this.pubsub.iterate<ViolationsChange>(violationsChannel(organizationId));
  }

  private query(principal: Principal, filter: PolicyViolationFilter | undefined): ViolationQuery {
    const f = filter ?? {};
    assertIdFilters({
      'filter.templateId': f.templateId,
      'filter.assignmentId': f.assignmentId,
      'filter.constraintId': f.constraintId,
      'filter.clusterId': f.clusterId,
      'filter.siteId': f.siteId,
      'filter.groupId': f.groupId,
    });
    return { organizationId: principal.organizationId, ...f };
  }
}
