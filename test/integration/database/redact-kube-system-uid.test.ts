// The migration 20261202000000_registration_installation_secret removes the kube-system namespace UID
// from the Events written before it (VIEWERs read Events; a leaked token plus that UID used to be
// enough to repeat a registration). Real Postgres: the migrations before it, Events as the API wrote
// them then, then the migration itself.
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { applyMigrations } from '../../../src/infra/database/migrator';
import { createTestDatabase, type TestDatabase } from '../../support/database';

jest.setTimeout(90_000);
const MIGRATION = '20261202000000_registration_installation_secret';
const realDir = join(__dirname, '..', '..', '..', 'prisma', 'migrations');
const UID = '0d3f7a2e-9c41-4b8e-a5d6-1e2f3a4b5c6d';
const INTRUDER = '7f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b';

let db: TestDatabase;
let before: string;

beforeAll(async () => {
  db = await createTestDatabase({ migrated: false });
  before = mkdtempSync(join(tmpdir(), 'farpoint-migrations-before-'));
  for (const entry of readdirSync(realDir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name < MIGRATION) {
      cpSync(join(realDir, entry.name), join(before, entry.name), { recursive: true });
    }
  }
});

afterAll(async () => {
  await db?.drop();
  rmSync(before, { recursive: true, force: true });
});

async function sql<T extends Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: db.url });
  await c.connect();
  try {
    return (await c.query<T>(text, params)).rows;
  } finally {
    await c.end();
  }
}

it('removes the kube-system UID from AgentRegistered and AgentIdentityMismatch Events, and leaves other Events alone', async () => {
  await applyMigrations(db.url, { migrationsDir: before });
  const [org] = await sql<{ id: string }>(`INSERT INTO "Organization" ("id", "name", "displayName", "updatedAt") VALUES (gen_random_uuid(), 'acme', 'Acme', now()) RETURNING "id"`);
  const event = (type: string, message: string, actor: string, data: Record<string, unknown>) =>
    sql(
      `INSERT INTO "Event" ("id", "organizationId", "objectKind", "objectId", "type", "message", "actor", "data") VALUES (gen_random_uuid(), $1, 'Cluster', gen_random_uuid(), $2, $3, $4, $5)`,
      [org.id, type, message, actor, JSON.stringify(data)],
    );
  // Exactly as the API wrote them before this migration.
  await event('AgentRegistered', `Agent 0.1.0 registered for cluster edge-1 (kube-system UID ${UID})`, 'agent:edge-1', {
    agentVersion: '0.1.0',
    kubeSystemUid: UID,
    credentialId: 'c1',
    repeated: false,
    revokedCredentials: 0,
  });
  await event(
    'AgentIdentityMismatch',
    `An agent in another Kubernetes cluster (kube-system UID ${INTRUDER}) tried to register as cluster edge-1, which was attached from kube-system UID ${UID}; refused`,
    `agent:${INTRUDER}`,
    { expectedKubeSystemUid: UID, presentedKubeSystemUid: INTRUDER, agentVersion: '0.1.0' },
  );
  await event('ClusterCreated', 'Cluster edge-1 created', 'token:admin', { note: 'untouched' });

  expect((await applyMigrations(db.url)).applied[0]).toBe(MIGRATION);

  const rows = await sql<{ type: string; message: string; actor: string; data: unknown }>(`SELECT "type", "message", "actor", "data" FROM "Event" ORDER BY "type"`);
  expect(rows).toEqual([
    {
      type: 'AgentIdentityMismatch',
      message: 'An agent in another Kubernetes cluster (a different kube-system namespace UID) tried to register as cluster edge-1; refused',
      actor: 'agent:unverified',
      data: { agentVersion: '0.1.0' },
    },
    {
      type: 'AgentRegistered',
      message: 'Agent 0.1.0 registered for cluster edge-1',
      actor: 'agent:edge-1',
      data: { agentVersion: '0.1.0', credentialId: 'c1', repeated: false, revokedCredentials: 0 },
    },
    { type: 'ClusterCreated', message: 'Cluster edge-1 created', actor: 'token:admin', data: { note: 'untouched' } },
  ]);
  expect(JSON.stringify(rows)).not.toContain(UID);
  expect(JSON.stringify(rows)).not.toContain(INTRUDER);
});
