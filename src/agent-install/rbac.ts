import type { V1PolicyRule } from '@kubernetes/client-node';
import { AgentObjectNames as N } from './names';

/**
 * Every permission the agent holds, each with why: the one list the install manifests render, the
 * README's table repeats, the agent adopts from, and the RBAC integration test compares the live
 * cluster with. No js-yaml here: the agent imports this file.
 *
 * Nothing here lets the agent hand its permissions to anyone else: it holds no `patch`/`update` on
 * any (Cluster)RoleBinding, no `create`, `bind`, `escalate` or `impersonate`, and after its first
 * start no write on any role either.
 */
export interface DocumentedRule {
  rule: V1PolicyRule;
  /** Who makes the calls (files under src/agent/). */
  usedBy: string;
  why: string;
}

const RBAC = 'rbac.authorization.k8s.io';

/** Cluster-wide rules the agent keeps for its whole life (ClusterRole farpoint-agent, after adoption). */
export const AGENT_CLUSTER_RULE_DOCS: readonly DocumentedRule[] = [
  {
    rule: { apiGroups: [''], resources: ['nodes', 'namespaces', 'pods'], verbs: ['list', 'watch'] },
    usedBy: 'inventory/cluster-watch.ts (informers)',
    why: 'The inventory: nodes and their capacity, namespaces, pod counts and requests.',
  },
  {
    rule: { apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'daemonsets'], verbs: ['list', 'watch'] },
    usedBy: 'inventory/cluster-watch.ts (informers)',
    why: 'The inventory: workloads and their ready replicas.',
  },
  {
    rule: { apiGroups: [''], resources: ['services', 'replicationcontrollers'], verbs: ['list'] },
    usedBy: 'audit/audit-kube.ts (audit of existing objects)',
    why:
      'The audit lists the existing objects of the kinds the constraints match (with pods, namespaces, the workloads above and the Ingresses below): ' +
      'the recipes check Services (NodePort, external IPs) and Ingresses. Kinds it may not list are reported incomplete, never guessed. No Secrets, no ConfigMaps.',
  },
  {
    rule: { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['list'] },
    usedBy: 'audit/audit-kube.ts (audit of existing objects)',
    why: 'The audit: ReplicaSets carry pod templates too.',
  },
  {
    rule: { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: ['list'] },
    usedBy: 'audit/audit-kube.ts (audit of existing objects)',
    why: 'The audit: Jobs and CronJobs carry pod templates.',
  },
  {
    rule: { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: ['list', 'watch'] },
    usedBy: 'admission/inventory-sync.ts (informers)',
    why:
      'data.inventory for referential policies, which decide from other objects (the unique-ingress-host recipe compares ' +
      "an Ingress's hosts with every other Ingress's). A template may read only kinds listed here: the agent cannot grant itself more.",
  },
  {
    rule: { apiGroups: [''], resources: ['namespaces'], resourceNames: ['kube-system'], verbs: ['get'] },
    usedBy: 'identity/identity-loop.ts (registration)',
    why: 'The cluster identity: the kube-system namespace UID sent with registration.',
  },
  {
    rule: {
      apiGroups: ['admissionregistration.k8s.io'],
      resources: ['validatingwebhookconfigurations'],
      resourceNames: [N.validatingWebhookConfiguration],
      verbs: ['get', 'update', 'patch', 'delete'],
    },
    usedBy: 'installation/detach.ts; the admission server of the policy work',
    why:
      'Its own admission webhook configuration, installed empty: the admission server writes its webhooks and ' +
      'the caBundle of the serving certificate it generates (the certificate changes with the pod, so the ' +
      'manifests cannot carry it); detach deletes it first, so no admission call waits for a removed agent. ' +
      '`create` cannot be limited by name, so the manifests create the object.',
  },
  {
    rule: { apiGroups: [RBAC], resources: ['clusterroles'], resourceNames: [N.clusterRole], verbs: ['get'] },
    usedBy: 'installation/rbac-adoption.ts',
    why: 'Reads its own ClusterRole to see whether it is adopted (owned by the binding, adoption rule gone).',
  },
  {
    rule: { apiGroups: [RBAC], resources: ['clusterrolebindings'], resourceNames: [N.clusterRoleBinding], verbs: ['get', 'delete'] },
    usedBy: 'installation/rbac-adoption.ts, installation/detach.ts',
    why:
      'get: the binding UID its ClusterRole is made a dependent of. delete: detach deletes the binding, and the ' +
      'garbage collector deletes the ClusterRole it owns (deleting either one directly would first take away ' +
      'the right to delete the other). Never patch or update: the subjects of a binding are who gets the rules.',
  },
];

/**
 * The one-time adoption rule the install manifests add. On start the agent patches its own ClusterRole
 * to be owned by its ClusterRoleBinding and, in the same patch, to drop this rule. The apiserver lets
 * a role be written only with rules its writer already holds (RBAC escalation check) and refuses an
 * aggregationRule without cluster-admin, so with it the agent can remove rules but never add any.
 */
export const AGENT_ADOPTION_RULE_DOC: DocumentedRule = {
  rule: { apiGroups: [RBAC], resources: ['clusterroles'], resourceNames: [N.clusterRole], verbs: ['patch'] },
  usedBy: 'installation/rbac-adoption.ts (once, then removed)',
  why:
    'Sets ownerReferences of its ClusterRole to its ClusterRoleBinding and removes this rule in the same patch; ' +
    'the UIDs this needs do not exist when `kubectl apply -f <url>` renders the manifests.',
};

/** Rules in farpoint-system (Role farpoint-agent). */
export const AGENT_NAMESPACE_RULE_DOCS: readonly DocumentedRule[] = [
  {
    rule: { apiGroups: [''], resources: ['secrets'], resourceNames: [N.secret], verbs: ['get', 'patch'] },
    usedBy: 'identity/credential-store.ts',
    why: 'Its own Secret: registration token, installation secret, credential, report seq reservations.',
  },
  {
    rule: { apiGroups: [''], resources: ['namespaces'], resourceNames: [N.namespace], verbs: ['delete'] },
    usedBy: 'installation/detach.ts',
    why: 'Detach deletes farpoint-system last (a namespace’s own DELETE is authorised in that namespace).',
  },
];

const rules = (docs: readonly DocumentedRule[]): V1PolicyRule[] => docs.map((d) => structuredClone(d.rule));

/** The agent's cluster-wide rules once it has adopted its ClusterRole. */
export const AGENT_CLUSTER_RULES: V1PolicyRule[] = rules(AGENT_CLUSTER_RULE_DOCS);
export const AGENT_ADOPTION_RULE: V1PolicyRule = structuredClone(AGENT_ADOPTION_RULE_DOC.rule);
/** What the install manifests put into the ClusterRole: the lasting rules plus the adoption rule. */
export const AGENT_INSTALLED_CLUSTER_RULES: V1PolicyRule[] = [...rules(AGENT_CLUSTER_RULE_DOCS), structuredClone(AGENT_ADOPTION_RULE)];
export const AGENT_NAMESPACE_RULES: V1PolicyRule[] = rules(AGENT_NAMESPACE_RULE_DOCS);

const sorted = (list: string[] | undefined) => [...(list ?? [])].sort();

/** Whether two rules grant the same (order of list entries ignored; empty and absent lists equal). */
export function sameRule(a: V1PolicyRule, b: V1PolicyRule): boolean {
  const keys = ['apiGroups', 'resources', 'resourceNames', 'verbs', 'nonResourceURLs'] as const;
  return keys.every((k) => JSON.stringify(sorted(a[k])) === JSON.stringify(sorted(b[k])));
}

export const isAdoptionRule = (rule: V1PolicyRule): boolean => sameRule(rule, AGENT_ADOPTION_RULE);
