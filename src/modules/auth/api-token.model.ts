import { Field, ID, InputType, ObjectType } from '@nestjs/graphql';
import { Role } from './roles';

@ObjectType('ApiToken', { description: 'An API token. The secret itself is only ever shown once, at creation.' })
export class ApiTokenModel {
  @Field(() => ID) id: string;
  @Field() name: string;
  @Field(() => Role) role: Role;
  @Field({ description: 'The first characters of the secret, to tell tokens apart.' }) prefix: string;
  @Field() createdBy: string;
  @Field() createdAt: Date;
  @Field(() => Date, { nullable: true }) expiresAt: Date | null;
  @Field(() => Date, { nullable: true }) lastUsedAt: Date | null;
  @Field(() => Date, { nullable: true }) revokedAt: Date | null;
}

@ObjectType()
export class CreatedApiToken {
  @Field(() => ApiTokenModel) token: ApiTokenModel;
  @Field({ description: 'The secret. Store it now: it is not shown again.' }) secret: string;
}

@InputType()
export class CreateApiTokenInput {
  @Field() name: string;
  @Field(() => Role) role: Role;
  @Field(() => Date, { nullable: true }) expiresAt?: Date | null;
}
