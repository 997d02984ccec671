import { Args, ID, Parent, Query, ResolveField, Resolver, Subscription } from '@nestjs/graphql';
import { CurrentPrincipal } from '../../common/graphql/current-principal.decorator';
import { Principal } from '../../common/graphql/request-context';
import type { PolicyAssignment } from '../../generated/prisma/client';
import { PolicyAssignmentModel } from '../assignments/assignment.model';
import { RequireRole, Role } from '../auth/roles';
import { ViolationsChange } from './violation-ingestion.service';
import {
  AssignmentImpact,
  ComplianceSummary,
  PolicyViolationConnection,
  PolicyViolationsArgs,
  ViolationCount,
  ViolationCountsArgs,
  ViolationsChangedModel,
} from './violation.model';
import { ViolationService } from './violation.service';

/** The changes of one cluster only. A plain iterator, so return() reaches the source at once. */
function onlyCluster(source: AsyncIterableIterator<ViolationsChange>, clusterId?: string): AsyncIterableIterator<ViolationsChange> {
  if (!clusterId) {
    return source;
  }
  return {
    async next() {
      for (;;) {
        const result = await source.next();
        if (result.done || result.value.clusterId === clusterId) {
          return result;
        }
      }
    },
    return: () => source.return!(),
    throw: (error?: unknown) => source.throw!(error),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

@Resolver()
export class ViolationResolver {
  constructor(private readonly service: ViolationService) {}

  @Query(() => PolicyViolationConnection, { description: 'Violations the agent audits found (newest first by default).' })
  @RequireRole(Role.VIEWER)
  violations(@CurrentPrincipal() principal: Principal, @Args() args: PolicyViolationsArgs) {
    return this.service.list(principal, args);
  }

  @Query(() => [ViolationCount], { description: 'Open violations per constraint, assignment, cluster or site, most first (at most 1000 groups).' })
  @RequireRole(Role.VIEWER)
  violationCounts(@CurrentPrincipal() principal: Principal, @Args() args: ViolationCountsArgs) {
    return this.service.counts(principal, args);
  }

  @Query(() => ComplianceSummary, { description: 'Compliance of one cluster (clusterId), the clusters of a site (siteId) or the fleet (neither).' })
  @RequireRole(Role.VIEWER)
  complianceSummary(
    @CurrentPrincipal() principal: Principal,
    @Args('clusterId', { type: () => ID, nullable: true }) clusterId?: string,
    @Args('siteId', { type: () => ID, nullable: true }) siteId?: string,
  ) {
    return this.service.compliance(principal, clusterId, siteId);
  }

  @Subscription(() => ViolationsChangedModel, {
    description: "Streams each audit that changed the violations of your organization's clusters (or of one cluster).",
    resolve: (change: ViolationsChange) => change,
  })
  @RequireRole(Role.VIEWER)
  violationsChanged(@CurrentPrincipal() principal: Principal, @Args('clusterId', { type: () => ID, nullable: true }) clusterId?: string) {
    return onlyCluster(this.service.subscribe(principal.organizationId), clusterId);
  }
}

@Resolver(() => PolicyAssignmentModel)
export class AssignmentImpactResolver {
  constructor(private readonly service: ViolationService) {}

  @ResolveField(() => AssignmentImpact, {
    description:
      'For a DRYRUN or WARN assignment: how many objects, namespaces, clusters and sites it would block if it were DENY (for a DENY: what it already refuses on their next write).',
  })
  impact(@Parent() assignment: PolicyAssignment, @CurrentPrincipal() principal: Principal) {
    return this.service.impact(principal, assignment);
  }
}
