import { Field, ID, InputType, Int, ObjectType } from '@nestjs/graphql';
import { Role } from '../auth/roles';

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
