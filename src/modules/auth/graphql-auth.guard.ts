import type { GraphQLResolveInfo } from 'graphql';
import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { GqlExecutionContext } from '@nestjs/graphql';
import { FarpointError } from '../../common/errors/farpoint-error';
import { Principal, RequestContext } from '../../common/graphql/request-context';
import { APP_CONFIG, AppConfig } from '../../infra/config/app-config';
import { RateLimitGateway } from '../../infra/redis/rate-limit.gateway';
import { AuthService } from './auth.service';
import { limitToken } from './graphql-rate-limit';
import { REQUIRED_ROLE, Role, roleAtLeast } from './roles';

/**
 * Guards every GraphQL operation (registered globally). Authenticates once per request and counts it
 * against the token's GRAPHQL_RATE_LIMIT_PER_MINUTE, then checks the operation's @RequireRole. Field
 * resolvers on object types run only inside an already-guarded operation and need no role of their
 * own. HTTP controllers (health, agent protocol) authenticate themselves.
 */
@Injectable()
export class GraphqlAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
    private readonly limiter: RateLimitGateway,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType<string>() !== 'graphql') {
      return true;
    }
    const gql = GqlExecutionContext.create(context);
    const info = gql.getInfo<GraphQLResolveInfo | undefined>();
    const parentType = info?.parentType?.name;
    const isOperation = parentType === 'Query' || parentType === 'Mutation' || parentType === 'Subscription';
    if (!isOperation) {
      return true;
    }

    const needed = this.reflector.getAllAndOverride<Role | undefined>(REQUIRED_ROLE, [context.getHandler(), context.getClass()]);
    if (!needed) {
      throw FarpointError.forbidden(`Operation ${info?.fieldName ?? 'unknown'} declares no required role and is refused.`);
    }
    const ctx = gql.getContext<RequestContext>();
    // Root fields of one request run concurrently: they share one authentication and one count.
    ctx.auth.authenticating ??= this.authenticate(ctx);
    const { role } = await ctx.auth.authenticating;
    if (!roleAtLeast(role, needed)) {
      throw FarpointError.forbidden(`This needs the ${needed} role; your token has ${role}.`);
    }
    return true;
  }

  private async authenticate(ctx: RequestContext): Promise<Principal> {
    const principal = await this.auth.authenticate(ctx.authorization);
    await limitToken(this.limiter, principal, this.config.GRAPHQL_RATE_LIMIT_PER_MINUTE);
    ctx.auth.principal = principal;
    return principal;
  }
}
