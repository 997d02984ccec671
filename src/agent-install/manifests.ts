import type {
  KubernetesObject,
  V1Container,
  V1ClusterRole,
  V1ClusterRoleBinding,
  V1ConfigMap,
  V1Deployment,
  V1EnvVar,
  V1Namespace,
  V1PersistentVolumeClaim,
  V1Role,
  V1RoleBinding,
  V1Secret,
  V1ServiceAccount,
  V1ValidatingWebhookConfiguration,
  V1Volume,
} from '@kubernetes/client-node';
import { dump } from 'js-yaml';
import { z } from 'zod';
import { AgentVersionSchema, ClusterIdSchema, RegistrationTokenSchema } from '../protocol/common';
import { describeFieldIssues, toFieldIssues } from '../protocol/parse';
import { AGENT_LABELS, AgentEnv, AgentObjectNames as N, AgentSecretKeys } from './names';
import { AGENT_INSTALLED_CLUSTER_RULES, AGENT_NAMESPACE_RULES } from './rbac';

/** Where the agent keeps its state (report queue, desired state, serving TLS), chosen at install. */
export const AgentStateVolumeSchema = z.discriminatedUnion('type', [
  /**
   * A directory of the node (default, for single-node edge boxes): outlives the pod, but not a move
   * to another node. Needs a namespace that allows hostPath and one root init container (CAP_CHOWN only).
   */
  z.object({
    type: z.literal('hostPath'),
    path: z
      .string()
      .max(256)
      .regex(/^\/(?:[A-Za-z0-9._-]+\/)*[A-Za-z0-9._-]+$/, 'must be an absolute path of plain segments')
      .refine((p) => !p.split('/').some((segment) => segment === '..' || segment === '.'), 'must not contain . or .. segments')
      .default('/var/lib/farpoint-agent'),
  }),
  /** A PersistentVolumeClaim (multi-node clusters with a storage provisioner): follows the pod to any node. */
  z.object({
    type: z.literal('persistentVolumeClaim'),
    storageClassName: z
      .string()
      .min(1)
      .max(253)
      .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a StorageClass name')
      .optional(),
    size: z
      .string()
      .regex(/^[1-9][0-9]{0,5}(Mi|Gi)$/, 'must be a size such as 256Mi or 1Gi')
      .default('256Mi'),
  }),
  /** The fallback where neither is allowed: lives and dies with the pod, so a replaced pod loses its backlog. */
  z.object({ type: z.literal('emptyDir') }),
]);
export type AgentStateVolume = z.input<typeof AgentStateVolumeSchema>;

export const AgentManifestInputSchema = z.object({
  clusterId: ClusterIdSchema,
  clusterName: z.string().min(1).max(253),
  /** Base URL of the API as the edge cluster reaches it, e.g. https://farpoint.example.com. */
  apiUrl: z.url({ protocol: /^https?$/ }),
  registrationToken: RegistrationTokenSchema,
  /** Agent image reference, e.g. registry.example.com/farpoint/agent:0.1.0 or …@sha256:…. */
  image: z
    .string()
    .min(1)
    .max(512)
    .regex(/^[^\s]+$/, 'must not contain whitespace'),
  agentVersion: AgentVersionSchema,
  /** PEM CA bundle the agent trusts for the API (for private CAs); omitted: the image's public roots. */
  caBundlePem: z
    .string()
    .max(256 * 1024)
    .refine((pem) => pem.includes('-----BEGIN CERTIFICATE-----'), 'must be PEM certificates')
    .optional(),
  heartbeatIntervalSeconds: z.number().int().min(1).max(3600).default(20),
  reportIntervalSeconds: z.number().int().min(1).max(3600).default(10),
  stateVolume: AgentStateVolumeSchema.default({ type: 'hostPath', path: '/var/lib/farpoint-agent' }),
});
export type AgentManifestInput = z.input<typeof AgentManifestInputSchema>;

export const AGENT_INSTALL_INVALID_INPUT = 'AGENT_INSTALL_INVALID_INPUT';

export class AgentInstallError extends Error {
  readonly code = AGENT_INSTALL_INVALID_INPUT;
  constructor(message: string) {
    super(message);
    this.name = 'AgentInstallError';
  }
}

const STATE_DIR = '/var/lib/farpoint-agent';
const AGENT_UID = 65532;
const CA_DIR = '/etc/farpoint/ca';
const CA_KEY = 'ca.crt';

// The agent's RBAC lives in rbac.ts (every rule with why). In short: it reads what it reports, touches
// only its own objects by name, and holds no write on any binding. Its ClusterRole is installed with a
// one-time adoption rule: on start the agent makes the ClusterRole a dependent of its
// ClusterRoleBinding and drops that rule in one patch, so detach only deletes the binding and the
// garbage collector removes the role. Its own ValidatingWebhookConfiguration is installed empty; the
// agent may update/patch it (the admission server writes its webhooks and caBundle) and delete it.

function parseInput(input: AgentManifestInput) {
  const result = AgentManifestInputSchema.safeParse(input);
  if (!result.success) {
    throw new AgentInstallError(describeFieldIssues('agent manifest input', toFieldIssues(result.error)));
  }
  return result.data;
}

/** The install manifests of one cluster, in apply order. Throws AgentInstallError on invalid input. */
export function renderAgentManifests(input: AgentManifestInput): KubernetesObject[] {
  const i = parseInput(input);
  const labels = { ...AGENT_LABELS, 'app.kubernetes.io/version': i.agentVersion };
  const annotations = { 'farpoint.io/cluster-id': i.clusterId, 'farpoint.io/cluster-name': i.clusterName };
  const meta = (name: string, namespaced = true) => ({
    name,
    ...(namespaced ? { namespace: N.namespace } : {}),
    labels: { ...labels },
    annotations: { ...annotations },
  });
  const subject = { kind: 'ServiceAccount', name: N.serviceAccount, namespace: N.namespace };

  const namespace: V1Namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: meta(N.namespace, false) };
  const serviceAccount: V1ServiceAccount = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(N.serviceAccount) };
  const clusterRole: V1ClusterRole = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: meta(N.clusterRole, false),
    rules: AGENT_INSTALLED_CLUSTER_RULES,
  };
  const clusterRoleBinding: V1ClusterRoleBinding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: meta(N.clusterRoleBinding, false),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: N.clusterRole },
    subjects: [subject],
  };
  const role: V1Role = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: meta(N.role),
    rules: AGENT_NAMESPACE_RULES,
  };
  const roleBinding: V1RoleBinding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: meta(N.roleBinding),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: N.role },
    subjects: [subject],
  };
  const secret: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta(N.secret),
    type: 'Opaque',
    stringData: { [AgentSecretKeys.registrationToken]: i.registrationToken },
  };
  const configMap: V1ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(N.configMap),
    data: {
      [AgentEnv.apiUrl]: i.apiUrl,
      [AgentEnv.clusterId]: i.clusterId,
      [AgentEnv.clusterName]: i.clusterName,
      [AgentEnv.heartbeatIntervalSeconds]: String(i.heartbeatIntervalSeconds),
      [AgentEnv.reportIntervalSeconds]: String(i.reportIntervalSeconds),
      ...(i.caBundlePem ? { [CA_KEY]: i.caBundlePem } : {}),
    },
  };
  // Empty until the agent serves admission; it exists so the agent never needs `create`.
  const webhookConfiguration: V1ValidatingWebhookConfiguration = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: meta(N.validatingWebhookConfiguration, false),
    webhooks: [],
  };

  const fromConfig = (name: string): V1EnvVar => ({
    name,
    valueFrom: { configMapKeyRef: { name: N.configMap, key: name } },
  });
  const env: V1EnvVar[] = [
    fromConfig(AgentEnv.apiUrl),
    fromConfig(AgentEnv.clusterId),
    fromConfig(AgentEnv.clusterName),
    fromConfig(AgentEnv.heartbeatIntervalSeconds),
    fromConfig(AgentEnv.reportIntervalSeconds),
    { name: AgentEnv.namespace, valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: AgentEnv.secretName, value: N.secret },
    { name: AgentEnv.stateDir, value: STATE_DIR },
    // Keeps the V8 heap well inside the memory limit.
    { name: 'NODE_OPTIONS', value: '--max-old-space-size=160' },
    ...(i.caBundlePem ? [{ name: 'NODE_EXTRA_CA_CERTS', value: `${CA_DIR}/${CA_KEY}` }] : []),
  ];
  const podLabels = { ...labels };
  const state = stateVolume(i.stateVolume, i.image, meta(N.stateClaim));
  const deployment: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(N.deployment),
    spec: {
      replicas: 1,
      // Never two agents at once: they would share the Secret and the report sequence.
      strategy: { type: 'Recreate' },
      selector: { matchLabels: { 'app.kubernetes.io/name': AGENT_LABELS['app.kubernetes.io/name'] } },
      template: {
        metadata: { labels: podLabels, annotations: { ...annotations } },
        spec: {
          serviceAccountName: N.serviceAccount,
          automountServiceAccountToken: true,
          enableServiceLinks: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: AGENT_UID,
            runAsGroup: AGENT_UID,
            // Makes emptyDir and most PVC volumes writable by the agent; hostPath ignores it (see stateVolume).
            fsGroup: AGENT_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          ...(state.initContainer ? { initContainers: [state.initContainer] } : {}),
          containers: [
            {
              name: N.container,
              image: i.image,
              imagePullPolicy: 'IfNotPresent',
              env,
              resources: {
                // Measured at rest: ~106 MiB RSS, ~70 MiB of it loading @kubernetes/client-node.
                requests: { cpu: '50m', memory: '128Mi' },
                limits: { cpu: '500m', memory: '256Mi' },
              },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [{ name: 'state', mountPath: STATE_DIR }, ...(i.caBundlePem ? [{ name: 'ca', mountPath: CA_DIR, readOnly: true }] : [])],
            },
          ],
          volumes: [state.volume, ...(i.caBundlePem ? [{ name: 'ca', configMap: { name: N.configMap, items: [{ key: CA_KEY, path: CA_KEY }] } }] : [])],
          tolerations: [
            { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
            { key: 'node-role.kubernetes.io/master', operator: 'Exists', effect: 'NoSchedule' },
          ],
        },
      },
    },
  };

  return [
    namespace,
    serviceAccount,
    clusterRole,
    clusterRoleBinding,
    role,
    roleBinding,
    secret,
    configMap,
    ...(state.claim ? [state.claim] : []),
    webhookConfiguration,
    deployment,
  ] as KubernetesObject[];
}

/**
 * The state volume, and what it needs. emptyDir and a PVC are made writable by fsGroup. A hostPath
 * directory is created by the kubelet as root:root 0755, which fsGroup does not change: an init
 * container (the agent image's node, as root with only CAP_CHOWN, no privilege escalation, read-only
 * root) hands it to the agent's user with mode 0700 before the non-root agent starts.
 */
function stateVolume(
  choice: z.infer<typeof AgentStateVolumeSchema>,
  image: string,
  claimMeta: V1PersistentVolumeClaim['metadata'],
): { volume: V1Volume; claim?: V1PersistentVolumeClaim; initContainer?: V1Container } {
  switch (choice.type) {
    case 'hostPath':
      return {
        volume: { name: 'state', hostPath: { path: choice.path, type: 'DirectoryOrCreate' } },
        initContainer: {
          name: 'state-owner',
          image,
          imagePullPolicy: 'IfNotPresent',
          command: ['/nodejs/bin/node', '-e', `const fs=require('fs');fs.chownSync(process.argv[1],${AGENT_UID},${AGENT_UID});fs.chmodSync(process.argv[1],0o700)`, STATE_DIR],
          resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
          securityContext: {
            runAsUser: 0,
            runAsGroup: 0,
            runAsNonRoot: false,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'], add: ['CHOWN'] },
          },
          volumeMounts: [{ name: 'state', mountPath: STATE_DIR }],
        },
      };
    case 'persistentVolumeClaim':
      return {
        volume: { name: 'state', persistentVolumeClaim: { claimName: N.stateClaim } },
        claim: {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: claimMeta,
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: choice.size } },
            ...(choice.storageClassName ? { storageClassName: choice.storageClassName } : {}),
          },
        },
      };
    case 'emptyDir':
      return { volume: { name: 'state', emptyDir: { sizeLimit: '64Mi' } } };
  }
}

/** Multi-document YAML for `kubectl apply -f`, in the given order. */
export function toYaml(objects: KubernetesObject[]): string {
  return objects.map((o) => dump(o, { noRefs: true, lineWidth: -1, sortKeys: false })).join('---\n');
}
