import { AgentProtocolLimits } from './limits';
import { DirectiveSchema, ReportsRequestSchema, ReportsResponseSchema } from './reports';
import { makeHeartbeatItem, makeInventory, makeReportsRequest } from './testing/factories';

describe('ReportsRequestSchema', () => {
  it('accepts a batch of heartbeat, snapshot and delta items in seq order', () => {
    const body = makeReportsRequest([
      makeHeartbeatItem(3),
      { seq: 4, observedAt: '2026-11-26T10:00:20+02:00', kind: 'inventory.snapshot', payload: makeInventory() },
      { seq: 9, observedAt: '2026-11-26T10:00:30Z', kind: 'inventory.delta', payload: { requested: { cpuMillis: 1, memoryMiB: 2 } } },
    ]);
    expect(ReportsRequestSchema.safeParse(body).success).toBe(true);
  });

  it('rejects items whose seq does not increase, at the offending item', () => {
    const result = ReportsRequestSchema.safeParse(makeReportsRequest([makeHeartbeatItem(5), makeHeartbeatItem(5)]));
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path)).toEqual([['items', 1, 'seq']]);
  });

  it('rejects unknown item kinds, empty batches and batches over the item limit', () => {
    const unknownKind = makeReportsRequest([{ ...makeHeartbeatItem(1), kind: 'violation' } as never]);
    expect(ReportsRequestSchema.safeParse(unknownKind).success).toBe(false);
    expect(ReportsRequestSchema.safeParse(makeReportsRequest([])).success).toBe(false);
    const tooMany = Array.from({ length: AgentProtocolLimits.maxItemsPerBatch + 1 }, (_, i) => makeHeartbeatItem(i + 1));
    expect(ReportsRequestSchema.safeParse(makeReportsRequest(tooMany)).success).toBe(false);
  });

  it('accepts per-kind drop counts and the oldest queued time in a heartbeat, and refuses bad ones', () => {
    const heartbeat = (payload: Record<string, unknown>) => makeReportsRequest([{ ...makeHeartbeatItem(1), payload: { ...makeHeartbeatItem(1).payload, ...payload } } as never]);
    expect(ReportsRequestSchema.safeParse(heartbeat({ droppedByKind: { heartbeat: 3, 'audit.result': 1 }, oldestQueuedAt: '2026-11-26T09:00:00Z' })).success).toBe(true);
    expect(ReportsRequestSchema.safeParse(heartbeat({ droppedByKind: { 'Not A Kind': 1 } })).success).toBe(false);
    expect(ReportsRequestSchema.safeParse(heartbeat({ droppedByKind: { heartbeat: -1 } })).success).toBe(false);
    const tooManyKinds = Object.fromEntries(Array.from({ length: AgentProtocolLimits.maxDroppedKinds + 1 }, (_, i) => [`kind-${i}`, 1]));
    expect(ReportsRequestSchema.safeParse(heartbeat({ droppedByKind: tooManyKinds })).success).toBe(false);
    expect(ReportsRequestSchema.safeParse(heartbeat({ oldestQueuedAt: 'yesterday' })).success).toBe(false);
  });

  it('rejects seq 0 and fractional seq', () => {
    expect(ReportsRequestSchema.safeParse(makeReportsRequest([makeHeartbeatItem(0)])).success).toBe(false);
    expect(ReportsRequestSchema.safeParse(makeReportsRequest([makeHeartbeatItem(1.5)])).success).toBe(false);
  });
});

describe('ReportsResponseSchema', () => {
  it('accepts an acknowledgement with directives', () => {
    const body = { ackedSeq: 0, directives: [{ type: 'SEND_SNAPSHOT' }, { type: 'DETACH' }] };
    expect(ReportsResponseSchema.parse(body)).toEqual(body);
  });

  it('knows exactly the v1 directive types', () => {
    expect(DirectiveSchema.safeParse({ type: 'DETACH' }).success).toBe(true);
    expect(DirectiveSchema.safeParse({ type: 'UPGRADE' }).success).toBe(false);
  });
});
