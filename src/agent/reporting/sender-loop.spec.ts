import { makeHeartbeatPayload, TEST_CLUSTER_ID } from '../../protocol/testing/factories';
import type { ReportsRequest } from '../../protocol/reports';
import { AgentApiError } from '../api-client';
import { ServerClock } from '../server-clock';
import { eventually } from '../../dev/eventually';
import { FakeAgentApi } from '../testing/fakes';
import { capturedLog, testCredential, testSession } from '../testing/loops';
import { ReportOutbox } from './outbox';
import { ReportQueue } from './report-queue';
import { SenderLoop, type SenderLoopDeps } from './sender-loop';

const CREDENTIAL = 'fpc_preexisting_credential_0001';

function setup(options: { api?: SenderLoopDeps['api']; backoff?: SenderLoopDeps['backoff'] } = {}) {
  const fake = new FakeAgentApi();
  fake.credentials.set(CREDENTIAL, { revoked: false });
  const queue = new ReportQueue({ maxItems: 1000, maxBytes: 1e6 });
  const { log, logs } = capturedLog();
  const outbox = new ReportOutbox({ queue, saveQueue: async () => undefined, reservations: { saveSeqReservation: async () => undefined }, log, now: Date.now });
  const snapshotRequests: number[] = [];
  const clock = new ServerClock();
  const loop = new SenderLoop({
    api: options.api ?? fake,
    outbox,
    clock,
    log,
    backoff: options.backoff ?? { initialMs: 2, maxMs: 10, random: () => 1 },
    agentVersion: '0.1.0',
    now: Date.now,
    onSnapshotRequested: () => snapshotRequests.push(Date.now()),
  });
  const { session, stop } = testSession({ credential: testCredential({ credential: CREDENTIAL }), heartbeatIntervalMs: 20 });
  let running: Promise<void> | undefined;
  const start = (): void => {
    running = loop.run(session);
  };
  const end = async () => {
    stop();
    await running;
  };
  const heartbeats = (n: number) => {
    for (let i = 0; i < n; i++) {
      outbox.enqueue('heartbeat', makeHeartbeatPayload());
    }
  };
  return { fake, queue, logs, outbox, session, clock, snapshotRequests, start, end, heartbeats };
}

describe(SenderLoop.name, () => {
  it('delivers queued items in seq order with the session credential, and sends new items as they are queued', async () => {
    const { fake, queue, heartbeats, start, end } = setup();
    heartbeats(3);
    start();
    await eventually(() => queue.depth === 0, { what: 'a drained queue' });
    heartbeats(2);
    await eventually(() => fake.stored.length === 5, { what: 'the new items' });
    await end();
    expect(fake.stored.map((i) => i.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('uses the credential rotation put in the holder for the next batch', async () => {
    const { fake, session, heartbeats, start, end } = setup();
    fake.credentials.set('fpc_rotated_credential_000002', { revoked: false });
    heartbeats(1);
    start();
    await eventually(() => fake.stored.length === 1, { what: 'a first batch' });
    session.credential.replace(testCredential({ credential: 'fpc_rotated_credential_000002' }));
    fake.credentials.get(CREDENTIAL)!.revoked = true;
    heartbeats(1);
    await eventually(() => fake.stored.length === 2, { what: 'a batch with the rotated credential' });
    await end();
  });

  it('keeps items while the API is unreachable, backing off, and delivers them in order when it is back', async () => {
    const { fake, queue, logs, heartbeats, start, end } = setup();
    fake.offline = true;
    heartbeats(3);
    start();
    await eventually(() => logs.filter((l) => l.msg === 'sending reports failed; retrying').length >= 3, { what: 'failed attempts' });
    expect(queue.depth).toBe(3);
    fake.offline = false;
    await eventually(() => queue.depth === 0, { what: 'a drained queue' });
    await end();
    expect(fake.stored.map((i) => i.seq)).toEqual([1, 2, 3]);
    const delays = logs.filter((l) => l.msg === 'sending reports failed; retrying').map((l) => l.delayMs);
    expect(delays.slice(0, 3)).toEqual([2, 4, 8]);
  });

  it('waits as long as Retry-After asks', async () => {
    const fake = new FakeAgentApi();
    fake.credentials.set(CREDENTIAL, { revoked: false });
    let limited = 1;
    const api = {
      sendReports: (credential: string, request: ReportsRequest) => {
        if (limited-- > 0) {
          return Promise.reject(new AgentApiError('http', 'RATE_LIMITED', 429, 'RATE_LIMITED', 30));
        }
        return fake.sendReports(credential, request);
      },
    };
    const { queue, logs, heartbeats, start, end } = setup({ api, backoff: { initialMs: 2, maxMs: 1000, random: () => 1 } });
    heartbeats(1);
    start();
    await eventually(() => queue.depth === 0, { what: 'a drained queue' });
    await end();
    expect(logs).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'sending reports failed; retrying', delayMs: 30 }));
  });

  it('ends the session when the API rejects the credential', async () => {
    const { fake, logs, session, heartbeats, start } = setup();
    fake.revokeAll();
    heartbeats(1);
    start();
    await eventually(() => session.signal.aborted, { what: 'the session to end' });
    expect(session.outcome).toEqual({ kind: 'credential-rejected', code: 'CREDENTIAL_REVOKED' });
    expect(logs).toContainEqual(
      expect.objectContaining({ level: 'error', msg: 'the API rejected the credential; reporting stopped', code: 'CREDENTIAL_REVOKED', clusterId: TEST_CLUSTER_ID }),
    );
  });

  it('narrows a refused batch down to the refused item, drops it and carries on', async () => {
    const { fake, queue, logs, heartbeats, start, end } = setup();
    heartbeats(5);
    fake.refuseSeq = 2;
    start();
    await eventually(() => queue.depth === 0, { what: 'a drained queue' });
    await end();
    expect(fake.stored.map((i) => i.seq)).toEqual([1, 3, 4, 5]);
    expect(queue.droppedItemCount).toBe(1);
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'the API refused a batch; sending smaller batches', items: 5 }));
    expect(logs).toContainEqual(expect.objectContaining({ level: 'error', msg: 'the API refused a report item; dropped it', seq: 2, kind: 'heartbeat' }));
  });

  it('ends the session on DETACH, and asks for a snapshot on SEND_SNAPSHOT', async () => {
    const { fake, logs, session, snapshotRequests, heartbeats, start } = setup();
    heartbeats(1);
    fake.sendDirective({ type: 'SEND_SNAPSHOT' });
    start();
    await eventually(() => snapshotRequests.length === 1, { what: 'a snapshot request' });
    fake.sendDirective({ type: 'DETACH' });
    heartbeats(1);
    await eventually(() => session.signal.aborted, { what: 'the session to end' });
    expect(session.outcome).toEqual({ kind: 'detach' });
    expect(logs).toContainEqual(expect.objectContaining({ level: 'info', msg: 'detach requested by the API' }));
  });

  it('backs off when the API acknowledges none of the batch, instead of sending it again at once', async () => {
    const fake = new FakeAgentApi();
    fake.credentials.set(CREDENTIAL, { revoked: false });
    let calls = 0;
    const api = {
      sendReports: async () => {
        calls += 1;
        return { body: { ackedSeq: 0, directives: [] }, serverTime: Date.now() };
      },
    };
    const { logs, queue, heartbeats, start, end } = setup({ api });
    heartbeats(1);
    start();
    await eventually(() => calls >= 2, { what: 'a second attempt' });
    await end();
    expect(queue.depth).toBe(1);
    expect(logs).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'the API acknowledged none of the batch; retrying' }));
  });

  it('renumbers the queue when the API has seen higher seqs, follows the API clock and logs unknown directives', async () => {
    const api = {
      sendReports: async (_credential: string, request: ReportsRequest) => ({
        body: { ackedSeq: request.items[0].seq === 1 ? 7000 : request.items.at(-1)!.seq, directives: [] },
        serverTime: Date.now() + 60_000,
        ignoredDirectives: ['UPGRADE'],
      }),
    };
    const { logs, queue, clock, heartbeats, start, end } = setup({ api });
    heartbeats(2);
    start();
    await eventually(() => logs.some((l) => l.msg === 'the API had seen higher sequence numbers; renumbered the queue'), { what: 'the renumbering' });
    await eventually(() => queue.depth === 0, { what: 'a drained queue' });
    await end();
    expect(logs).toContainEqual(expect.objectContaining({ firstSeq: 7001 }));
    expect(logs).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'ignored unknown directives', types: ['UPGRADE'] }));
    expect(clock.serverNow() - Date.now()).toBeGreaterThan(50_000);
  });
});
