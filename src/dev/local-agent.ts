import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentEnv, AgentObjectNames } from '../agent-install/names';

/**
 * The agent as a local process standing in for its pod, for clusters without a kubelet (the kube
 * harness): the install manifests create the agent Deployment, but nothing ever runs its pod. The
 * stand-in is configured the way that pod would be — its environment resolved from the installed
 * Deployment (ConfigMap keys, the downward-API namespace, literal values) and its Kubernetes identity
 * the agent's ServiceAccount (a TokenRequest token, as a projected service-account token would be),
 * so the installed RBAC is what it runs with. Only the state directory (the pod's state volume) is
 * the caller's. Used by the attach integration tests and bench/attach.bench.ts.
 *
 *   const agent = await prepareLocalAgent(cluster, stateDir);
 *   spawn(process.execPath, ['dist/src/agent/main.js'], { env: { PATH: process.env.PATH, ...agent.env } });
 */
export interface LocalAgentCluster {
  readonly name: string;
  /** https URL of the apiserver. */
  readonly server: string;
  /** PEM of the CA that signed the apiserver's serving certificate. */
  readonly caPem: string;
  /** An admin client, to read the Deployment and request the ServiceAccount token. */
  readonly kubeConfig: KubeConfig;
}

export interface LocalAgent {
  /** The pod's environment plus FARPOINT_AGENT_STATE_DIR and KUBECONFIG (the ServiceAccount's). */
  readonly env: Record<string, string>;
  readonly kubeconfigPath: string;
}

const N = AgentObjectNames;

/** The agent container's environment as the kubelet would resolve it. Throws if the Deployment is missing. */
async function agentEnvFromDeployment(kubeConfig: KubeConfig, namespace: string = N.namespace): Promise<Record<string, string>> {
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const deployment = await apps.readNamespacedDeployment({ name: N.deployment, namespace });
  const container = deployment.spec?.template.spec?.containers.find((c) => c.name === N.container);
  if (!container) {
    throw new Error(`the agent Deployment ${namespace}/${N.deployment} has no container "${N.container}"`);
  }
  const configMaps = new Map<string, Record<string, string>>();
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    if (variable.value !== undefined) {
      env[variable.name] = variable.value;
    } else if (from?.configMapKeyRef) {
      const { name, key, optional } = from.configMapKeyRef;
      if (!configMaps.has(name!)) {
        configMaps.set(name!, (await core.readNamespacedConfigMap({ name: name!, namespace })).data ?? {});
      }
      const value = configMaps.get(name!)![key];
      if (value === undefined && !optional) {
        throw new Error(`ConfigMap ${namespace}/${name} has no key ${key} for ${variable.name}`);
      }
      if (value !== undefined) {
        env[variable.name] = value;
      }
    } else if (from?.fieldRef?.fieldPath === 'metadata.namespace') {
      env[variable.name] = namespace;
    } else {
      throw new Error(`cannot resolve ${variable.name} of the agent Deployment: ${JSON.stringify(from)}`);
    }
  }
  return env;
}

/** Writes a kubeconfig that authenticates as the agent's ServiceAccount (token valid `ttlSeconds`). */
export async function writeAgentKubeconfig(cluster: LocalAgentCluster, path: string, ttlSeconds = 6 * 3600, namespace: string = N.namespace): Promise<void> {
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  const request = await core.createNamespacedServiceAccountToken({
    name: N.serviceAccount,
    namespace,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: ttlSeconds, audiences: [] } },
  });
  const token = request.status?.token;
  if (!token) {
    throw new Error(`the TokenRequest for ${namespace}/${N.serviceAccount} returned no token`);
  }
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster.name, cluster: { server: cluster.server, 'certificate-authority-data': Buffer.from(cluster.caPem).toString('base64') } }],
    users: [{ name: N.serviceAccount, user: { token } }],
    contexts: [{ name: 'agent', context: { cluster: cluster.name, user: N.serviceAccount, namespace } }],
    'current-context': 'agent',
  };
  await writeFile(path, JSON.stringify(kubeconfig), { mode: 0o600 });
}

/** Environment and kubeconfig for a local agent of a cluster whose install manifests are applied. */
export async function prepareLocalAgent(cluster: LocalAgentCluster, stateDir: string): Promise<LocalAgent> {
  const kubeconfigPath = join(stateDir, 'agent.kubeconfig');
  const [env] = await Promise.all([agentEnvFromDeployment(cluster.kubeConfig), writeAgentKubeconfig(cluster, kubeconfigPath)]);
  return { env: { ...env, [AgentEnv.stateDir]: stateDir, KUBECONFIG: kubeconfigPath }, kubeconfigPath };
}
