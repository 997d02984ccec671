import type { V1Node } from '@kubernetes/client-node';
import { nodesForProfile } from '../../dev/kube-harness/profiles';
import { detectDistribution } from './distribution';

const nodes = (profile: 'tkg-3node' | 'k3s-1node'): V1Node[] => nodesForProfile(profile, 'edge', 'v1.31.4').map(({ node, status }) => ({ ...node, status }));

function plainNode(kubeletVersion: string, labels: Record<string, string> = {}): V1Node {
  return { metadata: { name: 'n', labels }, status: { nodeInfo: { kubeletVersion } as never } };
}

describe(detectDistribution.name, () => {
  it('recognises TKG nodes by their TKr labels and vmware kubelet build', () => {
    expect(detectDistribution(nodes('tkg-3node'), 'v1.31.4')).toBe('TKG');
  });

  it('recognises k3s nodes by their annotations, instance type and kubelet build', () => {
    expect(detectDistribution(nodes('k3s-1node'), 'v1.31.4')).toBe('K3S');
  });

  it('recognises each signal on its own', () => {
    expect(detectDistribution([plainNode('v1.30.2+vmware.1')])).toBe('TKG');
    expect(detectDistribution([plainNode('v1.30.2', { 'run.tanzu.vmware.com/tkr': 'v1.30.2---vmware.1' })])).toBe('TKG');
    expect(detectDistribution([plainNode('v1.30.2+k3s1')])).toBe('K3S');
    expect(detectDistribution([plainNode('v1.30.2', { 'node.kubernetes.io/instance-type': 'k3s' })])).toBe('K3S');
    expect(detectDistribution([], 'v1.30.2+k3s1')).toBe('K3S');
  });

  it('answers OTHER for kubeadm, RKE2 and Cluster API clusters that are not TKG', () => {
    expect(detectDistribution([plainNode('v1.30.2')])).toBe('OTHER');
    expect(detectDistribution([plainNode('v1.30.2+rke2r1')])).toBe('OTHER');
    const capi = plainNode('v1.30.2');
    capi.metadata!.annotations = { 'cluster.x-k8s.io/cluster-name': 'edge' };
    expect(detectDistribution([capi])).toBe('OTHER');
    expect(detectDistribution([])).toBe('OTHER');
  });
});
