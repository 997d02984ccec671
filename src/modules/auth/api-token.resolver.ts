import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../../common/graphql/current-principal.decorator';
import { Principal } from '../../common/graphql/request-context';
import { ApiTokenModel, CreateApiTokenInput, CreatedApiToken } from './api-token.model';
import { AuthService } from './auth.service';
import { RequireRole, Role } from './roles';

@Resolver(() => ApiTokenModel)
export class ApiTokenResolver {
  constructor(private readonly auth: AuthService) {}

  @Query(() => [ApiTokenModel], { description: "Your organization's API tokens (secrets are never returned)." })
  @RequireRole(Role.ADMIN)
  apiTokens(@CurrentPrincipal() principal: Principal) {
    return this.auth.listTokens(principal);
  }

  @Mutation(() => CreatedApiToken)
  @RequireRole(Role.ADMIN)
  createApiToken(@CurrentPrincipal() principal: Principal, @Args('input') input: CreateApiTokenInput) {
    return this.auth.createToken(principal, input);
  }

  @Mutation(() => ApiTokenModel, { description: 'Revokes a token at once. Revoking twice is harmless.' })
  @RequireRole(Role.ADMIN)
  revokeApiToken(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string) {
    return this.auth.revokeToken(principal, id);
  }
}
