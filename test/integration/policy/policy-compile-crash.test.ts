// A compile survives its worker dying: worker A (a real OS process) is SIGKILLed while opa runs for a
// version; worker B takes the stalled job over and compiles it from the start. The version ends
// COMPILED exactly once: one status change, one Event, one bundle row.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { locateTools } from '../../../src/dev/kube-harness';
import { type Farpoint, startFarpoint, waitFor } from '../attach/support/farpoint';
import { killAllChildren, type Proc } from '../attach/support/processes';
import { compiled, importTemplate } from './support/policy';
import { REQUIRED_LABELS } from './support/templates';

let fp: Farpoint;
let dir: string;
const workers: Proc[] = [];
const logs = () => workers.map((w) => `--- ${w.name}\n${w.tail(30)}`).join('\n');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'farpoint-compile-crash-'));
  fp = await startFarpoint();
}, 300_000);

afterAll(async () => {
  await killAllChildren();
  await fp?.close();
  await rm(dir, { recursive: true, force: true });
}, 60_000);

it('SIGKILL of the worker while opa compiles: a new worker compiles the version exactly once', async () => {
  const opa = (await locateTools()).opa;
  // An opa that stops for a minute on its first `check`, after saying so: the moment to kill the worker.
  const marker = join(dir, 'opa-started');
  const slowOpa = join(dir, 'slow-opa.sh');
  await writeFile(slowOpa, `#!/bin/sh\nif [ "$1" = "check" ]; then echo $$ > "${marker}"; sleep 60; fi\nexec "${opa}" "$@"\n`);
  await chmod(slowOpa, 0o755);
  // No recipes here: only the one version is compiled.
  const recipes = join(dir, 'no-recipes');
  const env = { POLICY_RECIPES_DIR: recipes };

  const workerA = await fp.startWorker({ ...env, OPA_PATH: slowOpa }, 'worker A');
  workers.push(workerA);
  const imported = await importTemplate(fp, REQUIRED_LABELS);
  const versionId = imported.version.id;
  await waitFor(
    'worker A to start opa',
    async () => existsSync(marker),
    (started) => started,
    { intervalMs: 50, context: logs },
  );
  expect((await fp.api.prisma.policyTemplateVersion.findUniqueOrThrow({ where: { id: versionId } })).compileStatus).toBe('COMPILING');

  expect(await workerA.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
  process.kill(Number((await readFile(marker, 'utf8')).trim()), 'SIGKILL'); // the orphaned opa wrapper
  // Nobody finishes the compile for a dead worker.
  expect((await fp.api.prisma.policyTemplateVersion.findUniqueOrThrow({ where: { id: versionId } })).compileStatus).toBe('COMPILING');

  const workerB = await fp.startWorker({ ...env, OPA_PATH: opa }, 'worker B');
  workers.push(workerB);
  const done = await compiled(fp, versionId, logs);
  expect(done).toMatchObject({ compileStatus: 'COMPILED', testsPassed: true, bundle: { entrypoint: 'k8srequiredlabels/violation' } });
  // Both runs are counted: the one that died with worker A and the one worker B finished.
  expect(done.compileAttempts).toBe(2);

  // Exactly once: one bundle row, one compile Event, one version.
  expect(await fp.api.prisma.policyBundle.findMany({ select: { sha256: true } })).toEqual([{ sha256: done.bundle!.sha256 }]);
  const events = await fp.api.prisma.event.findMany({ where: { objectId: versionId }, orderBy: { occurredAt: 'asc' } });
  expect(events.map((e) => e.type)).toEqual(['PolicyTemplateVersionCreated', 'PolicyTemplateVersionCompiled']);
  expect(await fp.api.prisma.policyTemplateVersion.count({ where: { templateId: imported.template.id } })).toBe(1);

  // The job finished (nothing waiting, failed or active), and worker B is still healthy.
  const { Queue } = await import('bullmq');
  const { Redis } = await import('ioredis');
  const connection = new Redis(fp.api.config.REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('policy', { connection, prefix: fp.api.config.QUEUE_PREFIX });
  try {
    expect(await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed')).toEqual({ waiting: 0, active: 0, delayed: 0, failed: 0, completed: 1 });
  } finally {
    await queue.close();
    connection.disconnect();
  }
  expect(workerB.running).toBe(true);
}, 240_000);
