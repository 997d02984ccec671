import { type RequestContext } from '../common/graphql/request-context';
import { type InventoryLoaderFactory } from './inventory.loaders';

/** A fresh per-operation context (HTTP request or WebSocket operation); the auth guard fills in the principal. */
export function createRequestContext(loaders: InventoryLoaderFactory, requestId: string, authorization: string | undefined): RequestContext {
  const auth: RequestContext['auth'] = {};
  return {
    requestId,
    authorization,
    auth,
    loaders: loaders.create(() => {
      if (!auth.principal) {
        throw new Error('loader used before authentication');
      }
      return auth.principal.organizationId;
    }),
  };
}
