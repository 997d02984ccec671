import { Injectable } from '@nestjs/common';
import { assertIdFilters } from '../../common/validation/ids';
import { Connection, invalidCursor, PageArgs, toConnection, toPageRequest } from '../../common/graphql/pagination';
import { Principal } from '../../common/graphql/request-context';
import { Event } from '../../generated/prisma/client';
import { EventRepository } from './event.repository';

@Injectable()
export class EventService {
  constructor(private readonly events: EventRepository) {}

  /** Events of the caller's organization, newest first. */
  async list(principal: Principal, filter: { objectKind?: string; objectId?: string; type?: string }, page: PageArgs): Promise<Connection<Event>> {
    assertIdFilters({ objectId: filter.objectId });
    const request = toPageRequest(page, 'occurredAt');
    const where = { organizationId: principal.organizationId, ...filter };
    const after = request.after ? { occurredAt: new Date(String(request.after.sortValue)), id: request.after.id } : undefined;
    // A forged cursor whose position is no timestamp is bad input, not a query error.
    if (after && (typeof request.after!.sortValue !== 'string' || Number.isNaN(after.occurredAt.getTime()))) {
      throw invalidCursor();
    }
    const [rows, total] = await Promise.all([this.events.page(where, request.size, after), this.events.count(where)]);
    return toConnection(rows, request, total, 'occurredAt', (e) => e.occurredAt);
  }
}
