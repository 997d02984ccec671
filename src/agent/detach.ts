import { AgentObjectNames as N } from '../agent-install/names';
import type { AgentKube } from './kube-gateway';
import type { Logger } from './logger';

/**
 * Removes the agent from the cluster, in an order that keeps the permissions each step needs:
 * 1. its ValidatingWebhookConfiguration (so no admission call reaches a missing agent),
 * 2. makes its ClusterRoleBinding a dependent of its ClusterRole and deletes the ClusterRole (the
 *    garbage collector deletes the binding; deleting the binding first would revoke the right to
 *    delete the role),
 * 3. its namespace (authorised by the namespaced Role, which the namespace deletion removes last).
 * Every step tolerates objects that are already gone, so a retry after a partial run completes it.
 */
export async function detachFromCluster(kube: AgentKube, agentNamespace: string, log: Logger): Promise<void> {
  const webhook = await kube.deleteValidatingWebhookConfiguration(N.validatingWebhookConfiguration);
  const binding = await kube.makeBindingDependOnRole(N.clusterRoleBinding, N.clusterRole);
  const clusterRole = await kube.deleteClusterRole(N.clusterRole);
  const namespace = await kube.deleteNamespace(agentNamespace);
  log.info('detached from the cluster', { webhook, binding, clusterRole, namespace });
}
