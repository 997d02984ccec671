import { Args, ID, Int, Mutation, Query, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../../common/graphql/current-principal.decorator';
import { Principal } from '../../common/graphql/request-context';
import { FarpointError } from '../../common/errors/farpoint-error';
import { RequireRole, Role } from '../auth/roles';
import { ClusterModel } from '../clusters/cluster.model';
import { AttachClusterInput, AttachClusterWithKubeconfigInput, ClusterOperationModel, QueuedAttach, RegistrationLink } from './attach.model';
import { AttachService } from './attach.service';
import { ClusterOperationRepository } from './cluster-operation.repository';

@Resolver()
export class AttachResolver {
  constructor(
    private readonly service: AttachService,
    private readonly operations: ClusterOperationRepository,
  ) {}

  @Mutation(() => RegistrationLink, {
    description: 'Creates a PENDING cluster and a one-time registration link: `kubectl apply -f <manifestUrl>` installs the agent, which registers back.',
  })
  @RequireRole(Role.EDITOR)
  attachCluster(@CurrentPrincipal() principal: Principal, @Args('input') input: AttachClusterInput) {
    return this.service.attachByLink(principal, input);
  }

  @Mutation(() => QueuedAttach, {
    description: 'Attaches a cluster Farpoint can reach: a worker installs the agent with this kubeconfig (used once, never stored) and waits for it to register.',
  })
  @RequireRole(Role.EDITOR)
  attachClusterWithKubeconfig(@CurrentPrincipal() principal: Principal, @Args('input') input: AttachClusterWithKubeconfigInput) {
    return this.service.attachWithKubeconfig(principal, input);
  }

  @Mutation(() => RegistrationLink, { description: 'Issues a new registration link for a cluster whose agent has not registered; earlier unused links stop working.' })
  @RequireRole(Role.EDITOR)
  reissueRegistrationLink(
    @CurrentPrincipal() principal: Principal,
    @Args('clusterId', { type: () => ID }) clusterId: string,
    @Args('ttlHours', { type: () => Int, nullable: true }) ttlHours?: number,
  ) {
    return this.service.reissueLink(principal, clusterId, ttlHours);
  }

  @Mutation(() => ClusterModel, { description: 'Revokes every unused registration link of a cluster.' })
  @RequireRole(Role.EDITOR)
  revokeRegistrationLinks(@CurrentPrincipal() principal: Principal, @Args('clusterId', { type: () => ID }) clusterId: string) {
    return this.service.revokeLinks(principal, clusterId);
  }

  @Mutation(() => ClusterModel, {
    description:
      'Detaches a cluster. Normal: the agent removes what it installed on its next report, then its credential is revoked. force: for dead clusters, removes the cluster record and its credentials at once.',
  })
  @RequireRole(Role.EDITOR)
  detachCluster(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string, @Args('force', { defaultValue: false }) force: boolean) {
    return this.service.detach(principal, id, force);
  }

  @Query(() => ClusterOperationModel)
  @RequireRole(Role.VIEWER)
  async clusterOperation(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string) {
    const operation = await this.operations.find(id, principal.organizationId);
    if (!operation) {
      throw FarpointError.notFound('ClusterOperation', id);
    }
    return operation;
  }
}
