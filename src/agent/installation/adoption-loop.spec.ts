import { isAdoptionRule } from '../../agent-install/rbac';
import { eventually } from '../../dev/eventually';
import { FakeAgentKube } from '../testing/fakes';
import { capturedLog, FAST_BACKOFF, testSession } from '../testing/loops';
import { AdoptionLoop } from './adoption-loop';

function setup(recheckMs = 60_000) {
  const kube = new FakeAgentKube();
  const { log, logs, messages } = capturedLog();
  const loop = new AdoptionLoop({ kube, log, backoff: FAST_BACKOFF, now: Date.now, recheckMs });
  return { kube, logs, messages, loop };
}

/** Makes the next `times` reads of the binding fail as a network error would; answers how many failed. */
function failReads(kube: FakeAgentKube, times: number): () => number {
  const read = kube.readClusterRoleBinding.bind(kube);
  let failed = 0;
  kube.readClusterRoleBinding = async (name) => {
    if (failed < times) {
      failed += 1;
      throw new Error('connect ECONNREFUSED');
    }
    return read(name);
  };
  return () => failed;
}

describe(AdoptionLoop.name, () => {
  it('adopts first of all, retrying a transient failure until it succeeds', async () => {
    const { kube, logs, loop } = setup();
    failReads(kube, 2);
    await loop.adoptFirst(new AbortController().signal);
    expect(kube.role!.rules.some(isAdoptionRule)).toBe(false);
    expect(logs.filter((l) => l.msg === 'cannot adopt the agent ClusterRole; retrying')).toHaveLength(2);
    expect(logs).toContainEqual(expect.objectContaining({ level: 'info', msg: 'adopted the agent ClusterRole: owned by its binding, adoption rule removed' }));
  });

  it('gives up adopting first when the agent stops', async () => {
    const { kube, loop } = setup();
    const failed = failReads(kube, Infinity);
    const controller = new AbortController();
    const adopting = loop.adoptFirst(controller.signal);
    await eventually(() => failed() >= 2, { what: 'two failed attempts' });
    controller.abort();
    await adopting;
    expect(kube.role!.rules.some(isAdoptionRule)).toBe(true);
  });

  it('warns once, not at every check, when the role cannot be adopted', async () => {
    const { kube, logs, loop } = setup();
    kube.rbacForbidden = true;
    await loop.checkOrWarn();
    await loop.checkOrWarn();
    expect(logs.filter((l) => l.msg === 'the agent ClusterRole cannot be adopted; detach will leave it behind')).toEqual([
      expect.objectContaining({ level: 'warn', result: 'not-adoptable' }),
    ]);
  });

  it('logs a transient failure of a check and leaves it to the next one', async () => {
    const { kube, logs, loop } = setup();
    failReads(kube, 1);
    await loop.checkOrWarn();
    expect(logs).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'cannot adopt the agent ClusterRole; retrying later' }));
    await loop.checkOrWarn();
    expect(kube.role!.rules.some(isAdoptionRule)).toBe(false);
  });

  it('removes the adoption rule again while a session runs, when re-applied manifests bring it back', async () => {
    const { kube, loop } = setup(10);
    await loop.adoptFirst(new AbortController().signal);
    const { session, stop } = testSession();
    const running = loop.run(session);
    kube.reapplyManifests();
    await eventually(() => !kube.role!.rules.some(isAdoptionRule), { what: 'the adoption rule to be removed again' });
    stop();
    await running;
    expect(kube.calls.filter((c) => c.startsWith('patch'))).toEqual(['patch clusterrole farpoint-agent', 'patch clusterrole farpoint-agent']);
  });

  it('waits the recheck interval after a check made outside the session (before a registration)', async () => {
    const { kube, loop } = setup(60_000);
    await loop.checkOrWarn();
    const { session, stop } = testSession();
    const calls = kube.calls.length;
    const running = loop.run(session);
    await new Promise((r) => setImmediate(r));
    stop();
    await running;
    expect(kube.calls.length).toBe(calls);
  });
});
