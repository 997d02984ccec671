import type { HeartbeatPayload } from '../../protocol/reports';
import type { Logger } from '../logger';
import { type BackoffSettings, runLoop } from '../loop';
import type { Session } from '../session';
import type { ReportOutbox } from './outbox';

export interface HeartbeatLoopDeps {
  outbox: ReportOutbox;
  log: Logger;
  backoff: BackoffSettings;
  /** When this agent process started (ISO), sent with every heartbeat. */
  startedAt: string;
  /** Whether every informer has listed once. */
  inventorySynced: () => boolean;
  /** The desired-state generation admission runs and why a newer one failed (absent: admission off). */
  desiredState?: () => Pick<HeartbeatPayload, 'desiredStateGeneration' | 'desiredStateError'>;
}

/** Queues a heartbeat at the start of a session and every heartbeat interval after it. */
export class HeartbeatLoop {
  constructor(private readonly deps: HeartbeatLoopDeps) {}

  run(session: Session): Promise<void> {
    const { log, backoff } = this.deps;
    return runLoop(
      { name: 'heartbeat loop', log, backoff },
      async () => {
        this.enqueue();
        return session.heartbeatIntervalMs;
      },
      session.signal,
    );
  }

  /** Queues one heartbeat (synchronously, so it precedes anything queued after the session started). */
  enqueue(): void {
    const { outbox } = this.deps;
    const queue = outbox.queue;
    outbox.enqueue('heartbeat', {
      startedAt: this.deps.startedAt,
      queueDepth: outbox.depth + 1,
      droppedItemCount: queue.droppedItemCount,
      inventorySynced: this.deps.inventorySynced(),
      droppedByKind: queue.droppedByKind,
      ...(queue.oldestObservedAt ? { oldestQueuedAt: queue.oldestObservedAt } : {}),
      ...this.deps.desiredState?.(),
    });
  }
}
