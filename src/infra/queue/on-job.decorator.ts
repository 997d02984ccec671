import { SetMetadata } from '@nestjs/common';
import { type JobName } from './jobs';

export const ON_JOB = Symbol('farpoint:on-job');

/** Marks a provider method as the handler of one job; the worker process discovers it at start-up. */
export const OnJob = (name: JobName): MethodDecorator => SetMetadata(ON_JOB, name);
