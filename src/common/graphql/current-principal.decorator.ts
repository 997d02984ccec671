import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { GqlExecutionContext } from '@nestjs/graphql';
import { type Principal, type RequestContext } from './request-context';

/** The authenticated caller of a GraphQL operation (set by GraphqlAuthGuard). */
export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext): Principal => {
  const principal = GqlExecutionContext.create(context).getContext<RequestContext>().auth.principal;
  if (!principal) {
    throw new Error('CurrentPrincipal used on an operation the auth guard did not run for');
  }
  return principal;
});

/** The whole per-request context (loaders, request id). */
export const Ctx = createParamDecorator((_: unknown, context: ExecutionContext): RequestContext => GqlExecutionContext.create(context).getContext<RequestContext>());
