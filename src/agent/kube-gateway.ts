import {
  AdmissionregistrationV1Api,
  ApiException,
  CoreV1Api,
  type KubeConfig,
  RbacAuthorizationV1Api,
  type V1OwnerReference,
  type V1PolicyRule,
  VersionApi,
} from '@kubernetes/client-node';
import { type SecretContent, SecretConflictError, type SecretGateway } from './identity/credential-store';

/** What the agent does with the Kubernetes API besides watching (see inventory/cluster-watch.ts). */
export interface AgentKube {
  readSecret(namespace: string, name: string): Promise<SecretContent | null>;
  writeSecretData(namespace: string, name: string, data: Record<string, string>, resourceVersion: string): Promise<void>;
  namespaceUid(name: string): Promise<string>;
  /** gitVersion of the apiserver. */
  serverVersion(): Promise<string>;
  deleteValidatingWebhookConfiguration(name: string): Promise<DeleteResult>;
  readClusterRoleBinding(name: string): Promise<RbacObject | Unreadable>;
  readClusterRole(name: string): Promise<ClusterRoleState | Unreadable>;
  /**
   * One JSON patch of the ClusterRole: its ownerReferences and its rules, conditional on
   * resourceVersion ('conflict' when it changed since it was read).
   */
  adoptClusterRole(name: string, change: ClusterRoleAdoption): Promise<'patched' | 'conflict' | Unreadable>;
  /** Background propagation: the garbage collector then deletes the ClusterRole the binding owns. */
  deleteClusterRoleBinding(name: string): Promise<DeleteResult>;
  deleteNamespace(name: string): Promise<DeleteResult>;
}

export type DeleteResult = 'deleted' | 'absent';
/** 404 and 403: expected answers, not errors. */
export type Unreadable = 'absent' | 'forbidden';

export interface RbacObject {
  uid: string;
  resourceVersion: string;
}

export interface ClusterRoleState extends RbacObject {
  rules: V1PolicyRule[];
  ownerReferences: V1OwnerReference[];
}

export interface ClusterRoleAdoption {
  resourceVersion: string;
  ownerReferences: V1OwnerReference[];
  rules: V1PolicyRule[];
}

function status(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

async function deleting(call: () => Promise<unknown>): Promise<DeleteResult> {
  try {
    await call();
    return 'deleted';
  } catch (error) {
    if (status(error) === 404) {
      return 'absent';
    }
    throw error;
  }
}

function unreadableStatus(error: unknown): Unreadable | undefined {
  const code = status(error);
  return code === 404 ? 'absent' : code === 403 ? 'forbidden' : undefined;
}

async function reading<T>(call: () => Promise<T>): Promise<T | Unreadable> {
  try {
    return await call();
  } catch (error) {
    const unreadable = unreadableStatus(error);
    if (unreadable) {
      return unreadable;
    }
    throw error;
  }
}

const b64decode = (v: string) => Buffer.from(v, 'base64').toString('utf8');
const b64encode = (v: string) => Buffer.from(v, 'utf8').toString('base64');

/** AgentKube over @kubernetes/client-node 1.x. */
export class ClientNodeAgentKube implements AgentKube {
  private readonly core: CoreV1Api;
  private readonly rbac: RbacAuthorizationV1Api;
  private readonly admission: AdmissionregistrationV1Api;
  private readonly version: VersionApi;

  constructor(kubeConfig: KubeConfig) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.rbac = kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    this.admission = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
    this.version = kubeConfig.makeApiClient(VersionApi);
  }

  async readSecret(namespace: string, name: string): Promise<SecretContent | null> {
    try {
      const secret = await this.core.readNamespacedSecret({ name, namespace });
      const data: Record<string, string> = {};
      for (const [key, value] of Object.entries(secret.data ?? {})) {
        data[key] = b64decode(value);
      }
      return { data, resourceVersion: secret.metadata?.resourceVersion ?? '' };
    } catch (error) {
      if (status(error) === 404) {
        return null;
      }
      throw error;
    }
  }

  async writeSecretData(namespace: string, name: string, data: Record<string, string>, resourceVersion: string): Promise<void> {
    const encoded: Record<string, string> = {};
    for (const [key, value] of Object.entries(data)) {
      encoded[key] = b64encode(value);
    }
    try {
      // JSON patch: the resourceVersion in the patched object makes the write conditional (409 when
      // stale); labels, annotations and type stay as installed.
      await this.core.patchNamespacedSecret({
        name,
        namespace,
        body: [
          { op: 'replace', path: '/metadata/resourceVersion', value: resourceVersion },
          { op: 'add', path: '/data', value: encoded },
        ],
      });
    } catch (error) {
      if (status(error) === 409) {
        throw new SecretConflictError();
      }
      throw error;
    }
  }

  async namespaceUid(name: string): Promise<string> {
    const namespace = await this.core.readNamespace({ name });
    const uid = namespace.metadata?.uid;
    if (!uid) {
      throw new Error(`Namespace ${name} has no uid`);
    }
    return uid;
  }

  async serverVersion(): Promise<string> {
    return (await this.version.getCode()).gitVersion;
  }

  deleteValidatingWebhookConfiguration(name: string): Promise<DeleteResult> {
    return deleting(() => this.admission.deleteValidatingWebhookConfiguration({ name }));
  }

  readClusterRoleBinding(name: string): Promise<RbacObject | Unreadable> {
    return reading(async () => {
      const metadata = (await this.rbac.readClusterRoleBinding({ name })).metadata;
      return { uid: metadata?.uid ?? '', resourceVersion: metadata?.resourceVersion ?? '' };
    });
  }

  readClusterRole(name: string): Promise<ClusterRoleState | Unreadable> {
    return reading(async () => {
      const role = await this.rbac.readClusterRole({ name });
      return {
        uid: role.metadata?.uid ?? '',
        resourceVersion: role.metadata?.resourceVersion ?? '',
        rules: role.rules ?? [],
        ownerReferences: role.metadata?.ownerReferences ?? [],
      };
    });
  }

  async adoptClusterRole(name: string, change: ClusterRoleAdoption): Promise<'patched' | 'conflict' | Unreadable> {
    try {
      // JSON patch (client-node's default); the resourceVersion makes it conditional, "add" replaces a list.
      await this.rbac.patchClusterRole({
        name,
        body: [
          { op: 'replace', path: '/metadata/resourceVersion', value: change.resourceVersion },
          { op: 'add', path: '/metadata/ownerReferences', value: change.ownerReferences },
          { op: 'add', path: '/rules', value: change.rules },
        ],
      });
      return 'patched';
    } catch (error) {
      if (status(error) === 409) {
        return 'conflict';
      }
      const unreadable = unreadableStatus(error);
      if (unreadable) {
        return unreadable;
      }
      throw error;
    }
  }

  deleteClusterRoleBinding(name: string): Promise<DeleteResult> {
    return deleting(() => this.rbac.deleteClusterRoleBinding({ name, propagationPolicy: 'Background' }));
  }

  deleteNamespace(name: string): Promise<DeleteResult> {
    return deleting(() => this.core.deleteNamespace({ name }));
  }
}

/** The agent's Secret as a SecretGateway. */
export function secretGateway(kube: AgentKube, namespace: string, name: string): SecretGateway {
  return {
    read: () => kube.readSecret(namespace, name),
    write: (data, resourceVersion) => kube.writeSecretData(namespace, name, data, resourceVersion),
  };
}
