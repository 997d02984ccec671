import { Global, Module } from '@nestjs/common';
import { EventRecorder } from './event.recorder';
import { EventRepository } from './event.repository';
import { EventResolver } from './event.resolver';
import { EventService } from './event.service';

@Global()
@Module({ providers: [EventRepository, EventRecorder, EventService, EventResolver], exports: [EventRecorder, EventService, EventRepository] })
export class EventsModule {}
