import { ApiException, ApisApi, type KubeConfig, type KubernetesObject, KubernetesObjectApi, type V1APIResource } from '@kubernetes/client-node';

/** A kind a constraint matches, as Gatekeeper names it: API group ("" for core) and kind. */
export interface GroupKind {
  group: string;
  kind: string;
}

/** A kind the cluster serves, at its preferred version. */
export interface AuditTarget extends GroupKind {
  apiVersion: string;
  namespaced: boolean;
}

export interface ObjectPage {
  items: KubernetesObject[];
  continueToken?: string;
}

/** What audit needs of the Kubernetes API: discovery and cluster-wide lists of any kind (RBAC: `list`). */
export interface AuditKube {
  /** The kind at its preferred version; null when the cluster does not serve it. */
  resolve(kind: GroupKind): Promise<AuditTarget | null>;
  /** One page of every object of the kind (all namespaces); 'forbidden' when the agent may not list it. */
  list(target: AuditTarget, limit: number, continueToken?: string): Promise<ObjectPage | 'forbidden'>;
}

/** KubernetesObjectApi keeps its discovery (resource) protected; audit needs it to tell unknown kinds apart. */
class DiscoveringObjectApi extends KubernetesObjectApi {
  discover(apiVersion: string, kind: string): Promise<V1APIResource | undefined> {
    return this.resource(apiVersion, kind);
  }
}

const status = (error: unknown) => (error instanceof ApiException ? error.code : undefined);

/** Preferred versions are read once per this long, so a newly installed CRD is audited soon. */
const DISCOVERY_TTL_MS = 5 * 60 * 1000;

export class KubernetesAuditKube implements AuditKube {
  private readonly objects: DiscoveringObjectApi;
  private readonly apis: ApisApi;
  private preferred?: { at: number; versions: Map<string, string> };

  constructor(
    kubeConfig: KubeConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.objects = kubeConfig.makeApiClient(DiscoveringObjectApi);
    this.apis = kubeConfig.makeApiClient(ApisApi);
  }

  async resolve(kind: GroupKind): Promise<AuditTarget | null> {
    const version = kind.group === '' ? 'v1' : (await this.preferredVersions()).get(kind.group);
    if (!version) {
      return null;
    }
    const apiVersion = kind.group === '' ? version : `${kind.group}/${version}`;
    let resource: V1APIResource | undefined;
    try {
      resource = await this.objects.discover(apiVersion, kind.kind);
    } catch (error) {
      if (status(error) === 404) {
        return null;
      }
      throw error;
    }
    return resource ? { ...kind, apiVersion, namespaced: resource.namespaced } : null;
  }

  async list(target: AuditTarget, limit: number, continueToken?: string): Promise<ObjectPage | 'forbidden'> {
    try {
      const list = await this.objects.list(target.apiVersion, target.kind, undefined, undefined, undefined, undefined, undefined, undefined, limit, continueToken);
      // Items of a list carry neither apiVersion nor kind; policies read them from the object.
      const items = list.items.map((item) => ({ ...item, apiVersion: target.apiVersion, kind: target.kind }));
      return { items, ...(list.metadata?._continue ? { continueToken: list.metadata._continue } : {}) };
    } catch (error) {
      if (status(error) === 403) {
        return 'forbidden';
      }
      throw error;
    }
  }

  private async preferredVersions(): Promise<Map<string, string>> {
    if (!this.preferred || this.now() - this.preferred.at > DISCOVERY_TTL_MS) {
      const groups = await this.apis.getAPIVersions();
      this.preferred = { at: this.now(), versions: new Map(groups.groups.map((g) => [g.name, g.preferredVersion?.version ?? g.versions[0]?.version ?? ''])) };
    }
    return this.preferred.versions;
  }
}
