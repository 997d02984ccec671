import { Args, Mutation, Query, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../../common/graphql/current-principal.decorator';
import { Principal } from '../../common/graphql/request-context';
import { RequireRole, Role } from '../auth/roles';
import { OrganizationModel, UpdateOrganizationSettingsInput, Viewer } from './organization.model';
import { OrganizationService } from './organization.service';

@Resolver()
export class OrganizationResolver {
  constructor(private readonly organizations: OrganizationService) {}

  @Query(() => Viewer, { description: 'The calling token, its role and its organization.' })
  @RequireRole(Role.VIEWER)
  async viewer(@CurrentPrincipal() principal: Principal): Promise<Viewer> {
    return { organization: await this.organizations.current(principal), tokenName: principal.tokenName, role: principal.role };
  }

  @Mutation(() => OrganizationModel, { description: "Changes your organization's settings." })
  @RequireRole(Role.ADMIN)
  updateOrganizationSettings(@CurrentPrincipal() principal: Principal, @Args('input') input: UpdateOrganizationSettingsInput) {
    return this.organizations.updateSettings(principal, input);
  }
}
