import { Injectable } from '@nestjs/common';
import { Event, Prisma } from '../../generated/prisma/client';
import { PrismaService } from '../../infra/database/prisma.service';
import { Tx } from '../../infra/database/transaction';
import type { EventObjectKind, EventType } from './event-types';

export interface NewEvent {
  organizationId: string;
  objectKind: EventObjectKind;
  objectId: string;
  type: EventType;
  message: string;
  actor: string;
  severity?: 'INFO' | 'WARNING' | 'ERROR' | 'SECURITY';
  data?: Prisma.InputJsonValue;
}

export interface EventFilter {
  organizationId: string;
  objectKind?: string;
  objectId?: string;
  objectIds?: string[];
  type?: string;
}

@Injectable()
export class EventRepository {
  constructor(private readonly prisma: PrismaService) {}

  append(tx: Tx, event: NewEvent): Promise<Event> {
    return tx.event.create({ data: { ...event, data: event.data ?? {} } });
  }

  /** Newest first, keyset-paginated on (occurredAt, id). */
  page(filter: EventFilter, size: number, after?: { occurredAt: Date; id: string }): Promise<Event[]> {
    return this.prisma.event.findMany({
      where: {
        ...this.where(filter),
        ...(after ? { OR: [{ occurredAt: { lt: after.occurredAt } }, { occurredAt: after.occurredAt, id: { lt: after.id } }] } : {}),
      },
      orderBy: [{ occurredAt: 'desc' }, { id: 'desc' }],
      take: size + 1,
    });
  }

  count(filter: EventFilter): Promise<number> {
    return this.prisma.event.count({ where: this.where(filter) });
  }

  private where(filter: EventFilter): Prisma.EventWhereInput {
    return {
      organizationId: filter.organizationId,
      ...(filter.objectKind ? { objectKind: filter.objectKind } : {}),
      ...(filter.objectId ? { objectId: filter.objectId } : {}),
      ...(filter.objectIds ? { objectId: { in: filter.objectIds } } : {}),
      ...(filter.type ? { type: filter.type } : {}),
    };
  }
}
