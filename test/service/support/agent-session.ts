// The report side of one agent, for service tests of AgentReportsService: numbers items like the
// agent's outbox (seq 1, 2, ...), builds them from the protocol's test factories and hands batches to
// the service as the gateway controller would (the credential row already authenticated).
//
//   const agent = new AgentSession(reports, cluster, credential);
//   await agent.send([agent.snapshot(), agent.heartbeat()]);   // { ackedSeq: 2, directives: [] }
//   await agent.resend();                                      // the same batch again: a replay
import type { AgentCredential, Cluster } from '../../../src/generated/prisma/client';
import type { AgentReportsService } from '../../../src/modules/agent-gateway/agent-reports.service';
import type { Inventory, InventoryDelta, ReportItem, ReportsResponse } from '../../../src/protocol';
import { makeHeartbeatItem, makeInventory, makeReportsRequest } from '../../../src/protocol/testing/factories';

export class AgentSession {
  seq = 0;
  agentVersion = '0.1.0';
  private last?: { items: ReportItem[]; agentVersion: string };

  constructor(
    private readonly reports: AgentReportsService,
    readonly cluster: Pick<Cluster, 'id'>,
    readonly credential: AgentCredential,
  ) {}

  heartbeat(): ReportItem {
    return makeHeartbeatItem(++this.seq);
  }

  snapshot(inventory: Inventory = makeInventory()): ReportItem {
    return { seq: ++this.seq, observedAt: '2026-11-26T10:00:30.000Z', kind: 'inventory.snapshot', payload: inventory };
  }

  delta(payload: InventoryDelta): ReportItem {
    return { seq: ++this.seq, observedAt: '2026-11-26T10:00:40.000Z', kind: 'inventory.delta', payload };
  }

  /** POST /agent/v1/reports with these items; `now` is the server clock the service stamps heartbeats with. */
  send(items: ReportItem[], now = new Date(), overrides: { clusterId?: string } = {}): Promise<ReportsResponse> {
    this.last = { items, agentVersion: this.agentVersion };
    return this.reports.ingest(this.credential, makeReportsRequest(items, { clusterId: this.cluster.id, agentVersion: this.agentVersion, ...overrides }), now);
  }

  /** The last batch again, as an agent does when it did not see the answer. */
  resend(now = new Date()): Promise<ReportsResponse> {
    if (!this.last) {
      throw new Error('nothing was sent yet');
    }
    return this.reports.ingest(this.credential, makeReportsRequest(this.last.items, { clusterId: this.cluster.id, agentVersion: this.last.agentVersion }), now);
  }
}
