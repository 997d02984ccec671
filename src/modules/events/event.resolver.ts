import { Args, Query, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../../common/graphql/current-principal.decorator';
import { Principal } from '../../common/graphql/request-context';
import { RequireRole, Role } from '../auth/roles';
import { EventConnection, EventModel, EventsArgs } from './event.model';
import { EventService } from './event.service';

@Resolver(() => EventModel)
export class EventResolver {
  constructor(private readonly service: EventService) {}

  @Query(() => EventConnection, { description: 'The audit trail of your organization, newest first.' })
  @RequireRole(Role.VIEWER)
  events(@CurrentPrincipal() principal: Principal, @Args() args: EventsArgs) {
    const { first, after, ...filter } = args;
    return this.service.list(principal, filter, { first, after });
  }
}
