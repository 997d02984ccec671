import { ArgsType, Field, ID, ObjectType } from '@nestjs/graphql';
import GraphQLJSON from './json.scalar';
import { ConnectionType, PageArgs } from '../../common/graphql/pagination';

@ObjectType('Event', { description: 'Something that happened to an object, and who did it. Append-only.' })
export class EventModel {
  @Field(() => ID) id: string;
  @Field({ description: 'Kind of object, e.g. Cluster, Site, ApiToken.' }) objectKind: string;
  @Field(() => ID) objectId: string;
  @Field({ description: 'What happened, e.g. ClusterCreated, ClusterMoved, ClusterHealthChanged.' }) type: string;
  @Field({ description: 'INFO, WARNING, ERROR or SECURITY.' }) severity: string;
  @Field() message: string;
  @Field({ description: 'Who did it: token:<name>, agent:<cluster>, or system:<job>.' }) actor: string;
  @Field(() => GraphQLJSON) data: unknown;
  @Field() occurredAt: Date;
}

export const EventConnection = ConnectionType(EventModel, 'Event');

@ArgsType()
export class EventsArgs extends PageArgs {
  @Field({ nullable: true }) objectKind?: string;
  @Field(() => ID, { nullable: true }) objectId?: string;
  @Field({ nullable: true }) type?: string;
}
