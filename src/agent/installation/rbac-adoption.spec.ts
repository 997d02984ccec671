import { AGENT_ADOPTION_RULE, AGENT_CLUSTER_RULES } from '../../agent-install/rbac';
import type { ClusterRoleAdoption } from '../kube-gateway';
import { adoptOwnClusterRole } from './rbac-adoption';
import { FakeAgentKube } from '../testing/fakes';

describe(adoptOwnClusterRole.name, () => {
  it('makes the ClusterRole a dependent of the binding and drops only the adoption rule, in one patch', async () => {
    const kube = new FakeAgentKube();
    expect(await adoptOwnClusterRole(kube)).toBe('adopted');
    expect(kube.role!.ownerReferences).toEqual([{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', name: 'farpoint-agent', uid: kube.binding!.uid }]);
    expect(kube.role!.rules).toEqual(AGENT_CLUSTER_RULES);
    expect(kube.calls.filter((c) => c.startsWith('patch'))).toHaveLength(1);
  });

  it('does nothing once adopted, and cannot patch again (the rule that allowed it is gone)', async () => {
    const kube = new FakeAgentKube();
    await adoptOwnClusterRole(kube);
    kube.calls.length = 0;
    expect(await adoptOwnClusterRole(kube)).toBe('already-adopted');
    expect(kube.calls).toEqual(['get clusterrolebinding farpoint-agent', 'get clusterrole farpoint-agent']);
    const patched = await kube.adoptClusterRole('farpoint-agent', { resourceVersion: kube.role!.resourceVersion, ownerReferences: [], rules: AGENT_CLUSTER_RULES });
    expect(patched).toBe('forbidden');
  });

  it('keeps rules someone else added to the role and owner references to other objects', async () => {
    const kube = new FakeAgentKube();
    const extra = { apiGroups: [''], resources: ['configmaps'], verbs: ['list'] };
    const other = { apiVersion: 'v1', kind: 'Namespace', name: 'farpoint-system', uid: '0c0e0000-0000-4000-8000-000000000001' };
    kube.role = { ...kube.role!, rules: [...kube.role!.rules, extra], ownerReferences: [other] };
    expect(await adoptOwnClusterRole(kube)).toBe('adopted');
    expect(kube.role.rules).toEqual([...AGENT_CLUSTER_RULES, extra]);
    expect(kube.role.ownerReferences.map((r) => r.kind)).toEqual(['Namespace', 'ClusterRoleBinding']);
  });

  it('points a stale owner reference (a recreated binding) at the current binding', async () => {
    const kube = new FakeAgentKube();
    kube.role = {
      ...kube.role!,
      ownerReferences: [{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', name: 'farpoint-agent', uid: '0d1e0000-0000-4000-8000-000000000009' }],
    };
    expect(await adoptOwnClusterRole(kube)).toBe('adopted');
    expect(kube.role.ownerReferences.map((r) => r.uid)).toEqual([kube.binding!.uid]);
  });

  it('re-reads and retries when the role changed between the read and the patch', async () => {
    const kube = new FakeAgentKube();
    const patch = kube.adoptClusterRole.bind(kube);
    let conflicts = 2;
    kube.adoptClusterRole = async (name: string, change: ClusterRoleAdoption) => {
      if (conflicts-- > 0) {
        return 'conflict';
      }
      return patch(name, change);
    };
    expect(await adoptOwnClusterRole(kube)).toBe('adopted');
    expect(kube.calls.filter((c) => c === 'get clusterrole farpoint-agent')).toHaveLength(3);
  });

  it('answers not-installed when the role or the binding is missing, and not-adoptable when it may not read or patch them', async () => {
    const noBinding = new FakeAgentKube();
    noBinding.binding = null;
    expect(await adoptOwnClusterRole(noBinding)).toBe('not-installed');

    const forbidden = new FakeAgentKube();
    forbidden.rbacForbidden = true;
    expect(await adoptOwnClusterRole(forbidden)).toBe('not-adoptable');

    // Not owned, and the adoption rule was removed by hand: the agent cannot write the role.
    const withoutRule = new FakeAgentKube();
    withoutRule.role = { ...withoutRule.role!, rules: AGENT_CLUSTER_RULES };
    expect(await adoptOwnClusterRole(withoutRule)).toBe('not-adoptable');
    expect(withoutRule.calls.filter((c) => c.startsWith('patch'))).toEqual([]);
  });

  it('never sends a rule the role did not already grant', async () => {
    const kube = new FakeAgentKube();
    const sent: ClusterRoleAdoption[] = [];
    const patch = kube.adoptClusterRole.bind(kube);
    kube.adoptClusterRole = async (name: string, change: ClusterRoleAdoption) => {
      sent.push(change);
      return patch(name, change);
    };
    const before = structuredClone(kube.role!.rules);
    await adoptOwnClusterRole(kube);
    expect(sent).toHaveLength(1);
    expect(before).toEqual(expect.arrayContaining(sent[0].rules));
    expect(sent[0].rules).not.toContainEqual(AGENT_ADOPTION_RULE);
  });
});
