import type { Role } from '../../generated/prisma/enums';
import type { InventoryLoaders } from '../../graphql/inventory.loaders';

/** Who is calling: an API token scoped to one organization with one role. */
export interface Principal {
  tokenId: string;
  tokenName: string;
  organizationId: string;
  role: Role;
}

/** Name written into Events as the actor. */
export const actorOf = (principal: Principal): string => `token:${principal.tokenName}`;

/** The per-request GraphQL context. Loaders are built fresh per request, so nothing leaks across tenants. */
export interface RequestContext {
  requestId: string;
  authorization?: string;
  // A box, not a plain field: the driver copies the context object, and loaders built before
  // authentication must see the principal the guard sets later.
  auth: { principal?: Principal; authenticating?: Promise<Principal> };
  loaders: InventoryLoaders;
}
