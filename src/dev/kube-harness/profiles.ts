import { createHash } from 'node:crypto';
import type { V1Node, V1NodeStatus } from '@kubernetes/client-node';

/**
 * What the Node objects of a test cluster look like. No kubelet runs, so the harness writes the
 * labels, annotations and status a kubelet (plus TKG's Cluster API / vSphere CPI, or k3s) would have
 * written on a real edge cluster, so inventory code sees the same shapes it sees in the field.
 */
export const CLUSTER_PROFILES = ['tkg-3node', 'k3s-1node'] as const;
export type ClusterProfile = (typeof CLUSTER_PROFILES)[number];

export interface NodeFixture {
  readonly node: V1Node;
  readonly status: V1NodeStatus;
}

// Stable pseudo-random suffixes (like Cluster API's machine names) so names survive restarts.
function suffix(seed: string, len: number): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const bytes = createHash('sha256').update(seed).digest();
  return Array.from(bytes.subarray(0, len), (b) => alphabet[b % alphabet.length]).join('');
}

function uuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

interface Shape {
  name: string;
  ip: string;
  arch: 'amd64' | 'arm64';
  cpu: number;
  memoryKi: number;
  ephemeralKi: number;
  kubeletVersion: string;
  osImage: string;
  kernelVersion: string;
  containerRuntimeVersion: string;
  podCIDR: string;
  providerID: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  taints: NonNullable<V1Node['spec']>['taints'];
}

// The kubelet reserves the hard eviction threshold (100Mi) out of memory; ephemeral storage loses 10%.
function build(shape: Shape, now: Date): NodeFixture {
  const memory = `${shape.memoryKi}Ki`;
  const allocatableMemory = `${shape.memoryKi - 100 * 1024}Ki`;
  const capacity = {
    cpu: String(shape.cpu),
    memory,
    pods: '110',
    'ephemeral-storage': `${shape.ephemeralKi}Ki`,
    'hugepages-1Gi': '0',
    'hugepages-2Mi': '0',
  };
  const allocatable = {
    ...capacity,
    memory: allocatableMemory,
    'ephemeral-storage': String(Math.floor(shape.ephemeralKi * 1024 * 0.9)),
  };
  // Kubernetes timestamps have whole seconds.
  const at = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const condition = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: at,
    lastTransitionTime: at,
  });
  return {
    node: {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: shape.name,
        labels: {
          'beta.kubernetes.io/arch': shape.arch,
          'beta.kubernetes.io/os': 'linux',
          'kubernetes.io/arch': shape.arch,
          'kubernetes.io/hostname': shape.name,
          'kubernetes.io/os': 'linux',
          ...shape.labels,
        },
        annotations: {
          'node.alpha.kubernetes.io/ttl': '0',
          'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
          ...shape.annotations,
        },
      },
      spec: { podCIDR: shape.podCIDR, podCIDRs: [shape.podCIDR], providerID: shape.providerID, taints: shape.taints },
    },
    status: {
      capacity,
      allocatable,
      conditions: [
        condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      addresses: [
        { type: 'InternalIP', address: shape.ip },
        { type: 'Hostname', address: shape.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: createHash('md5').update(`machine:${shape.name}`).digest('hex'),
        systemUUID: uuid(`system:${shape.name}`),
        bootID: uuid(`boot:${shape.name}`),
        kernelVersion: shape.kernelVersion,
        osImage: shape.osImage,
        containerRuntimeVersion: shape.containerRuntimeVersion,
        kubeletVersion: shape.kubeletVersion,
        kubeProxyVersion: shape.kubeletVersion,
        operatingSystem: 'linux',
        architecture: shape.arch,
      },
    },
  };
}

/** TKG (Cluster API on vSphere, Antrea, Ubuntu): one control-plane node and a two-node machine deployment. */
function tkg(cluster: string, kubeVersion: string, now: Date): NodeFixture[] {
  const tkr = `${kubeVersion}---vmware.1-tkg.1`;
  const kubeletVersion = `${kubeVersion}+vmware.1`;
  const mdHash = suffix(`${cluster}/md-0`, 10);
  const machines = [
    { name: `${cluster}-control-plane-${suffix(`${cluster}/cp-0`, 5)}`, role: 'control-plane' as const, cpu: 2, memoryKi: 8_148_820 },
    { name: `${cluster}-md-0-${mdHash}-${suffix(`${cluster}/md-0/0`, 5)}`, role: 'worker' as const, cpu: 4, memoryKi: 16_393_388 },
    { name: `${cluster}-md-0-${mdHash}-${suffix(`${cluster}/md-0/1`, 5)}`, role: 'worker' as const, cpu: 4, memoryKi: 16_393_388 },
  ];
  return machines.map((m, i) => {
    const controlPlane = m.role === 'control-plane';
    const esxi = `esxi-${String(i + 1).padStart(2, '0')}.edge.local`;
    return build(
      {
        name: m.name,
        ip: `10.20.0.${11 + i}`,
        arch: 'amd64',
        cpu: m.cpu,
        memoryKi: m.memoryKi,
        ephemeralKi: 40_581_564,
        kubeletVersion,
        osImage: 'Ubuntu 22.04.5 LTS',
        kernelVersion: '5.15.0-126-generic',
        containerRuntimeVersion: 'containerd://1.7.24+vmware.1',
        podCIDR: `100.96.${i}.0/24`,
        providerID: `vsphere://${uuid(`vm:${m.name}`)}`,
        labels: {
          'node.kubernetes.io/instance-type': `vsphere-vm.cpu-${m.cpu}.mem-${Math.round(m.memoryKi / 1024 / 1024)}gb.os-ubuntu`,
          'run.tanzu.vmware.com/tkr': tkr,
          'run.tanzu.vmware.com/kubernetesDistributionVersion': tkr,
          'node.cluster.x-k8s.io/esxi-host': esxi,
          ...(controlPlane ? { 'node-role.kubernetes.io/control-plane': '', 'node.kubernetes.io/exclude-from-external-load-balancers': '' } : {}),
        },
        annotations: {
          'cluster.x-k8s.io/cluster-name': cluster,
          'cluster.x-k8s.io/cluster-namespace': 'default',
          'cluster.x-k8s.io/machine': m.name,
          'cluster.x-k8s.io/owner-kind': controlPlane ? 'KubeadmControlPlane' : 'MachineSet',
          'cluster.x-k8s.io/owner-name': controlPlane ? `${cluster}-control-plane` : `${cluster}-md-0-${mdHash}`,
          'cluster.x-k8s.io/labels-from-machine': 'node.cluster.x-k8s.io/esxi-host',
          'kubeadm.alpha.kubernetes.io/cri-socket': 'unix:///var/run/containerd/containerd.sock',
        },
        taints: controlPlane ? [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] : [],
      },
      now,
    );
  });
}

/** k3s on a single arm64 box: server and agent in one node, flannel, k3s's own containerd. */
function k3s(cluster: string, kubeVersion: string, now: Date): NodeFixture[] {
  const name = `${cluster}-server-0`;
  const ip = '192.168.88.10';
  const kubeletVersion = `${kubeVersion}+k3s1`;
  return [
    build(
      {
        name,
        ip,
        arch: 'arm64',
        cpu: 4,
        memoryKi: 7_998_716,
        ephemeralKi: 61_255_492,
        kubeletVersion,
        osImage: 'Ubuntu 24.04.1 LTS',
        kernelVersion: '6.8.0-1015-raspi',
        containerRuntimeVersion: 'containerd://2.0.4-k3s2',
        podCIDR: '10.42.0.0/24',
        providerID: `k3s://${name}`,
        labels: {
          'beta.kubernetes.io/instance-type': 'k3s',
          'node.kubernetes.io/instance-type': 'k3s',
          'node-role.kubernetes.io/control-plane': 'true',
          'node-role.kubernetes.io/master': 'true',
        },
        annotations: {
          'alpha.kubernetes.io/provided-node-ip': ip,
          'flannel.alpha.coreos.com/backend-data': '{"VNI":1,"VtepMAC":"6a:3f:0c:51:9e:27"}',
          'flannel.alpha.coreos.com/backend-type': 'vxlan',
          'flannel.alpha.coreos.com/kube-subnet-manager': 'true',
          'flannel.alpha.coreos.com/public-ip': ip,
          'k3s.io/hostname': name,
          'k3s.io/internal-ip': ip,
          'k3s.io/node-args': '["server","--write-kubeconfig-mode","0644"]',
          'k3s.io/node-config-hash': suffix(`${name}/config`, 52).toUpperCase(),
          'k3s.io/node-env': `{"K3S_DATA_DIR":"/var/lib/rancher/k3s/data/${suffix(`${name}/data`, 12)}"}`,
        },
        taints: [],
      },
      now,
    ),
  ];
}

/** Node objects for a cluster; kubeVersion is the apiserver's gitVersion without build metadata, e.g. v1.37.2. */
export function nodesForProfile(profile: ClusterProfile, cluster: string, kubeVersion: string, now = new Date()): NodeFixture[] {
  switch (profile) {
    case 'tkg-3node':
      return tkg(cluster, kubeVersion, now);
    case 'k3s-1node':
      return k3s(cluster, kubeVersion, now);
  }
}
