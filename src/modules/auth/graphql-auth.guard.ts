import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { GqlExecutionContext } from '@nestjs/graphql';
import { FarpointError } from '../../common/errors/farpoint-error';
import { RequestContext } from '../../common/graphql/request-context';
import { AuthService } from './auth.service';
import { REQUIRED_ROLE, Role, roleAtLeast } from './roles';

/**
 * Guards every GraphQL operation (registered globally). Authenticates once per request, then checks
 * the operation's @RequireRole. Field resolvers on object types run only inside an already-guarded
 * operation and need no role of their own. HTTP controllers (health, agent protocol) authenticate themselves.
 */
@Injectable()
export class GraphqlAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType<string>() !== 'graphql') return true;
    const gql = GqlExecutionContext.create(context);
    const parentType = gql.getInfo()?.parentType?.name;
    const isOperation = parentType === 'Query' || parentType === 'Mutation' || parentType === 'Subscription';
    if (!isOperation) return true;

    const needed = this.reflector.getAllAndOverride<Role | undefined>(REQUIRED_ROLE, [context.getHandler(), context.getClass()]);
    if (!needed) throw FarpointError.forbidden(`Operation ${gql.getInfo().fieldName} declares no required role and is refused.`);
    const ctx = gql.getContext<RequestContext>();
    ctx.auth.principal ??= await this.auth.authenticate(ctx.authorization);
    const { role } = ctx.auth.principal;
    if (!roleAtLeast(role, needed)) {
      throw FarpointError.forbidden(`This needs the ${needed} role; your token has ${role}.`);
    }
    return true;
  }
}
