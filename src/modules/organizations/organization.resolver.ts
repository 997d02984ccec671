import { Args, Field, ID, InputType, Int, Mutation, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../../common/graphql/current-principal.decorator';
import { Principal } from '../../common/graphql/request-context';
import { RequireRole, Role } from '../auth/roles';
import { OrganizationService } from './organization.service';

@ObjectType('Organization', { description: 'A tenant. Every token, site, cluster and event belongs to exactly one.' })
export class OrganizationModel {
  @Field(() => ID) id: string;
  @Field() name: string;
  @Field() displayName: string;
  @Field(() => Int, { nullable: true, description: 'Longest lifetime a new API token may have, in days; null: no limit.' }) apiTokenMaxLifetimeDays: number | null;
  @Field() createdAt: Date;
}

@InputType()
export class UpdateOrganizationSettingsInput {
  @Field(() => Int, { nullable: true, description: 'Longest lifetime of new API tokens (1-3650 days); null removes the limit. Applies to tokens created from now on.' })
  apiTokenMaxLifetimeDays?: number | null;
}

@ObjectType({ description: 'Who the API thinks you are.' })
export class Viewer {
  @Field(() => OrganizationModel) organization: OrganizationModel;
  @Field() tokenName: string;
  @Field(() => Role) role: Role;
}

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
