import type { V1Pod } from '@kubernetes/client-node';
import { InventorySchema, summarizeInventory } from '../../protocol/inventory';
import { AgentProtocolLimits } from '../../protocol/limits';
import { ReportsRequestSchema } from '../../protocol/reports';
import { TEST_CLUSTER_ID } from '../../protocol/testing/factories';
import { buildInventory, limitLabels, nodeRoles, podRequests } from './inventory-builder';
import { namespace, tkgClusterObjects } from '../testing/cluster-objects';

describe(buildInventory.name, () => {
  const objects = tkgClusterObjects();
  const inventory = buildInventory(objects, 'v1.31.4+vmware.1');

  it('builds a valid, sorted TKG inventory from the informer objects', () => {
    expect(InventorySchema.safeParse(inventory).success).toBe(true);
    expect(inventory.distribution).toBe('TKG');
    expect(inventory.kubernetesVersion).toBe('v1.31.4+vmware.1');
    expect(inventory.namespaces.map((n) => n.name)).toEqual([...inventory.namespaces.map((n) => n.name)].sort());
    expect(inventory.nodes).toHaveLength(3);
    expect(inventory.workloads).toHaveLength(14);
  });

  it('converts node capacity to millicores, MiB and pod slots, and keeps conditions without heartbeat times', () => {
    const controlPlane = inventory.nodes.find((n) => n.roles.includes('control-plane'))!;
    expect(controlPlane.capacity).toEqual({ cpuMillis: 2000, memoryMiB: 7957, pods: 110 });
    expect(controlPlane.allocatable).toEqual({ cpuMillis: 2000, memoryMiB: 7857, pods: 110 });
    expect(controlPlane.kubeletVersion).toBe('v1.31.4+vmware.1');
    expect(controlPlane.architecture).toBe('amd64');
    expect(controlPlane.conditions).toContainEqual({
      type: 'Ready',
      status: 'True',
      reason: 'KubeletReady',
      message: 'kubelet is posting ready status',
      lastTransitionTime: '2026-11-20T08:00:00.000Z',
    });
    expect(JSON.stringify(controlPlane)).not.toContain('lastHeartbeatTime');
  });

  it('summarises to the numbers the API stores on the cluster', () => {
    expect(summarizeInventory(inventory)).toEqual({
      nodeCount: 3,
      readyNodeCount: 3,
      allocatableCpuMillis: 10000,
      allocatableMemoryMiB: 7857 + 2 * 15909,
      // Non-terminal pods only: the finished job pod (1 CPU, 1Gi) does not count.
      requestedCpuMillis: 200 + 200 + 100 + 600 + 0 + 200 + 50 + 150 + 120 + 120 + 50 + 750 + 1000 + 100,
      requestedMemoryMiB: 140 + 100 + 200 + 300 + 0 + 0 + 100 + 150 + 100 + 100 + 128 + 768 + 1024 + 128,
      distribution: 'TKG',
      kubernetesVersion: 'v1.31.4+vmware.1',
    });
    expect(inventory.podCountsByPhase).toEqual({ Pending: 1, Running: 23, Succeeded: 1, Failed: 0, Unknown: 0 });
  });

  it('reports desired and ready replicas per workload kind', () => {
    expect(inventory.workloads).toContainEqual({ kind: 'Deployment', namespace: 'default', name: 'pos-web', desiredReplicas: 3, readyReplicas: 2 });
    expect(inventory.workloads).toContainEqual({ kind: 'DaemonSet', namespace: 'kube-system', name: 'antrea-agent', desiredReplicas: 3, readyReplicas: 3 });
    expect(inventory.workloads).toContainEqual({ kind: 'StatefulSet', namespace: 'default', name: 'redis', desiredReplicas: 1, readyReplicas: 1 });
  });

  it('gives the same inventory for list objects (Dates) and watch objects (strings)', () => {
    const fromWatch = JSON.parse(JSON.stringify(objects));
    expect(buildInventory(fromWatch, 'v1.31.4+vmware.1')).toEqual(inventory);
  });

  it('marks terminating namespaces', () => {
    const withTerminating = { ...objects, namespaces: [namespace('old-app', 'Terminating')] };
    expect(buildInventory(withTerminating, 'v1.31.4').namespaces[0].phase).toBe('Terminating');
  });

  // The number quoted in the agent README: a full snapshot of this cluster, as sent.
  it('fits a full snapshot of a 3-node cluster in a small request body', () => {
    const body = {
      clusterId: TEST_CLUSTER_ID,
      agentVersion: '0.1.0',
      sentAt: '2026-11-26T10:00:00.000Z',
      items: [{ seq: 1, observedAt: '2026-11-26T10:00:00.000Z', kind: 'inventory.snapshot' as const, payload: inventory }],
    };
    expect(ReportsRequestSchema.safeParse(body).success).toBe(true);
    const size = Buffer.byteLength(JSON.stringify(body));
    expect(size).toBeGreaterThan(4_000);
    expect(size).toBeLessThan(16 * 1024);
    expect(size).toBeLessThan(AgentProtocolLimits.maxBodyBytes / 100);
  });
});

describe(podRequests.name, () => {
  const pod = (spec: V1Pod['spec']): V1Pod => ({ spec });

  it('adds containers and the pod overhead', () => {
    const r = podRequests(
      pod({
        containers: [
          { name: 'a', resources: { requests: { cpu: '250m', memory: '64Mi' } } },
          { name: 'b', resources: { requests: { cpu: '0.5' } } },
        ],
        overhead: { cpu: '10m', memory: '1Mi' },
      }),
    );
    expect(r).toEqual({ cpuMillis: 760, memoryBytes: 65 * 2 ** 20 });
  });

  it('counts a large init container as the floor and sidecars on top, like the scheduler', () => {
    const r = podRequests(
      pod({
        initContainers: [
          { name: 'migrate', resources: { requests: { cpu: '2', memory: '10Mi' } } },
          { name: 'proxy', restartPolicy: 'Always', resources: { requests: { cpu: '100m', memory: '20Mi' } } },
          { name: 'warmup', resources: { requests: { cpu: '1', memory: '5Mi' } } },
        ],
        containers: [{ name: 'app', resources: { requests: { cpu: '500m', memory: '100Mi' } } }],
      }),
    );
    // CPU: max(app 500 + sidecar 100, migrate 2000, warmup 1000 + sidecar 100) = 2000.
    // Memory: max(100 + 20, 10, 5 + 20) = 120Mi.
    expect(r).toEqual({ cpuMillis: 2000, memoryBytes: 120 * 2 ** 20 });
  });
});

describe('label and role helpers', () => {
  it('keeps the first labels in key order within the protocol limit', () => {
    const labels = Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`k${String(i).padStart(2, '0')}`, 'v']));
    const kept = limitLabels(labels);
    expect(Object.keys(kept)).toHaveLength(AgentProtocolLimits.maxLabelsPerObject);
    expect(Object.keys(kept)[0]).toBe('k00');
    expect(kept).not.toHaveProperty('k69');
  });

  it('reads roles from node-role labels and the legacy kubernetes.io/role label', () => {
    expect(nodeRoles({ 'node-role.kubernetes.io/control-plane': '', 'node-role.kubernetes.io/master': 'true', 'kubernetes.io/role': 'edge' })).toEqual([
      'control-plane',
      'edge',
      'master',
    ]);
  });
});
