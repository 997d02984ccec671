import type { V1OwnerReference } from '@kubernetes/client-node';
import { AgentObjectNames as N } from '../../agent-install/names';
import { isAdoptionRule } from '../../agent-install/rbac';
import type { AgentKube } from '../kube-gateway';

/**
 * - adopted: the ClusterRole is now owned by the binding, and the adoption rule is gone;
 * - already-adopted: nothing to do;
 * - not-installed: the ClusterRole or its binding does not exist;
 * - not-adoptable: the agent may not read them, or the role is not owned and carries no adoption rule
 *   (detach would then leave the ClusterRole behind).
 */
export type AdoptionResult = 'adopted' | 'already-adopted' | 'not-installed' | 'not-adoptable';

const MAX_CONFLICTS = 5;

/**
 * Makes the agent's ClusterRole a dependent of its ClusterRoleBinding and removes the one-time
 * adoption rule, in one patch (see src/agent-install/rbac.ts). Detach then deletes only the binding.
 * Idempotent; re-applied install manifests bring the rule back and the next call removes it again.
 * Throws on transient failures (network, 5xx).
 */
export async function adoptOwnClusterRole(kube: AgentKube): Promise<AdoptionResult> {
  for (let attempt = 1; ; attempt++) {
    const binding = await kube.readClusterRoleBinding(N.clusterRoleBinding);
    const role = await kube.readClusterRole(N.clusterRole);
    if (binding === 'absent' || role === 'absent') {
      return 'not-installed';
    }
    if (binding === 'forbidden' || role === 'forbidden') {
      return 'not-adoptable';
    }

    const owner: V1OwnerReference = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', name: N.clusterRoleBinding, uid: binding.uid };
    const ownsRole = (r: V1OwnerReference) => r.kind === owner.kind && r.name === owner.name;
    const owned = role.ownerReferences.some((r) => ownsRole(r) && r.uid === binding.uid);
    const adoptionRuleLeft = role.rules.some(isAdoptionRule);
    if (owned && !adoptionRuleLeft) {
      return 'already-adopted';
    }
    if (!adoptionRuleLeft) {
      return 'not-adoptable';
    }

    const result = await kube.adoptClusterRole(N.clusterRole, {
      resourceVersion: role.resourceVersion,
      ownerReferences: [...role.ownerReferences.filter((r) => !ownsRole(r)), owner],
      // Only rules the agent holds already: the apiserver's escalation check allows no others.
      rules: role.rules.filter((r) => !isAdoptionRule(r)),
    });
    if (result === 'patched') {
      return 'adopted';
    }
    if (result === 'absent') {
      return 'not-installed';
    }
    if (result === 'forbidden') {
      return 'not-adoptable';
    }
    if (attempt >= MAX_CONFLICTS) {
      throw new Error(`The ClusterRole ${N.clusterRole} kept changing while the agent adopted it`);
    }
  }
}
