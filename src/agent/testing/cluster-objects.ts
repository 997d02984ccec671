/**
 * Realistic Kubernetes objects of a small edge cluster for unit tests: the harness's TKG node
 * shapes, the namespaces a TKG workload cluster starts with, its system workloads, a few apps,
 * and their pods with real request values.
 */
import type { V1DaemonSet, V1Deployment, V1Namespace, V1Node, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { nodesForProfile } from '../../dev/kube-harness/profiles';
import type { ClusterObjects } from '../inventory/inventory-builder';

function uid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export const TKG_NAMESPACES = [
  'default',
  'kube-node-lease',
  'kube-public',
  'kube-system',
  'secretgen-controller',
  'tanzu-package-repo-global',
  'tkg-system',
  'vmware-system-cloud-provider',
  'vmware-system-csi',
  'farpoint-system',
];

export function namespace(name: string, phase: 'Active' | 'Terminating' = 'Active'): V1Namespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, uid: uid(`ns/${name}`), labels: { 'kubernetes.io/metadata.name': name } },
    status: { phase },
  };
}

interface WorkloadSpec {
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet';
  namespace: string;
  name: string;
  replicas: number;
  ready?: number;
  cpu: string;
  memory: string;
}

const WORKLOADS: WorkloadSpec[] = [
  { kind: 'Deployment', namespace: 'kube-system', name: 'coredns', replicas: 2, cpu: '100m', memory: '70Mi' },
  { kind: 'Deployment', namespace: 'kube-system', name: 'antrea-controller', replicas: 1, cpu: '200m', memory: '100Mi' },
  { kind: 'Deployment', namespace: 'kube-system', name: 'metrics-server', replicas: 1, cpu: '100m', memory: '200Mi' },
  { kind: 'DaemonSet', namespace: 'kube-system', name: 'antrea-agent', replicas: 3, cpu: '200m', memory: '100Mi' },
  { kind: 'DaemonSet', namespace: 'kube-system', name: 'kube-proxy', replicas: 3, cpu: '0', memory: '0' },
  { kind: 'DaemonSet', namespace: 'vmware-system-cloud-provider', name: 'vsphere-cloud-controller-manager', replicas: 1, cpu: '200m', memory: '0' },
  { kind: 'Deployment', namespace: 'vmware-system-csi', name: 'vsphere-csi-controller', replicas: 1, cpu: '50m', memory: '100Mi' },
  { kind: 'DaemonSet', namespace: 'vmware-system-csi', name: 'vsphere-csi-node', replicas: 3, cpu: '50m', memory: '50Mi' },
  { kind: 'Deployment', namespace: 'tkg-system', name: 'kapp-controller', replicas: 1, cpu: '120m', memory: '100Mi' },
  { kind: 'Deployment', namespace: 'secretgen-controller', name: 'secretgen-controller', replicas: 1, cpu: '120m', memory: '100Mi' },
  { kind: 'Deployment', namespace: 'farpoint-system', name: 'farpoint-agent', replicas: 1, cpu: '50m', memory: '128Mi' },
  { kind: 'Deployment', namespace: 'default', name: 'pos-web', replicas: 3, ready: 2, cpu: '250m', memory: '256Mi' },
  { kind: 'Deployment', namespace: 'default', name: 'pos-api', replicas: 2, cpu: '500m', memory: '512Mi' },
  { kind: 'StatefulSet', namespace: 'default', name: 'redis', replicas: 1, cpu: '100m', memory: '128Mi' },
];

function workloadObject(w: WorkloadSpec): V1Deployment | V1StatefulSet | V1DaemonSet {
  const ready = w.ready ?? w.replicas;
  const metadata = { name: w.name, namespace: w.namespace, uid: uid(`${w.kind}/${w.namespace}/${w.name}`), labels: { app: w.name } };
  if (w.kind === 'DaemonSet') {
    return {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata,
      status: { currentNumberScheduled: w.replicas, desiredNumberScheduled: w.replicas, numberMisscheduled: 0, numberReady: ready },
    };
  }
  return {
    apiVersion: 'apps/v1',
    kind: w.kind,
    metadata,
    spec: { replicas: w.replicas, selector: { matchLabels: { app: w.name } }, template: { metadata: { labels: { app: w.name } } } },
    status: { replicas: w.replicas, readyReplicas: ready },
  };
}

function podsOf(w: WorkloadSpec, nodeNames: string[]): V1Pod[] {
  const ready = w.ready ?? w.replicas;
  const requests: Record<string, string> = {};
  if (w.cpu !== '0') {
    requests.cpu = w.cpu;
  }
  if (w.memory !== '0') {
    requests.memory = w.memory;
  }
  return Array.from({ length: w.replicas }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${w.name}-${i}`, namespace: w.namespace, uid: uid(`pod/${w.namespace}/${w.name}/${i}`) },
    spec: { nodeName: nodeNames[i % nodeNames.length], containers: [{ name: w.name, image: `${w.name}:1`, resources: { requests } }] },
    status: { phase: i < ready ? 'Running' : 'Pending' },
  }));
}

export function tkgNodes(cluster = 'store-0042', kubeVersion = 'v1.31.4'): V1Node[] {
  return nodesForProfile('tkg-3node', cluster, kubeVersion, new Date('2026-11-20T08:00:00Z')).map(({ node, status }) => ({
    ...node,
    status,
  }));
}

/** A 3-node TKG cluster with its default namespaces, system workloads, three apps and one finished job pod. */
export function tkgClusterObjects(): ClusterObjects {
  const nodes = tkgNodes();
  const names = nodes.map((n) => n.metadata!.name!);
  const completedJobPod: V1Pod = {
    metadata: { name: 'db-migrate-x7k2p', namespace: 'default', uid: uid('pod/job') },
    spec: { containers: [{ name: 'migrate', resources: { requests: { cpu: '1', memory: '1Gi' } } }] },
    status: { phase: 'Succeeded' },
  };
  const workloads = WORKLOADS.map(workloadObject);
  return {
    nodes,
    namespaces: TKG_NAMESPACES.map((n) => namespace(n)),
    pods: [...WORKLOADS.flatMap((w) => podsOf(w, names)), completedJobPod],
    deployments: workloads.filter((w) => w.kind === 'Deployment'),
    statefulsets: workloads.filter((w) => w.kind === 'StatefulSet') as V1StatefulSet[],
    daemonsets: workloads.filter((w) => w.kind === 'DaemonSet') as V1DaemonSet[],
  };
}
