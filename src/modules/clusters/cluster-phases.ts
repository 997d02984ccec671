import type { ClusterPhase } from '../../generated/prisma/enums';

/**
 * The sets of cluster phases that several queries and decisions share, named once. Lifecycle:
 * PENDING/ATTACHING → ATTACHED (registered) → READY (first inventory); DETACHING → DETACHED; ERROR.
 */
const phases = (...list: ClusterPhase[]): ReadonlySet<ClusterPhase> => new Set(list);

/** Waiting for the agent's first registration (ERROR: a failed attach that a new link may retry). */
export const AWAITING_AGENT_PHASES = phases('PENDING', 'ATTACHING', 'ERROR');

/** The agent has registered and reports. */
export const AGENT_REGISTERED_PHASES = phases('ATTACHED', 'READY');

/** An agent reports and is expected to keep doing so: silence beyond the grace means DISCONNECTED. */
export const HEARTBEATING_PHASES = phases('ATTACHED', 'READY', 'DETACHING');

/** An agent is (or may be) running in the cluster whatever else is known: deleting the record would orphan it. */
export const AGENT_MAY_RUN_PHASES = phases('ATTACHING', 'ATTACHED', 'READY', 'DETACHING');

/**
 * Whether an agent may run in the cluster: one of AGENT_MAY_RUN_PHASES, or ERROR after an agent had
 * registered (it knows the kube-system UID), e.g. an attach that gave up just before its agent reported.
 * Detach then asks that agent to remove itself, and delete refuses.
 */
export function agentMayRun(cluster: { phase: ClusterPhase; kubeSystemUid: string | null }): boolean {
  return AGENT_MAY_RUN_PHASES.has(cluster.phase) || (cluster.phase === 'ERROR' && cluster.kubeSystemUid !== null);
}
