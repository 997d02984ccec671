import { eventually } from '../../dev/eventually';
import { FakeAgentKube } from '../testing/fakes';
import { capturedLog, FAST_BACKOFF } from '../testing/loops';
import { detachFromCluster, detachUntilDone } from './detach';

/** An acknowledgement that records itself among the kube calls, so the order shows; fails the first `failures` times. */
function acknowledgement(kube: FakeAgentKube, failures = 0) {
  let left = failures;
  return async () => {
    kube.calls.push('acknowledge detach');
    if (left-- > 0) {
      throw new Error('POST /agent/v1/detach/ack failed: ECONNREFUSED');
    }
  };
}

describe(detachFromCluster.name, () => {
  it('deletes the webhook configuration, then the binding of the adopted role (which takes the role), acknowledges, then deletes the namespace', async () => {
    const kube = new FakeAgentKube();
    const { log } = capturedLog();
    await detachFromCluster(kube, 'farpoint-system', log, acknowledgement(kube));
    expect(kube.calls.filter((c) => c.startsWith('delete') || c.startsWith('patch') || c.startsWith('acknowledge'))).toEqual([
      'delete validatingwebhookconfiguration farpoint-agent',
      'patch clusterrole farpoint-agent',
      'delete clusterrolebinding farpoint-agent',
      'acknowledge detach',
      'delete namespace farpoint-system',
    ]);
    expect(kube.binding).toBeNull();
    expect(kube.role).toBeNull();
  });

  it('warns that the ClusterRole stays when it cannot be adopted, and still deletes the binding', async () => {
    const kube = new FakeAgentKube();
    kube.rbacForbidden = true;
    const { log, logs } = capturedLog();
    await detachFromCluster(kube, 'farpoint-system', log, acknowledgement(kube));
    expect(logs).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'detach: the ClusterRole farpoint-agent is not owned by its binding and will remain' }));
    expect(kube.binding).toBeNull();
  });
});

describe(detachUntilDone.name, () => {
  it('retries each failed step on its own and never repeats one that succeeded', async () => {
    const kube = new FakeAgentKube();
    kube.failEachDetachStepOnce = true;
    const { log, logs } = capturedLog();
    expect(await detachUntilDone(kube, 'farpoint-system', log, FAST_BACKOFF, new AbortController().signal, acknowledgement(kube))).toBe(true);
    expect(kube.nonAdoptionCalls).toEqual([
      'delete validatingwebhookconfiguration farpoint-agent',
      'delete clusterrolebinding farpoint-agent',
      'acknowledge detach',
      'delete namespace farpoint-system',
    ]);
    expect(logs.filter((l) => l.msg === 'detach failed; retrying')).toHaveLength(3);
  });

  it('keeps the namespace (and with it the credential) until the API has the acknowledgement, retrying it alone', async () => {
    const kube = new FakeAgentKube();
    const { log } = capturedLog();
    expect(await detachUntilDone(kube, 'farpoint-system', log, FAST_BACKOFF, new AbortController().signal, acknowledgement(kube, 2))).toBe(true);
    expect(kube.calls.filter((c) => c.startsWith('delete') || c.startsWith('acknowledge'))).toEqual([
      'delete validatingwebhookconfiguration farpoint-agent',
      'delete clusterrolebinding farpoint-agent',
      'acknowledge detach',
      'acknowledge detach',
      'acknowledge detach',
      'delete namespace farpoint-system',
    ]);
  });

  it('answers false when the agent stops before detach is done', async () => {
    const kube = new FakeAgentKube();
    kube.failDetachSteps = Infinity;
    const { log, logs } = capturedLog();
    const controller = new AbortController();
    const detaching = detachUntilDone(kube, 'farpoint-system', log, FAST_BACKOFF, controller.signal, acknowledgement(kube));
    await eventually(() => logs.some((l) => l.msg === 'detach failed; retrying'), { what: 'a failed attempt' });
    controller.abort();
    expect(await detaching).toBe(false);
    expect(kube.binding).not.toBeNull();
  });
});
