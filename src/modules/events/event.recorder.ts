import { Injectable } from '@nestjs/common';
import { actorOf, Principal } from '../../common/graphql/request-context';
import { Prisma } from '../../generated/prisma/client';
import { Tx } from '../../infra/database/transaction';
import { EventObjectKind, EventType } from './event-types';
import { EventRepository, NewEvent } from './event.repository';

/**
 * Appends Events inside the caller's transaction, so a change and its record commit together:
 * there is never a change without its Event, nor an Event for a change that rolled back.
 */
@Injectable()
export class EventRecorder {
  constructor(private readonly events: EventRepository) {}

  async record(tx: Tx, event: NewEvent): Promise<void> {
    await this.events.append(tx, event);
  }

  /** The Event of a change a caller made to one object of its organization (the common case). */
  async recordChange(tx: Tx, principal: Principal, object: { kind: EventObjectKind; id: string }, type: EventType, message: string, data?: Record<string, unknown>): Promise<void> {
    await this.record(tx, {
      organizationId: principal.organizationId,
      objectKind: object.kind,
      objectId: object.id,
      type,
      message,
      actor: actorOf(principal),
      data: data as Prisma.InputJsonValue | undefined,
    });
  }
}
