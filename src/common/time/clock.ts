import { Injectable } from '@nestjs/common';

/** The current time, as a provider: services that decide by the clock take it, so tests can fix it. */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }
}
