import { Injectable } from '@nestjs/common';
import { Tx } from '../../infra/database/transaction';
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
}
