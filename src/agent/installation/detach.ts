import { AgentObjectNames as N } from '../../agent-install/names';
import type { AgentKube } from '../kube-gateway';
import type { Logger } from '../logger';
import { type BackoffSettings, runLoop } from '../loop';
import { adoptOwnClusterRole } from './rbac-adoption';

/** Steps done so far, kept across retries: once the binding is gone the cluster-scoped calls are forbidden. */
export type DetachProgress = Set<'webhook' | 'binding' | 'acknowledged' | 'namespace'>;

/** Tells the API the detach is done with (POST /detach/ack); throws to be retried. */
export type AcknowledgeDetach = () => Promise<void>;

/**
 * Removes the agent from the cluster, in an order that keeps the permissions each step needs:
 * 1. its ValidatingWebhookConfiguration (so no admission call reaches a missing agent),
 * 2. its ClusterRoleBinding, after making sure its ClusterRole is owned by it (adoption, normally
 *    done at start): the garbage collector then deletes the ClusterRole. Deleting the binding revokes
 *    every cluster-wide permission, so it comes after everything else that needs one,
 * 3. the acknowledgement to the API (the cluster becomes DETACHED, the credential stops working):
 *    after everything cluster-wide is gone, before the namespace takes the agent's pod and Secret with
 *    it — until then a restarted agent still holds a credential the API answers DETACH to,
 * 4. its namespace (authorised by the namespaced Role, which the namespace deletion removes last).
 * Every step tolerates objects that are already gone, so a retry after a partial run completes it.
 */
export async function detachFromCluster(kube: AgentKube, agentNamespace: string, log: Logger, acknowledge: AcknowledgeDetach, progress: DetachProgress = new Set()): Promise<void> {
  if (!progress.has('webhook')) {
    log.info('detach: webhook configuration', { result: await kube.deleteValidatingWebhookConfiguration(N.validatingWebhookConfiguration) });
    progress.add('webhook');
  }
  if (!progress.has('binding')) {
    const adoption = await adoptOwnClusterRole(kube);
    if (adoption === 'not-adoptable') {
      log.warn(`detach: the ClusterRole ${N.clusterRole} is not owned by its binding and will remain`, { adoption });
    }
    log.info('detach: cluster role binding', { adoption, result: await kube.deleteClusterRoleBinding(N.clusterRoleBinding) });
    progress.add('binding');
  }
  if (!progress.has('acknowledged')) {
    await acknowledge();
    log.info('detach: acknowledged to the API');
    progress.add('acknowledged');
  }
  if (!progress.has('namespace')) {
    log.info('detach: namespace', { result: await kube.deleteNamespace(agentNamespace) });
    progress.add('namespace');
  }
  log.info('detached from the cluster');
}

/**
 * Detach until done: a failed step is retried alone after the back-off (steps done are kept in
 * `progress`). Answers false when the agent stopped first.
 */
export async function detachUntilDone(
  kube: AgentKube,
  agentNamespace: string,
  log: Logger,
  backoff: BackoffSettings,
  signal: AbortSignal,
  acknowledge: AcknowledgeDetach,
): Promise<boolean> {
  const progress: DetachProgress = new Set();
  const done = await runLoop(
    { name: 'detach', log, backoff },
    async (ctx) => {
      try {
        await detachFromCluster(kube, agentNamespace, log, acknowledge, progress);
        return { done: true };
      } catch (error) {
        await ctx.retryLater('detach failed', error);
        return 0;
      }
    },
    signal,
  );
  return done === true;
}
