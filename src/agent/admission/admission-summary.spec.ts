import type { AdmissionSummaryPayload } from '../../protocol/reports';
import { capturedLog, FAST_BACKOFF } from '../testing/loops';
import type { AdmissionDecision } from './admission-review';
import { AdmissionSummaryAggregator } from './admission-summary';

const A1 = '11111111-1111-4111-8111-111111111111';

function decision(name: string, violated: AdmissionDecision['violated'], namespace = 'shop', kind = 'Pod'): AdmissionDecision {
  return { uid: name, kind, namespace, name, operation: 'CREATE', allowed: !violated.some((v) => v.action === 'deny'), denied: [], warned: [], dryrun: [], violated };
}

function setup() {
  const sent: AdmissionSummaryPayload[] = [];
  let now = Date.parse('2026-12-01T10:00:00Z');
  const aggregator = new AdmissionSummaryAggregator({
    sink: { enqueue: (_kind, payload) => sent.push(payload) },
    log: capturedLog().log,
    backoff: FAST_BACKOFF,
    windowMs: 60_000,
    now: () => now,
  });
  return { sent, aggregator, advance: (ms: number) => (now += ms) };
}

describe('AdmissionSummaryAggregator', () => {
  it('counts decisions per (assignment or constraint, action, namespace, kind) with up to 5 distinct sample names, one item per window', () => {
    const t = setup();
    for (let i = 0; i < 10_000; i++) {
      t.aggregator.record(decision(`web-${i % 7}`, [{ constraint: 'no-latest', assignmentId: A1, action: 'deny' }]));
    }
    t.aggregator.record(decision('legacy', [{ constraint: 'labels', action: 'warn' }], '', 'Namespace'));
    t.aggregator.record(decision('trial', [{ constraint: 'no-latest', assignmentId: A1, action: 'dryrun' }], 'backoffice'));
    t.aggregator.record(decision('fine', []));
    t.advance(60_000);

    const payload = t.aggregator.flush();

    expect(t.sent).toEqual([payload]);
    expect(payload).toEqual({
      windowStart: '2026-12-01T10:00:00.000Z',
      windowEnd: '2026-12-01T10:01:00.000Z',
      entries: [
        { assignmentId: A1, constraint: 'no-latest', action: 'DENY', namespace: 'shop', kind: 'Pod', count: 10_000, samples: ['web-0', 'web-1', 'web-2', 'web-3', 'web-4'] },
        { constraint: 'labels', action: 'WARN', namespace: '', kind: 'Namespace', count: 1, samples: ['legacy'] },
        { assignmentId: A1, constraint: 'no-latest', action: 'DRYRUN', namespace: 'backoffice', kind: 'Pod', count: 1, samples: ['trial'] },
      ],
      droppedEntries: 0,
    });
  });

  it('sends nothing for a window without decisions, and starts the next window at the flush', () => {
    const t = setup();
    t.advance(60_000);
    expect(t.aggregator.flush()).toBeNull();
    t.aggregator.record(decision('web', [{ constraint: 'c', action: 'deny' }]));
    t.advance(30_000);
    expect(t.aggregator.flush()?.windowStart).toBe('2026-12-01T10:01:00.000Z');
    expect(t.sent).toHaveLength(1);
  });

  it('lists at most 200 entries, the largest, and counts the decisions of the rest in droppedEntries', () => {
    const t = setup();
    for (let ns = 0; ns < 250; ns++) {
      for (let n = 0; n <= (ns < 200 ? 2 : 0); n++) {
        t.aggregator.record(decision(`p${n}`, [{ constraint: 'c', action: 'deny' }], `ns-${ns}`));
      }
    }
    const payload = t.aggregator.flush()!;
    expect(payload.entries).toHaveLength(200);
    expect(payload.entries.every((e) => e.count === 3)).toBe(true);
    expect(payload.droppedEntries).toBe(50);
  });

  it('flushes what it counted when stopped', async () => {
    const t = setup();
    const stop = new AbortController();
    const running = t.aggregator.run(stop.signal);
    t.aggregator.record(decision('web', [{ constraint: 'c', action: 'warn' }]));
    stop.abort();
    await running;
    expect(t.sent.map((p) => p.entries[0].count)).toEqual([1]);
  });
});
