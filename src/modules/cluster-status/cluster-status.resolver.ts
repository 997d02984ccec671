import { Args, ID, Resolver, Subscription } from '@nestjs/graphql';
import { CurrentPrincipal } from '../../common/graphql/current-principal.decorator';
import { Principal } from '../../common/graphql/request-context';
import { RequireRole, Role } from '../auth/roles';
import { ClusterStatusChangeModel } from './cluster-status.model';
import { ClusterStatusChange, ClusterStatusService } from './cluster-status.service';

/** The changes of one cluster only. A plain iterator, so return() reaches the source at once. */
function onlyCluster(source: AsyncIterableIterator<ClusterStatusChange>, clusterId?: string): AsyncIterableIterator<ClusterStatusChange> {
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
export class ClusterStatusResolver {
  constructor(private readonly service: ClusterStatusService) {}

  @Subscription(() => ClusterStatusChangeModel, {
    description: "Streams phase and health changes of your organization's clusters (or of one cluster).",
    resolve: (change: ClusterStatusChange) => change,
  })
  @RequireRole(Role.VIEWER)
  clusterStatusChanged(@CurrentPrincipal() principal: Principal, @Args('clusterId', { type: () => ID, nullable: true }) clusterId?: string) {
    return onlyCluster(this.service.subscribe(principal.organizationId), clusterId);
  }
}
