import { Inject, Injectable, Optional } from '@nestjs/common';
import { KubeConfig, KubernetesObject, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { EgressPolicy, HostResolver, normalizeHost, ResolvedAddress, systemResolver } from './egress-policy';
import { KubeconfigPolicyOptions, validateKubeconfig, ValidatedKubeconfig } from './kubeconfig-policy';

export { KubeconfigError } from './kubeconfig-policy';
export { EgressRefusedError } from './egress-policy';
export type { ValidatedKubeconfig } from './kubeconfig-policy';

/** Replaces DNS for KubeGateway (tests); the system resolver otherwise. */
const HOST_RESOLVER = Symbol('HOST_RESOLVER');

/** A request that tried to leave the checked server (a redirect elsewhere). */
const OTHER_HOST = 'FARPOINT_OTHER_HOST';

/**
 * Why talking to a cluster failed, in words an operator can act on. Built from status codes and
 * error codes only: the remote server's answer is never quoted, since the server is whatever the
 * kubeconfig named and its body would be a way to read internal services through lastError.
 */
export function describeKubeError(error: unknown, server?: string): string {
  const where = server ? ` at ${server}` : '';
  const e = error as { code?: unknown; cause?: { code?: unknown }; statusCode?: unknown };
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : undefined;
  // client-node's ApiException carries the HTTP status as a numeric `code`.
  const status = typeof e?.code === 'number' ? e.code : typeof e?.statusCode === 'number' ? e.statusCode : undefined;
  if (code === OTHER_HOST) {
    return `The Kubernetes API server${where} redirected to another address; a queued attach only talks to the server it checked.`;
  }
  if (code === 'FARPOINT_EGRESS_REFUSED') {
    return `The Kubernetes API server${where} is not an address a queued attach may connect to.`;
  }
  if (code === 'ECONNREFUSED') {
    return `Cannot reach the Kubernetes API server${where}: connection refused.`;
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return `Cannot resolve the Kubernetes API server host${where}.`;
  }
  if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return `Timed out connecting to the Kubernetes API server${where}.`;
  }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return `Cannot reach the Kubernetes API server${where}: no route to the host.`;
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    return `The Kubernetes API server${where} closed the connection.`;
  }
  if (code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(code)) {
    return `The Kubernetes API server${where} presented a certificate the kubeconfig does not trust (${code}).`;
  }
  if (code && /^ERR_SSL|^EPROTO$/.test(code)) {
    return `The TLS handshake with the Kubernetes API server${where} failed (${code}).`;
  }
  if (status === 401) {
    return `The kubeconfig's credentials were rejected by the Kubernetes API server${where} (401).`;
  }
  if (status === 403) {
    return `The kubeconfig's user may not install the agent${where} (403 Forbidden): it needs cluster-admin or equivalent.`;
  }
  if (status === 404) {
    return `The Kubernetes API server${where} answered 404 Not Found: the server URL may not point at a Kubernetes API.`;
  }
  if (status !== undefined && status >= 100 && status <= 599) {
    return `The Kubernetes API server${where} answered HTTP ${status}.`;
  }
  if (code && /^[A-Z][A-Z0-9_]{1,40}$/.test(code)) {
    return `Kubernetes API request failed${where} (${code}).`;
  }
  return `Kubernetes API request failed${where}; the server's answer was not a Kubernetes API response.`;
}

/** A checked kubeconfig bound to the addresses its server resolved to when it was checked. */
export interface ClusterConnection {
  readonly server: string;
  readonly kubeConfig: KubeConfig;
}

const b64 = (pem?: string) => (pem === undefined ? undefined : Buffer.from(pem, 'utf8').toString('base64'));

/**
 * client-node's KubeConfig holding only validated inline values, whose requests go through one agent
 * pinned to the checked addresses. Its own authentication code (exec, auth providers, token files)
 * never runs: the credentials are set here from the validated fields.
 */
class PinnedKubeConfig extends KubeConfig {
  constructor(
    target: ValidatedKubeconfig,
    private readonly agent: http.Agent,
  ) {
    super();
    this.loadFromOptions({
      clusters: [{ name: 'target', server: target.server, caData: b64(target.caPem), tlsServerName: target.tlsServerName, skipTLSVerify: target.insecureSkipTlsVerify }],
      users: [{ name: 'target', token: target.token, certData: b64(target.certPem), keyData: b64(target.keyPem), username: target.username, password: target.password }],
      contexts: [{ name: 'target', cluster: 'target', user: 'target' }],
      currentContext: 'target',
    });
  }

  override async applySecurityAuthentication(context: Parameters<KubeConfig['applySecurityAuthentication']>[0]): Promise<void> {
    const user = this.getCurrentUser()!;
    if (user.token) {
      context.setHeaderParam('Authorization', `Bearer ${user.token}`);
    } else if (user.username) {
      context.setHeaderParam('Authorization', `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`);
    }
    context.setAgent(this.agent);
  }

  // Watches, exec and port-forward build their own unpinned connections: not available here.
  override async applyToFetchOptions(): Promise<never> {
    throw new Error('PinnedKubeConfig only serves API clients');
  }

  override async applyToHTTPSOptions(): Promise<never> {
    throw new Error('PinnedKubeConfig only serves API clients');
  }
}

/**
 * An agent that connects only to the checked host, at the checked addresses. The URL keeps the host
 * name, so TLS still verifies the certificate for it (SNI, or tls-server-name); only the address
 * lookup is replaced, so a DNS answer that changes after the check (rebinding) is never used. A
 * request for any other host (a redirect) fails instead of connecting.
 */
function pinnedAgent(target: ValidatedKubeconfig, addresses: readonly ResolvedAddress[]): http.Agent {
  const host = normalizeHost(target.hostname);
  const otherHost = (name: unknown) => Object.assign(new Error(`refused to connect to ${String(name)}: not the checked server`), { code: OTHER_HOST });
  const lookup: LookupFunction = (hostname, options, callback) => {
    if (normalizeHost(hostname) !== host) {
      return callback(otherHost(hostname), '', 4);
    }
    if (options.all) {
      return callback(
        null,
        addresses.map((a) => ({ address: a.address, family: a.family })),
      );
    }
    return callback(null, addresses[0].address, addresses[0].family);
  };
  const agent = target.server.startsWith('https:')
    ? new https.Agent({
        lookup,
        ca: target.caPem,
        cert: target.certPem,
        key: target.keyPem,
        ...(target.tlsServerName ? { servername: target.tlsServerName } : {}),
        // Explicit, so NODE_TLS_REJECT_UNAUTHORIZED in the environment cannot turn verification off.
        rejectUnauthorized: !target.insecureSkipTlsVerify,
      })
    : new http.Agent({ lookup });
  const connect = agent.createConnection.bind(agent) as (options: { host?: string }, callback?: unknown) => unknown;
  // IP literals skip lookup, so the host itself is checked here too.
  (agent as unknown as { createConnection: typeof connect }).createConnection = (options, callback) => {
    if (normalizeHost(String(options.host ?? '')) !== host) {
      throw otherHost(options.host);
    }
    return connect(options, callback);
  };
  return agent;
}

/** The only place the API and workers talk to member clusters (client-node behind one class). */
@Injectable()
export class KubeGateway {
  private readonly policy: KubeconfigPolicyOptions;
  private readonly egress: EgressPolicy;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Optional() @Inject(HOST_RESOLVER) private readonly resolver: HostResolver = systemResolver,
  ) {
    this.policy = { allowHttp: config.ATTACH_ALLOW_HTTP, allowInsecureSkipTlsVerify: config.ATTACH_ALLOW_INSECURE_TLS };
    this.egress = new EgressPolicy(config.ATTACH_ALLOWED_CIDRS);
  }

  /** Parses and checks a kubeconfig as data, without I/O: throws KubeconfigError naming the field. */
  checkKubeconfig(text: string): ValidatedKubeconfig {
    return validateKubeconfig(text, this.policy);
  }

  /** The server's addresses, each allowed by the egress policy: throws EgressRefusedError, or the resolver's error. */
  resolveServer(target: ValidatedKubeconfig): Promise<ResolvedAddress[]> {
    return this.egress.resolve(target.hostname, this.resolver);
  }

  /** Checks the server's addresses now and returns a client that connects only to them. */
  async connect(target: ValidatedKubeconfig): Promise<ClusterConnection> {
    const addresses = await this.resolveServer(target);
    return { server: target.server, kubeConfig: new PinnedKubeConfig(target, pinnedAgent(target, addresses)) };
  }

  /**
   * Server-side applies objects in order with one field manager: applying the same objects again
   * changes nothing, so a retried or resumed job never duplicates anything in the cluster.
   */
  async apply(connection: ClusterConnection, objects: KubernetesObject[], fieldManager: string): Promise<void> {
    const api = KubernetesObjectApi.makeApiClient(connection.kubeConfig);
    for (const object of objects) {
      await api.patch(object, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply);
    }
  }

  /** The kube-system namespace UID: the identity an agent proves when it registers. */
  async kubeSystemUid(connection: ClusterConnection): Promise<string> {
    const api = KubernetesObjectApi.makeApiClient(connection.kubeConfig);
    const ns = await api.read({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } });
    return ns.metadata!.uid!;
  }
}
