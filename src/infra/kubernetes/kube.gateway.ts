import { Injectable } from '@nestjs/common';
import { KubeConfig, KubernetesObject, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';

/** A kubeconfig that cannot be used, with a sentence saying why (never the kubeconfig itself). */
export class KubeconfigError extends Error {}

/** Why talking to a cluster failed, in words an operator can act on. */
export function describeKubeError(error: unknown, server?: string): string {
  const where = server ? ` at ${server}` : '';
  const e = error as { code?: string; cause?: { code?: string }; statusCode?: number; code_?: number; body?: unknown; message?: string };
  const code = e?.code ?? e?.cause?.code;
  const status = (error as { code?: unknown })?.code && typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : e?.statusCode;
  if (code === 'ECONNREFUSED') return `Cannot reach the Kubernetes API server${where}: connection refused.`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `Cannot resolve the Kubernetes API server host${where}.`;
  if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return `Timed out connecting to the Kubernetes API server${where}.`;
  if (typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) return `The Kubernetes API server${where} presented a certificate the kubeconfig does not trust (${code}).`;
  if (status === 401) return `The kubeconfig's credentials were rejected by the Kubernetes API server${where} (401).`;
  if (status === 403) return `The kubeconfig's user may not install the agent${where} (403 Forbidden): it needs cluster-admin or equivalent.`;
  return `Kubernetes API request failed${where}: ${(e?.message ?? String(error)).slice(0, 300)}`;
}

/** The only place the API and workers talk to member clusters (client-node behind one class). */
@Injectable()
export class KubeGateway {
  /** Parses and checks a kubeconfig without contacting the cluster. */
  parseKubeconfig(text: string): { config: KubeConfig; server: string } {
    if (!text || text.length > 256 * 1024) throw new KubeconfigError('The kubeconfig must be 1 byte to 256 KiB of YAML.');
    const config = new KubeConfig();
    try {
      config.loadFromString(text);
    } catch (error) {
      throw new KubeconfigError(`The kubeconfig is not valid YAML/JSON kubeconfig: ${(error as Error).message.split('\n')[0]}`);
    }
    const context = config.getCurrentContext();
    if (!context || !config.getContextObject(context)) throw new KubeconfigError('The kubeconfig has no current-context.');
    const cluster = config.getCurrentCluster();
    if (!cluster?.server || !/^https?:\/\//.test(cluster.server)) throw new KubeconfigError('The kubeconfig current context has no cluster server URL.');
    if (!config.getCurrentUser()) throw new KubeconfigError('The kubeconfig current context has no user.');
    return { config, server: cluster.server };
  }

  /**
   * Server-side applies objects in order with one field manager: applying the same objects again
   * changes nothing, so a retried or resumed job never duplicates anything in the cluster.
   */
  async apply(config: KubeConfig, objects: KubernetesObject[], fieldManager: string): Promise<void> {
    const api = KubernetesObjectApi.makeApiClient(config);
    for (const object of objects) {
      await api.patch(object, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply);
    }
  }

  /** The kube-system namespace UID: the identity an agent proves when it registers. */
  async kubeSystemUid(config: KubeConfig): Promise<string> {
    const api = KubernetesObjectApi.makeApiClient(config);
    const ns = await api.read({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } });
    return ns.metadata!.uid!;
  }
}
