import { AgentProtocolLimits as L } from '../../protocol/limits';
import type { AdmissionSummaryEntry, AdmissionSummaryPayload } from '../../protocol/reports';
import type { Logger } from '../logger';
import { type BackoffSettings, runLoop } from '../loop';
import type { AdmissionDecision } from './admission-review';

export interface AdmissionSummarySink {
  enqueue(kind: 'admission.summary', payload: AdmissionSummaryPayload): void;
}

export interface AdmissionSummaryDeps {
  sink: AdmissionSummarySink;
  log: Logger;
  backoff: BackoffSettings;
  /** FARPOINT_ADMISSION_SUMMARY_SECONDS: one summary item per window at most. */
  windowMs: number;
  now: () => number;
}

const ACTION: Record<AdmissionDecision['violated'][number]['action'], AdmissionSummaryEntry['action']> = { deny: 'DENY', warn: 'WARN', dryrun: 'DRYRUN' };

/**
 * The webhook's decisions counted per (assignment or constraint, action, namespace, kind) over a
 * window, with a few sample object names, and reported as one admission.summary item per window that
 * saw any: a busy cluster sends one item a minute, not one per request. Beyond the protocol's entry
 * limit the smallest entries are only counted (droppedEntries). `record` is synchronous and cheap: it
 * runs on the webhook's request path.
 */
export class AdmissionSummaryAggregator {
  private entries = new Map<string, AdmissionSummaryEntry>();
  private windowStart: number;

  constructor(private readonly deps: AdmissionSummaryDeps) {
    this.windowStart = deps.now();
  }

  readonly record = (decision: AdmissionDecision): void => {
    for (const v of decision.violated) {
      const action = ACTION[v.action];
      const namespace = decision.namespace ?? '';
      const key = JSON.stringify([v.assignmentId ?? '', v.constraint, action, namespace, decision.kind]);
      let entry = this.entries.get(key);
      if (!entry) {
        entry = { ...(v.assignmentId ? { assignmentId: v.assignmentId } : {}), constraint: v.constraint, action, namespace, kind: decision.kind, count: 0, samples: [] };
        this.entries.set(key, entry);
      }
      entry.count += 1;
      if (decision.name && entry.samples.length < L.maxAdmissionSamples && !entry.samples.includes(decision.name)) {
        entry.samples.push(decision.name);
      }
    }
  };

  /** Queues the window's summary (if it saw any decision) and starts the next window. */
  flush(): AdmissionSummaryPayload | null {
    const now = this.deps.now();
    const entries = [...this.entries.values()].sort((a, b) => b.count - a.count || a.constraint.localeCompare(b.constraint) || a.namespace.localeCompare(b.namespace));
    const windowStart = this.windowStart;
    this.entries = new Map();
    this.windowStart = now;
    if (entries.length === 0) {
      return null;
    }
    const kept = entries.slice(0, L.maxAdmissionSummaryEntries);
    const payload: AdmissionSummaryPayload = {
      windowStart: new Date(windowStart).toISOString(),
      windowEnd: new Date(now).toISOString(),
      entries: kept,
      droppedEntries: entries.slice(kept.length).reduce((sum, e) => sum + e.count, 0),
    };
    this.deps.sink.enqueue('admission.summary', payload);
    return payload;
  }

  /** Flushes every window until stopped, and once more on the way out so no counted decision is lost. */
  async run(signal: AbortSignal): Promise<void> {
    const { log, backoff, windowMs } = this.deps;
    let first = true;
    await runLoop(
      { name: 'admission summary', log, backoff },
      async () => {
        if (!first) {
          this.flush();
        }
        first = false;
        return windowMs;
      },
      signal,
    );
    this.flush();
  }
}
