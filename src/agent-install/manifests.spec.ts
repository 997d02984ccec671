import type { KubernetesObject, V1ClusterRole, V1ConfigMap, V1Deployment, V1PersistentVolumeClaim, V1PolicyRule, V1Role, V1Secret } from '@kubernetes/client-node';
import { loadAll } from 'js-yaml';
import { TEST_CLUSTER_ID, TEST_REGISTRATION_TOKEN } from '../protocol/testing/factories';
import { AgentInstallError, type AgentManifestInput, renderAgentManifests, toYaml } from './manifests';
import { AgentObjectNames as N, AgentSecretKeys } from './names';
import { AGENT_ADOPTION_RULE, AGENT_CLUSTER_RULES, AGENT_NAMESPACE_RULES, isAdoptionRule } from './rbac';

const input: AgentManifestInput = {
  clusterId: TEST_CLUSTER_ID,
  clusterName: 'store-0042',
  apiUrl: 'https://farpoint.example.com',
  registrationToken: TEST_REGISTRATION_TOKEN,
  image: 'registry.example.com/farpoint/agent:0.1.0',
  agentVersion: '0.1.0',
};

function find<T extends KubernetesObject>(objects: KubernetesObject[], kind: string): T {
  const found = objects.filter((o) => o.kind === kind);
  expect(found).toHaveLength(1);
  return found[0] as T;
}

interface Access {
  verb: string;
  group: string;
  resource: string;
  name?: string;
}

/** RBAC rule matching as the apiserver does it (no aggregation, no non-resource URLs). */
function allows(rules: V1PolicyRule[], a: Access): boolean {
  return rules.some(
    (r) =>
      (r.verbs.includes(a.verb) || r.verbs.includes('*')) &&
      (r.apiGroups ?? []).includes(a.group) &&
      (r.resources ?? []).includes(a.resource) &&
      (!r.resourceNames?.length || (a.name !== undefined && r.resourceNames.includes(a.name))),
  );
}

describe(renderAgentManifests.name, () => {
  const objects = renderAgentManifests(input);
  const clusterRules = find<V1ClusterRole>(objects, 'ClusterRole').rules ?? [];
  const namespaceRules = find<V1Role>(objects, 'Role').rules ?? [];

  it('renders the agent objects in apply order, namespace first', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual([
      'Namespace/farpoint-system',
      'ServiceAccount/farpoint-agent',
      'ClusterRole/farpoint-agent',
      'ClusterRoleBinding/farpoint-agent',
      'Role/farpoint-agent',
      'RoleBinding/farpoint-agent',
      'Secret/farpoint-agent',
      'ConfigMap/farpoint-agent-config',
      'ValidatingWebhookConfiguration/farpoint-agent',
      'Deployment/farpoint-agent',
    ]);
  });

  it('labels every object as managed by farpoint and part of farpoint-agent', () => {
    for (const o of objects) {
      expect(o.metadata?.labels).toMatchObject({
        'app.kubernetes.io/managed-by': 'farpoint',
        'app.kubernetes.io/part-of': 'farpoint-agent',
      });
      expect(o.metadata?.annotations?.['farpoint.io/cluster-id']).toBe(TEST_CLUSTER_ID);
    }
  });

  it('grants no wildcard, no create, no escalation verbs, and no secrets outside farpoint-system', () => {
    for (const rule of [...clusterRules, ...namespaceRules]) {
      for (const list of [rule.verbs, rule.apiGroups ?? [], rule.resources ?? [], rule.resourceNames ?? []]) {
        expect(list).not.toContain('*');
      }
      for (const verb of ['create', 'deletecollection', 'escalate', 'bind', 'impersonate']) {
        expect(rule.verbs).not.toContain(verb);
      }
      expect(rule.nonResourceURLs).toBeUndefined();
    }
    expect(clusterRules.flatMap((r) => r.resources ?? [])).not.toContain('secrets');
    expect(allows(clusterRules, { verb: 'list', group: '', resource: 'secrets' })).toBe(false);
    expect(allows(namespaceRules, { verb: 'list', group: '', resource: 'secrets' })).toBe(false);
    expect(allows(namespaceRules, { verb: 'get', group: '', resource: 'secrets', name: 'other' })).toBe(false);
  });

  it('installs the documented rules: the lasting ones plus the one-time adoption rule, and the namespaced ones', () => {
    expect(clusterRules).toEqual([...AGENT_CLUSTER_RULES, AGENT_ADOPTION_RULE]);
    expect(clusterRules.filter(isAdoptionRule)).toHaveLength(1);
    expect(namespaceRules).toEqual(AGENT_NAMESPACE_RULES);
  });

  it('grants no write on any (Cluster)RoleBinding, and no write on any role but the one-time patch of its own', () => {
    const rbac = 'rbac.authorization.k8s.io';
    for (const resource of ['clusterrolebindings', 'rolebindings']) {
      for (const verb of ['update', 'patch']) {
        for (const name of [N.clusterRoleBinding, 'cluster-admin', undefined]) {
          expect(allows(clusterRules, { verb, group: rbac, resource, name })).toBe(false);
          expect(allows(namespaceRules, { verb, group: rbac, resource, name })).toBe(false);
        }
      }
    }
    const roleWrites = [...clusterRules, ...namespaceRules].filter(
      (r) => (r.resources ?? []).some((x) => x === 'clusterroles' || x === 'roles') && r.verbs.some((v) => ['update', 'patch', 'delete'].includes(v)),
    );
    expect(roleWrites).toEqual([AGENT_ADOPTION_RULE]);
    expect(allows(clusterRules, { verb: 'patch', group: rbac, resource: 'clusterroles', name: 'admin' })).toBe(false);
  });

  it('limits every write to the agent’s own objects by name', () => {
    const writes = ['update', 'patch', 'delete'];
    for (const rule of [...clusterRules, ...namespaceRules]) {
      if (rule.verbs.some((v) => writes.includes(v))) {
        expect(rule.resourceNames?.length).toBeGreaterThan(0);
      }
    }
    expect(allows(clusterRules, { verb: 'delete', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', name: 'admin' })).toBe(false);
    expect(allows(namespaceRules, { verb: 'delete', group: '', resource: 'namespaces', name: 'kube-system' })).toBe(false);
    expect(allows(clusterRules, { verb: 'update', group: 'admissionregistration.k8s.io', resource: 'validatingwebhookconfigurations', name: 'x' })).toBe(false);
  });

  it('allows every call the agent makes', () => {
    const clusterWide: Access[] = [
      ...['nodes', 'namespaces', 'pods'].flatMap((resource) => ['list', 'watch'].map((verb) => ({ verb, group: '', resource }))),
      ...['deployments', 'statefulsets', 'daemonsets'].flatMap((resource) => ['list', 'watch'].map((verb) => ({ verb, group: 'apps', resource }))),
      { verb: 'get', group: '', resource: 'namespaces', name: 'kube-system' },
      ...['get', 'update', 'patch', 'delete'].map((verb) => ({
        verb,
        group: 'admissionregistration.k8s.io',
        resource: 'validatingwebhookconfigurations',
        name: N.validatingWebhookConfiguration,
      })),
      { verb: 'get', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', name: N.clusterRole },
      { verb: 'get', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings', name: N.clusterRoleBinding },
      { verb: 'delete', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings', name: N.clusterRoleBinding },
    ];
    // Installed, and after the agent dropped the adoption rule.
    for (const access of clusterWide) {
      expect([access, allows(clusterRules, access), allows(AGENT_CLUSTER_RULES, access)]).toEqual([access, true, true]);
    }
    const adoption = { verb: 'patch', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', name: N.clusterRole };
    expect([allows(clusterRules, adoption), allows(AGENT_CLUSTER_RULES, adoption)]).toEqual([true, false]);
    const inNamespace: Access[] = [
      { verb: 'get', group: '', resource: 'secrets', name: N.secret },
      { verb: 'patch', group: '', resource: 'secrets', name: N.secret },
      // DELETE /api/v1/namespaces/farpoint-system is authorised with namespace farpoint-system.
      { verb: 'delete', group: '', resource: 'namespaces', name: N.namespace },
    ];
    for (const access of inNamespace) {
      expect([access, allows(namespaceRules, access)]).toEqual([access, true]);
    }
  });

  it('puts the registration token in the Secret and the settings in the ConfigMap', () => {
    const secret = find<V1Secret>(objects, 'Secret');
    expect(secret.stringData).toEqual({ [AgentSecretKeys.registrationToken]: TEST_REGISTRATION_TOKEN });
    expect(secret.data).toBeUndefined();
    expect(find<V1ConfigMap>(objects, 'ConfigMap').data).toEqual({
      FARPOINT_API_URL: 'https://farpoint.example.com',
      FARPOINT_CLUSTER_ID: TEST_CLUSTER_ID,
      FARPOINT_CLUSTER_NAME: 'store-0042',
      FARPOINT_HEARTBEAT_INTERVAL_SECONDS: '20',
      FARPOINT_REPORT_INTERVAL_SECONDS: '10',
    });
  });

  it('runs one non-root agent with a read-only root filesystem, resource limits and a state volume', () => {
    const deployment = find<V1Deployment>(objects, 'Deployment');
    expect(deployment.spec?.replicas).toBe(1);
    expect(deployment.spec?.strategy?.type).toBe('Recreate');
    const pod = deployment.spec!.template.spec!;
    expect(pod.serviceAccountName).toBe(N.serviceAccount);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
    const [container] = pod.containers;
    expect(container.image).toBe(input.image);
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.resources?.requests).toEqual({ cpu: '50m', memory: '128Mi' });
    expect(container.resources?.limits).toEqual({ cpu: '500m', memory: '256Mi' });
    expect(container.volumeMounts).toEqual([{ name: 'state', mountPath: '/var/lib/farpoint-agent' }]);
    expect(container.env?.find((e) => e.name === 'FARPOINT_AGENT_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.namespace');
    expect(deployment.spec?.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'farpoint-agent' });
    expect(deployment.spec?.template.metadata?.labels).toMatchObject(deployment.spec!.selector.matchLabels!);
  });

  it('keeps the state on a hostPath by default, handed to the non-root agent by a root init container that may only chown', () => {
    const pod = find<V1Deployment>(objects, 'Deployment').spec!.template.spec!;
    expect(pod.volumes).toContainEqual({ name: 'state', hostPath: { path: '/var/lib/farpoint-agent', type: 'DirectoryOrCreate' } });
    expect(objects.some((o) => o.kind === 'PersistentVolumeClaim')).toBe(false);
    const [init] = pod.initContainers!;
    expect(init.image).toBe(input.image);
    expect(init.securityContext).toEqual({
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: ['CHOWN'] },
    });
    expect(init.command?.at(-1)).toBe('/var/lib/farpoint-agent');
    expect(init.command?.join(' ')).toContain('65532,65532');
    const custom = renderAgentManifests({ ...input, stateVolume: { type: 'hostPath', path: '/data/farpoint' } });
    expect(find<V1Deployment>(custom, 'Deployment').spec!.template.spec!.volumes).toContainEqual({
      name: 'state',
      hostPath: { path: '/data/farpoint', type: 'DirectoryOrCreate' },
    });
  });

  it('keeps the state on a PersistentVolumeClaim when chosen, with no root init container', () => {
    const withClaim = renderAgentManifests({ ...input, stateVolume: { type: 'persistentVolumeClaim', storageClassName: 'local-path', size: '1Gi' } });
    expect(withClaim.map((o) => o.kind).indexOf('PersistentVolumeClaim')).toBeLessThan(withClaim.map((o) => o.kind).indexOf('Deployment'));
    expect(find<V1PersistentVolumeClaim>(withClaim, 'PersistentVolumeClaim')).toMatchObject({
      metadata: { name: 'farpoint-agent-state', namespace: 'farpoint-system' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: 'local-path' },
    });
    const pod = find<V1Deployment>(withClaim, 'Deployment').spec!.template.spec!;
    expect(pod.volumes).toContainEqual({ name: 'state', persistentVolumeClaim: { claimName: 'farpoint-agent-state' } });
    expect(pod.initContainers).toBeUndefined();
    expect(pod.securityContext?.fsGroup).toBe(65532);
    const defaults = renderAgentManifests({ ...input, stateVolume: { type: 'persistentVolumeClaim' } });
    expect(find<V1PersistentVolumeClaim>(defaults, 'PersistentVolumeClaim').spec).toEqual({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '256Mi' } } });
  });

  it('falls back to an emptyDir when chosen', () => {
    const pod = find<V1Deployment>(renderAgentManifests({ ...input, stateVolume: { type: 'emptyDir' } }), 'Deployment').spec!.template.spec!;
    expect(pod.volumes).toEqual([{ name: 'state', emptyDir: { sizeLimit: '64Mi' } }]);
    expect(pod.initContainers).toBeUndefined();
  });

  it('refuses a state path that is relative or climbs, and a malformed claim', () => {
    for (const stateVolume of [
      { type: 'hostPath', path: 'var/lib/x' },
      { type: 'hostPath', path: '/var/lib/../../etc' },
      { type: 'hostPath', path: '/var/lib/x y' },
      { type: 'persistentVolumeClaim', size: '10Ti' },
      { type: 'persistentVolumeClaim', storageClassName: 'Not_A_Class' },
      { type: 'nfs' },
    ] as const) {
      expect(() => renderAgentManifests({ ...input, stateVolume: stateVolume as never })).toThrow(expect.objectContaining({ code: 'AGENT_INSTALL_INVALID_INPUT' }));
    }
  });

  it('mounts a private CA bundle and points Node at it when one is given', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const withCa = renderAgentManifests({ ...input, caBundlePem: pem });
    expect(find<V1ConfigMap>(withCa, 'ConfigMap').data?.['ca.crt']).toBe(pem);
    const container = find<V1Deployment>(withCa, 'Deployment').spec!.template.spec!.containers[0];
    expect(container.env).toContainEqual({ name: 'NODE_EXTRA_CA_CERTS', value: '/etc/farpoint/ca/ca.crt' });
    expect(container.volumeMounts).toContainEqual({ name: 'ca', mountPath: '/etc/farpoint/ca', readOnly: true });
  });

  it('rejects invalid input with a stable code and the invalid fields', () => {
    const render = () => renderAgentManifests({ ...input, apiUrl: 'ftp://x', registrationToken: 'short' });
    expect(render).toThrow(AgentInstallError);
    expect(render).toThrow(expect.objectContaining({ code: 'AGENT_INSTALL_INVALID_INPUT' }));
    expect(render).toThrow(/apiUrl \(.*registrationToken \(/);
  });
});

describe(toYaml.name, () => {
  it('writes multi-document YAML that reads back to the same objects', () => {
    const objects = renderAgentManifests(input);
    const yaml = toYaml(objects);
    expect(yaml.split(/^---$/m)).toHaveLength(objects.length);
    expect(loadAll(yaml)).toEqual(JSON.parse(JSON.stringify(objects)));
  });
});
