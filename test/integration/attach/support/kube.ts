// What the tests read from the harness clusters with their admin kubeconfig: the agent's Secret, the
// objects the install manifests created, Nodes and Namespaces as the apiserver lists them.
import { AdmissionregistrationV1Api, AppsV1Api, CoreV1Api, RbacAuthorizationV1Api, type KubeConfig, type V1PolicyRule } from '@kubernetes/client-node';
import { AGENT_NAME, AGENT_NAMESPACE } from './processes';

export const PART_OF = 'app.kubernetes.io/part-of=farpoint-agent';

/** The agent Secret's keys, decoded; undefined when the Secret does not exist. */
export async function agentSecret(kc: KubeConfig): Promise<Record<string, string> | undefined> {
  try {
    const secret = await kc.makeApiClient(CoreV1Api).readNamespacedSecret({ name: AGENT_NAME, namespace: AGENT_NAMESPACE });
    return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  } catch (error) {
    if ((error as { code?: number }).code === 404) {
      return undefined;
    }
    throw error;
  }
}

/** 'gone' once the namespace reads 404, else its phase (Active, Terminating). */
export async function namespaceState(kc: KubeConfig, name: string): Promise<string> {
  try {
    return (await kc.makeApiClient(CoreV1Api).readNamespace({ name })).status?.phase ?? 'unknown';
  } catch (error) {
    if ((error as { code?: number }).code === 404) {
      return 'gone';
    }
    throw error;
  }
}

/** Names of every object carrying the install manifests' part-of label, by kind. */
export async function installedObjects(kc: KubeConfig): Promise<Record<string, string[]>> {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  const labelSelector = PART_OF;
  const names = (list: { items: { metadata?: { name?: string; namespace?: string } }[] }) =>
    list.items.map((i) => (i.metadata?.namespace ? `${i.metadata.namespace}/${i.metadata.name}` : i.metadata!.name!)).sort();
  const [namespaces, serviceAccounts, secrets, configMaps, deployments, clusterRoles, clusterRoleBindings, roles, roleBindings, webhooks] = await Promise.all([
    core.listNamespace({ labelSelector }),
    core.listServiceAccountForAllNamespaces({ labelSelector }),
    core.listSecretForAllNamespaces({ labelSelector }),
    core.listConfigMapForAllNamespaces({ labelSelector }),
    apps.listDeploymentForAllNamespaces({ labelSelector }),
    rbac.listClusterRole({ labelSelector }),
    rbac.listClusterRoleBinding({ labelSelector }),
    rbac.listRoleForAllNamespaces({ labelSelector }),
    rbac.listRoleBindingForAllNamespaces({ labelSelector }),
    admission.listValidatingWebhookConfiguration({ labelSelector }),
  ]);
  return {
    Namespace: names(namespaces),
    ServiceAccount: names(serviceAccounts),
    Secret: names(secrets),
    ConfigMap: names(configMaps),
    Deployment: names(deployments),
    ClusterRole: names(clusterRoles),
    ClusterRoleBinding: names(clusterRoleBindings),
    Role: names(roles),
    RoleBinding: names(roleBindings),
    ValidatingWebhookConfiguration: names(webhooks),
  };
}

/** What a complete install looks like: one of each object, by its fixed name. */
export const ONE_OF_EACH: Record<string, string[]> = {
  Namespace: [AGENT_NAMESPACE],
  ServiceAccount: [`${AGENT_NAMESPACE}/${AGENT_NAME}`],
  Secret: [`${AGENT_NAMESPACE}/${AGENT_NAME}`],
  ConfigMap: [`${AGENT_NAMESPACE}/farpoint-agent-config`],
  Deployment: [`${AGENT_NAMESPACE}/${AGENT_NAME}`],
  ClusterRole: [AGENT_NAME],
  ClusterRoleBinding: [AGENT_NAME],
  Role: [`${AGENT_NAMESPACE}/${AGENT_NAME}`],
  RoleBinding: [`${AGENT_NAMESPACE}/${AGENT_NAME}`],
  ValidatingWebhookConfiguration: [AGENT_NAME],
};

// Quantities as the harness profiles write them, parsed here independently of the agent's own parser.
function cpuMillisOf(q: string): number {
  const m = /^(\d+)(m?)$/.exec(q);
  if (!m) {
    throw new Error(`unexpected CPU quantity ${q}`);
  }
  return m[2] ? Number(m[1]) : Number(m[1]) * 1000;
}
function memoryMiBOf(q: string): number {
  const m = /^(\d+)(Ki|Mi|Gi)$/.exec(q);
  if (!m) {
    throw new Error(`unexpected memory quantity ${q}`);
  }
  const kib = Number(m[1]) * { Ki: 1, Mi: 1024, Gi: 1024 * 1024 }[m[2] as 'Ki' | 'Mi' | 'Gi'];
  return Math.floor(kib / 1024);
}

/** Nodes as the apiserver lists them, with allocatable CPU (millicores) and memory (whole MiB). */
export async function nodesOf(kc: KubeConfig): Promise<{ name: string; cpuMillis: number; memoryMiB: number }[]> {
  const nodes = await kc.makeApiClient(CoreV1Api).listNode();
  return nodes.items
    .map((n) => ({ name: n.metadata!.name!, cpuMillis: cpuMillisOf(n.status!.allocatable!.cpu), memoryMiB: memoryMiBOf(n.status!.allocatable!.memory) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Requests of the Pods that are not finished (what the agent reports as requested), summed. */
export async function podRequests(kc: KubeConfig): Promise<{ pods: number; cpuMillis: number; memoryMiB: number }> {
  const pods = (await kc.makeApiClient(CoreV1Api).listPodForAllNamespaces()).items.filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
  let cpuMillis = 0;
  let memoryKiB = 0;
  for (const pod of pods) {
    for (const container of pod.spec?.containers ?? []) {
      const requests = container.resources?.requests ?? {};
      if (requests.cpu) {
        cpuMillis += cpuMillisOf(requests.cpu);
      }
      if (requests.memory) {
        memoryKiB += memoryMiBOf(requests.memory) * 1024;
      }
    }
  }
  return { pods: pods.length, cpuMillis, memoryMiB: Math.ceil(memoryKiB / 1024) };
}

export async function namespaceNames(kc: KubeConfig): Promise<string[]> {
  return (await kc.makeApiClient(CoreV1Api).listNamespace()).items.map((n) => n.metadata!.name!).sort();
}

export async function kubeSystemUid(kc: KubeConfig): Promise<string> {
  return (await kc.makeApiClient(CoreV1Api).readNamespace({ name: 'kube-system' })).metadata!.uid!;
}

/** Waits until the installed agent Deployment exists (the queue worker has applied the manifests). */
export async function deploymentExists(kc: KubeConfig): Promise<boolean> {
  try {
    await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: AGENT_NAME, namespace: AGENT_NAMESPACE });
    return true;
  } catch (error) {
    if ((error as { code?: number }).code === 404) {
      return false;
    }
    throw error;
  }
}

/** A policy rule as the apiserver returns it, with empty lists dropped (so it compares with what was applied). */
function normalizedRule(rule: V1PolicyRule): V1PolicyRule {
  return Object.fromEntries(Object.entries(rule).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0))) as unknown as V1PolicyRule;
}

export interface InstalledAgentRbac {
  clusterRole: { uid: string; rules: V1PolicyRule[]; ownerReferences: { apiVersion: string; kind: string; name: string; uid: string }[]; aggregationRule?: unknown };
  clusterRoleBinding: { uid: string; roleRef: unknown; subjects: unknown[] };
  role: { rules: V1PolicyRule[] };
  roleBinding: { roleRef: unknown; subjects: unknown[] };
}

/** The agent's ClusterRole, ClusterRoleBinding, Role and RoleBinding as the apiserver holds them. */
export async function agentRbac(kc: KubeConfig): Promise<InstalledAgentRbac> {
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const [clusterRole, clusterRoleBinding, role, roleBinding] = await Promise.all([
    rbac.readClusterRole({ name: AGENT_NAME }),
    rbac.readClusterRoleBinding({ name: AGENT_NAME }),
    rbac.readNamespacedRole({ name: AGENT_NAME, namespace: AGENT_NAMESPACE }),
    rbac.readNamespacedRoleBinding({ name: AGENT_NAME, namespace: AGENT_NAMESPACE }),
  ]);
  return {
    clusterRole: {
      uid: clusterRole.metadata!.uid!,
      rules: (clusterRole.rules ?? []).map(normalizedRule),
      ownerReferences: (clusterRole.metadata?.ownerReferences ?? []).map(({ apiVersion, kind, name, uid }) => ({ apiVersion, kind, name, uid })),
      ...(clusterRole.aggregationRule ? { aggregationRule: clusterRole.aggregationRule } : {}),
    },
    clusterRoleBinding: { uid: clusterRoleBinding.metadata!.uid!, roleRef: clusterRoleBinding.roleRef, subjects: clusterRoleBinding.subjects ?? [] },
    role: { rules: (role.rules ?? []).map(normalizedRule) },
    roleBinding: { roleRef: roleBinding.roleRef, subjects: roleBinding.subjects ?? [] },
  };
}
