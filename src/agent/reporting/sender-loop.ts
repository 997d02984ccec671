import { AgentProtocolLimits } from '../../protocol/limits';
import { AgentApiError, type AgentApi } from '../api-client';
import type { Logger } from '../logger';
import { type BackoffSettings, type LoopContext, runLoop } from '../loop';
import type { ServerClock } from '../server-clock';
import type { Session } from '../session';
import type { ReportOutbox } from './outbox';

/** Room for the request envelope around the items in a batch. */
const ENVELOPE_BYTES = 4096;
/** Longest wait for new items before looking at the queue again. */
const IDLE_WAIT_MS = 1000;

export interface SenderLoopDeps {
  api: Pick<AgentApi, 'sendReports'>;
  outbox: ReportOutbox;
  clock: ServerClock;
  log: Logger;
  backoff: BackoffSettings;
  agentVersion: string;
  now: () => number;
  /** SEND_SNAPSHOT. */
  onSnapshotRequested: () => void;
}

/**
 * Report sending: drains the queue to the API in seq order, in batches within the protocol limits,
 * with back-off (Retry-After honoured) while the API is unreachable. A batch the API refuses is
 * halved until the refused item stands alone, which is dropped. Follows the answer's directives:
 * SEND_SNAPSHOT, and DETACH, which ends the session. A rejected credential ends it too.
 */
export class SenderLoop {
  private batchItemLimit: number = AgentProtocolLimits.maxItemsPerBatch;

  constructor(private readonly deps: SenderLoopDeps) {}

  async run(session: Session): Promise<void> {
    const { log, backoff, outbox } = this.deps;
    this.batchItemLimit = AgentProtocolLimits.maxItemsPerBatch;
    await runLoop(
      { name: 'report loop', log, backoff, wakeup: outbox.wakeup },
      async (ctx) => {
        if (outbox.depth === 0) {
          return Math.min(IDLE_WAIT_MS, session.heartbeatIntervalMs);
        }
        await this.sendBatch(session, ctx);
        return 0;
      },
      session.signal,
    );
  }

  private async sendBatch(session: Session, ctx: LoopContext): Promise<void> {
    const { api, outbox, log, clock } = this.deps;
    const queue = outbox.queue;
    const items = queue.peekBatch(this.batchItemLimit, AgentProtocolLimits.maxBodyBytes - ENVELOPE_BYTES);
    let result;
    try {
      result = await api.sendReports(session.credential.current.credential, {
        clusterId: session.credential.clusterId,
        agentVersion: this.deps.agentVersion,
        sentAt: new Date(this.deps.now()).toISOString(),
        items,
      });
    } catch (error) {
      if (error instanceof AgentApiError && error.isCredentialRejected) {
        log.error('the API rejected the credential; reporting stopped', { code: error.code, clusterId: session.credential.clusterId });
        session.end({ kind: 'credential-rejected', code: error.code });
        return;
      }
      if (error instanceof AgentApiError && error.isBodyRejected) {
        if (items.length > 1) {
          // Halve the batch until the item the API refuses stands alone.
          this.batchItemLimit = Math.ceil(items.length / 2);
          log.warn('the API refused a batch; sending smaller batches', { code: error.code, items: items.length });
        } else {
          queue.drop(items[0].seq);
          outbox.persist();
          log.error('the API refused a report item; dropped it', { code: error.code, seq: items[0].seq, kind: items[0].kind, error });
        }
        return;
      }
      await ctx.retryLater('sending reports failed', error, error instanceof AgentApiError ? error.retryAfterMs : undefined);
      return;
    }
    clock.observe(result.serverTime);
    this.batchItemLimit = AgentProtocolLimits.maxItemsPerBatch;
    const ack = queue.acknowledge(result.body.ackedSeq);
    outbox.persist();
    if (ack.kind === 'renumbered') {
      log.warn('the API had seen higher sequence numbers; renumbered the queue', { firstSeq: ack.firstSeq });
    }
    if (result.ignoredDirectives?.length) {
      log.warn('ignored unknown directives', { types: result.ignoredDirectives });
    }
    for (const directive of result.body.directives) {
      if (directive.type === 'SEND_SNAPSHOT') {
        this.deps.onSnapshotRequested();
      } else if (directive.type === 'DETACH') {
        log.info('detach requested by the API');
        session.end({ kind: 'detach' });
        return;
      }
    }
    if (ack.kind === 'trimmed' && ack.removed === 0) {
      // Nothing stored: sending the same batch again at once would spin.
      await ctx.retryLater('the API acknowledged none of the batch', new Error(`ackedSeq ${result.body.ackedSeq}`));
    } else {
      ctx.succeeded();
    }
  }
}
