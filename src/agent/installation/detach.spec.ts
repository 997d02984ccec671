import { eventually } from '../../dev/eventually';
import { FakeAgentKube } from '../testing/fakes';
import { capturedLog, FAST_BACKOFF } from '../testing/loops';
import { detachFromCluster, detachUntilDone } from './detach';

describe(detachFromCluster.name, () => {
  it('deletes the webhook configuration, then the binding of the adopted role (which takes the role), then the namespace', async () => {
    const kube = new FakeAgentKube();
    const { log } = capturedLog();
    await detachFromCluster(kube, 'farpoint-system', log);
    expect(kube.calls.filter((c) => c.startsWith('delete') || c.startsWith('patch'))).toEqual([
      'delete validatingwebhookconfiguration farpoint-agent',
      'patch clusterrole farpoint-agent',
      'delete clusterrolebinding farpoint-agent',
      'delete namespace farpoint-system',
    ]);
    expect(kube.binding).toBeNull();
    expect(kube.role).toBeNull();
  });

  it('warns that the ClusterRole stays when it cannot be adopted, and still deletes the binding', async () => {
    const kube = new FakeAgentKube();
    kube.rbacForbidden = true;
    const { log, logs } = capturedLog();
    await detachFromCluster(kube, 'farpoint-system', log);
    expect(logs).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'detach: the ClusterRole farpoint-agent is not owned by its binding and will remain' }));
    expect(kube.binding).toBeNull();
  });
});

describe(detachUntilDone.name, () => {
  it('retries each failed step on its own and never repeats one that succeeded', async () => {
    const kube = new FakeAgentKube();
    kube.failEachDetachStepOnce = true;
    const { log, logs } = capturedLog();
    expect(await detachUntilDone(kube, 'farpoint-system', log, FAST_BACKOFF, new AbortController().signal)).toBe(true);
    expect(kube.nonAdoptionCalls).toEqual(['delete validatingwebhookconfiguration farpoint-agent', 'delete clusterrolebinding farpoint-agent', 'delete namespace farpoint-system']);
    expect(logs.filter((l) => l.msg === 'detach failed; retrying')).toHaveLength(3);
  });

  it('answers false when the agent stops before detach is done', async () => {
    const kube = new FakeAgentKube();
    kube.failDetachSteps = Infinity;
    const { log, logs } = capturedLog();
    const controller = new AbortController();
    const detaching = detachUntilDone(kube, 'farpoint-system', log, FAST_BACKOFF, controller.signal);
    await eventually(() => logs.some((l) => l.msg === 'detach failed; retrying'), { what: 'a failed attempt' });
    controller.abort();
    expect(await detaching).toBe(false);
    expect(kube.binding).not.toBeNull();
  });
});
