// Proves that applying prisma/migrations yields exactly the database schema.prisma describes, so a model
// or field added to schema.prisma without a migration (or a migration that does something the schema
// does not say) fails here. Two independent checks:
//   1. our DMMF -> expected-catalog mapping (test/support/schema-drift.ts) against the migrated database;
//   2. the migrated database against one built by Prisma's own schema engine (wasm) from schema.prisma.
// The comparison itself is shown to catch drift with deliberately altered schemas.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { compareSchemas, type Dmmf, type DmmfField, expectedSchema, loadDmmf, readDatabaseSchema, SCHEMA_PATH, type SchemaInfo } from '../../support/schema-drift';

jest.setTimeout(60_000);
const root = join(__dirname, '..', '..', '..');
const run = promisify(execFile);

let db: TestDatabase;
let client: Client;
let dmmf: Dmmf;
let actual: SchemaInfo;

beforeAll(async () => {
  db = await createTestDatabase();
  client = new Client({ connectionString: db.url });
  await client.connect();
  dmmf = loadDmmf();
  actual = await readDatabaseSchema(client);
});

afterAll(async () => {
  await client?.end();
  await db?.drop();
});

/**
 * The differences a deliberately altered copy of the real DMMF has against the real migrated database,
 * less any the unaltered schema already has (so these tests stay independent of the no-drift test).
 */
function driftAfter(edit: (d: Dmmf) => void): string[] {
  const baseline = new Set(compareSchemas(expectedSchema(dmmf), actual));
  const altered = structuredClone(dmmf);
  edit(altered);
  return compareSchemas(expectedSchema(altered), actual).filter((d) => !baseline.has(d));
}
const model = (d: Dmmf, name: string) => d.datamodel.models.find((m) => m.name === name)!;
const fieldOf = (d: Dmmf, m: string, f: string) => model(d, m).fields.find((x) => x.name === f)!;

describe('schema.prisma vs the migrated database', () => {
  it('parses schema.prisma with the same schema wasm the installed prisma CLI uses', () => {
    const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
    const pinned = sha(require.resolve('@prisma/prisma-schema-wasm/src/prisma_schema_build_bg.wasm'));
    const cli = sha(join(root, 'node_modules', 'prisma', 'build', 'prisma_schema_build_bg.wasm'));
    // If this fails after upgrading prisma: pin @prisma/prisma-schema-wasm to the version the new CLI
    // bundles (node_modules/prisma/build/cli.js names it next to "@prisma/prisma-schema-wasm").
    expect(pinned).toBe(cli);
  });

  it('has no drift: every table, column, type, default, key, index and foreign key agrees', () => {
    expect(compareSchemas(expectedSchema(dmmf), actual)).toEqual([]);
  });

  it('read the facts that matter from the database (spot checks of the comparison input)', () => {
    // Every model is a table and every scalar field a column; nothing else besides _prisma_migrations.
    const models = dmmf.datamodel.models;
    expect(Object.keys(actual.tables).sort()).toEqual(models.map((m) => m.name).sort());
    for (const m of models) {
      const scalars = m.fields
        .filter((f) => f.kind !== 'object')
        .map((f) => f.name)
        .sort();
      expect(Object.keys(actual.tables[m.name].columns).sort()).toEqual(scalars);
    }
    const cluster = actual.tables.Cluster;
    expect(cluster.columns.id).toEqual({ type: 'uuid', notNull: true, default: null });
    expect(cluster.columns.siteId).toEqual({ type: 'uuid', notNull: false, default: null });
    expect(cluster.columns.labels).toEqual({ type: 'jsonb', notNull: true, default: 'json:{}' });
    expect(cluster.columns.phase).toEqual({ type: 'enum:ClusterPhase', notNull: true, default: 'literal:PENDING' });
    expect(cluster.columns.nodeCount).toEqual({ type: 'integer', notNull: true, default: 'number:0' });
    expect(cluster.columns.createdAt).toEqual({
      type: 'timestamp(3) with time zone',
      notNull: true,
      default: 'CURRENT_TIMESTAMP',
    });
    expect(cluster.columns.updatedAt.default).toBeNull();
    expect(actual.tables.Site.columns.latitude).toEqual({ type: 'double precision', notNull: false, default: null });
    expect(cluster.primaryKey).toEqual({ name: 'Cluster_pkey', columns: ['id'] });
    expect(cluster.indexes.Cluster_organizationId_name_key).toMatchObject({ unique: true, columns: ['organizationId', 'name'] });
    expect(cluster.foreignKeys.Cluster_siteId_fkey).toEqual({
      columns: ['siteId'],
      refTable: 'Site',
      refColumns: ['id'],
      onDelete: 'RESTRICT',
      onUpdate: 'CASCADE',
    });
    expect(actual.tables.Namespace.foreignKeys.Namespace_clusterId_fkey.onDelete).toBe('CASCADE');
    expect(actual.enums.ClusterPhase).toEqual(['PENDING', 'ATTACHING', 'ATTACHED', 'READY', 'DETACHING', 'DETACHED', 'ERROR']);
    // GIN on labels with the default jsonb_ops (the `?` key-exists operator needs it; jsonb_path_ops lacks it).
    for (const t of ['Site', 'ClusterGroup', 'Cluster', 'Workspace']) {
      expect(actual.tables[t].indexes[`${t}_labels_idx`]).toEqual({
        columns: ['labels'],
        unique: false,
        method: 'gin',
        order: ['ASC'],
        opclasses: ['default'],
      });
    }
  });

  it('the GIN label indexes use jsonb_ops and serve the ? operator', async () => {
    const { rows } = await client.query<{ opcname: string }>(
      `SELECT o.opcname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         JOIN pg_opclass o ON o.oid = i.indclass[0] WHERE c.relname = 'Cluster_labels_idx'`,
    );
    expect(rows).toEqual([{ opcname: 'jsonb_ops' }]);
    await client.query('BEGIN');
    try {
      await client.query('SET LOCAL enable_seqscan = off');
      const plan = await client.query(`EXPLAIN SELECT id FROM "Cluster" WHERE labels ? 'env'`);
      expect(plan.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n')).toContain('Cluster_labels_idx');
    } finally {
      await client.query('ROLLBACK');
    }
  });

  it("matches, object for object, a database built by Prisma's own schema engine from schema.prisma", async () => {
    const { stdout: sql } = await run(process.execPath, [join(root, 'test', 'support', 'prisma-engine.mjs'), 'diff'], {
      env: { ...process.env, DATABASE_URL: db.url },
      maxBuffer: 16 * 1024 * 1024,
    });
    expect(sql).toContain('CREATE TABLE "Cluster"');
    const reference = await createTestDatabase({ migrated: false });
    const ref = new Client({ connectionString: reference.url });
    try {
      await ref.connect();
      await ref.query(sql);
      const prismaBuilt = await readDatabaseSchema(ref);
      expect(actual).toEqual(prismaBuilt);
      expect(compareSchemas(expectedSchema(dmmf), prismaBuilt)).toEqual([]);
    } finally {
      await ref.end();
      await reference.drop();
    }
  });
});

describe('the comparison catches drift (altered schema, real migrated database)', () => {
  it('a field added to schema.prisma without a migration', () => {
    const diffs = driftAfter((d) => {
      const f: DmmfField = { ...fieldOf(d, 'Cluster', 'phaseReason'), name: 'rackPosition' };
      model(d, 'Cluster').fields.push(f);
    });
    expect(diffs).toEqual(['column Cluster.rackPosition: in schema.prisma, missing in the database']);
  });

  it('a schema.prisma file edited without a migration (through the real parser)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'farpoint-drift-'));
    try {
      const edited = readFileSync(SCHEMA_PATH, 'utf8')
        .replace(/(model Cluster \{\n)/, '$1  maintenanceWindow String?\n')
        .replace(/(model Event \{\n)/, '$1  correlationId String? @unique\n');
      const path = join(dir, 'schema.prisma');
      writeFileSync(path, edited);
      const baseline = new Set(compareSchemas(expectedSchema(dmmf), actual));
      expect(compareSchemas(expectedSchema(loadDmmf(path)), actual).filter((d) => !baseline.has(d))).toEqual([
        'column Cluster.maintenanceWindow: in schema.prisma, missing in the database',
        'column Event.correlationId: in schema.prisma, missing in the database',
        'index Event_correlationId_key on Event: in schema.prisma, missing in the database',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a new model, and a column the schema no longer has', () => {
    const diffs = driftAfter((d) => {
      d.datamodel.models.push({ ...structuredClone(model(d, 'Workspace')), name: 'Fleet', fields: [fieldOf(d, 'Workspace', 'id')] });
      model(d, 'Event').fields = model(d, 'Event').fields.filter((f) => f.name !== 'severity');
    });
    expect(diffs).toEqual(['column Event.severity: in the database, not in schema.prisma', 'table Fleet: in schema.prisma, missing in the database']);
  });

  it('type, nullability and default changes', () => {
    const diffs = driftAfter((d) => {
      fieldOf(d, 'Cluster', 'nodeCount').type = 'BigInt';
      fieldOf(d, 'Cluster', 'description').isRequired = true;
      fieldOf(d, 'Site', 'heartbeatIntervalSeconds').default = 30;
      fieldOf(d, 'Event', 'objectId').nativeType = null; // String without @db.Uuid is text
    });
    expect(diffs).toEqual([
      'column Cluster.description: notNull is false in the database, schema.prisma says true',
      'column Cluster.nodeCount: type is "integer" in the database, schema.prisma says "bigint"',
      'column Event.objectId: type is "uuid" in the database, schema.prisma says "text"',
      'column Site.heartbeatIntervalSeconds: default is "number:20" in the database, schema.prisma says "number:30"',
    ]);
  });

  it('enum values, index definitions and referential actions', () => {
    const diffs = driftAfter((d) => {
      d.datamodel.enums.find((e) => e.name === 'ClusterHealth')!.values.push({ name: 'DEGRADED', dbName: null });
      const gin = d.datamodel.indexes.find((i) => i.model === 'Site' && i.algorithm === 'Gin')!;
      gin.fields[0].operatorClass = 'JsonbPathOps';
      d.datamodel.indexes = d.datamodel.indexes.filter((i) => !(i.model === 'Workspace' && i.algorithm === 'Gin'));
      fieldOf(d, 'Cluster', 'site').relationOnDelete = 'SetNull';
    });
    expect(diffs).toEqual([
      'enum ClusterHealth: values is ["HEALTHY","WARNING","UNHEALTHY","DISCONNECTED","UNKNOWN"] in the database, schema.prisma says ["HEALTHY","WARNING","UNHEALTHY","DISCONNECTED","UNKNOWN","DEGRADED"]',
      'foreign key Cluster_siteId_fkey: onDelete is "RESTRICT" in the database, schema.prisma says "SET NULL"',
      'index Site_labels_idx: opclasses is ["default"] in the database, schema.prisma says ["jsonb_path_ops"]',
      'index Workspace_labels_idx on Workspace: in the database, not in schema.prisma',
    ]);
  });
});
