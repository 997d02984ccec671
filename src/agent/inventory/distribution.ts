import type { V1Node } from '@kubernetes/client-node';
import type { Distribution } from '../../protocol/inventory';

/**
 * Which distribution the cluster runs, from what its nodes and apiserver say about themselves:
 * - K3S: kubelet or apiserver version `+k3s…`, label node.kubernetes.io/instance-type=k3s, or `k3s.io/` annotations.
 * - TKG: kubelet or apiserver version `+vmware…`, or `run.tanzu.vmware.com/` labels (TKr labels on every TKG node).
 * Cluster API alone (cluster.x-k8s.io) does not mean TKG.
 */
export function detectDistribution(nodes: readonly V1Node[], serverVersion = ''): Distribution {
  const versions = [serverVersion, ...nodes.map((n) => n.status?.nodeInfo?.kubeletVersion ?? '')];
  const isK3s =
    versions.some((v) => /\+k3s/.test(v)) ||
    nodes.some((n) => n.metadata?.labels?.['node.kubernetes.io/instance-type'] === 'k3s' || Object.keys(n.metadata?.annotations ?? {}).some((k) => k.startsWith('k3s.io/')));
  if (isK3s) {
    return 'K3S';
  }
  const isTkg = versions.some((v) => /\+vmware/.test(v)) || nodes.some((n) => Object.keys(n.metadata?.labels ?? {}).some((k) => k.startsWith('run.tanzu.vmware.com/')));
  return isTkg ? 'TKG' : 'OTHER';
}
