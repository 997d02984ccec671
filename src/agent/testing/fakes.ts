/** In-memory fakes of the agent's side-effect interfaces, for unit tests. */
import { AGENT_ERROR_HTTP_STATUS, type AgentErrorCode } from '../../protocol/errors';
import { RegisterRequestSchema, type RegisterRequest } from '../../protocol/register';
import { type Directive, type ReportItem, ReportsRequestSchema } from '../../protocol/reports';
import { TEST_CLUSTER_ID, TEST_KUBE_SYSTEM_UID } from '../../protocol/testing/factories';
import { AgentApiError, type AgentApi, type ApiResult } from '../api-client';
import type { ClusterWatch } from '../cluster-watch';
import { type SecretContent, SecretConflictError, type SecretGateway } from '../credential-store';
import type { ClusterObjects } from '../inventory-builder';
import type { AgentKube, DeleteResult } from '../kube-gateway';

/** A Secret with a resourceVersion that grows on every write, like the apiserver's. */
export class FakeSecret implements SecretGateway {
  data: Record<string, string> | null;
  resourceVersion = 1;
  writes = 0;
  /** Makes the next N writes fail with a conflict, as if someone else wrote in between. */
  conflictsToInject = 0;

  constructor(data: Record<string, string> | null) {
    this.data = data ? { ...data } : null;
  }

  async read(): Promise<SecretContent | null> {
    return this.data ? { data: { ...this.data }, resourceVersion: String(this.resourceVersion) } : null;
  }

  async write(data: Record<string, string>, resourceVersion: string): Promise<void> {
    if (this.conflictsToInject > 0) {
      this.conflictsToInject -= 1;
      this.resourceVersion += 1;
      throw new SecretConflictError();
    }
    if (!this.data || resourceVersion !== String(this.resourceVersion)) throw new SecretConflictError();
    this.data = { ...data };
    this.resourceVersion += 1;
    this.writes += 1;
  }
}


function apiError(code: AgentErrorCode): AgentApiError {
  return new AgentApiError('http', code, AGENT_ERROR_HTTP_STATUS[code], code);
}

/**
 * The API side of the protocol in memory, with the contract's rules: one-time tokens, credentials
 * per cluster, items stored once in seq order, ackedSeq, directives delivered once. Every request is
 * validated with the protocol schemas, so a test fails when the agent sends something invalid.
 */
export class FakeAgentApi implements AgentApi {
  readonly validTokens = new Set<string>();
  readonly credentials = new Map<string, { revoked: boolean }>();
  readonly calls: string[] = [];
  readonly registerRequests: RegisterRequest[] = [];
  readonly stored: ReportItem[] = [];
  lastAckedSeq = 0;
  offline = false;
  credentialLifetimeMs = 3_600_000;
  /** Answer INTERNAL_ERROR to the next N rotations. */
  failRotations = 0;
  /** Answer PROTOCOL_INVALID_BODY to every batch that contains this seq. */
  refuseSeq: number | undefined;
  private pendingDirectives: Directive[] = [];
  private issued = 0;

  constructor(readonly clusterId = TEST_CLUSTER_ID) {}

  sendDirective(directive: Directive): void {
    this.pendingDirectives.push(directive);
  }

  revokeAll(): void {
    for (const c of this.credentials.values()) c.revoked = true;
  }

  private issue(): { credential: string; credentialExpiresAt: string } {
    this.issued += 1;
    const credential = `fpc_fake_credential_${String(this.issued).padStart(4, '0')}`;
    this.credentials.set(credential, { revoked: false });
    return { credential, credentialExpiresAt: new Date(Date.now() + this.credentialLifetimeMs).toISOString() };
  }

  private authenticate(credential: string): void {
    const c = this.credentials.get(credential);
    if (!c) throw apiError('CREDENTIAL_INVALID');
    if (c.revoked) throw apiError('CREDENTIAL_REVOKED');
  }

  private reachable(call: string): void {
    this.calls.push(call);
    if (this.offline) throw new AgentApiError('network', `POST ${call} failed: ECONNREFUSED`);
  }

  async register(request: RegisterRequest) {
    this.reachable('register');
    const body = RegisterRequestSchema.parse(request);
    this.registerRequests.push(body);
    if (!this.validTokens.has(body.registrationToken)) throw apiError('TOKEN_UNKNOWN');
    this.validTokens.delete(body.registrationToken);
    return { body: { clusterId: this.clusterId, ...this.issue(), heartbeatIntervalSeconds: 1, reportIntervalSeconds: 1 }, serverTime: Date.now() };
  }

  async rotateCredential(credential: string, request: { clusterId: string }) {
    this.reachable('rotate');
    this.authenticate(credential);
    if (this.failRotations > 0) {
      this.failRotations -= 1;
      throw apiError('INTERNAL_ERROR');
    }
    if (request.clusterId !== this.clusterId) throw apiError('CREDENTIAL_WRONG_CLUSTER');
    return { body: this.issue(), serverTime: Date.now() };
  }

  async sendReports(credential: string, request: unknown): Promise<ApiResult<{ ackedSeq: number; directives: Directive[] }>> {
    this.reachable('reports');
    this.authenticate(credential);
    const body = ReportsRequestSchema.parse(request);
    if (body.clusterId !== this.clusterId) throw apiError('CREDENTIAL_WRONG_CLUSTER');
    if (this.refuseSeq !== undefined && body.items.some((i) => i.seq === this.refuseSeq)) throw apiError('PROTOCOL_INVALID_BODY');
    for (const item of body.items) {
      if (item.seq > this.lastAckedSeq) {
        this.stored.push(item);
        this.lastAckedSeq = item.seq;
      }
    }
    const directives = this.pendingDirectives;
    this.pendingDirectives = [];
    return { body: { ackedSeq: this.lastAckedSeq, directives }, serverTime: Date.now() };
  }

  storedKinds(): string[] {
    return this.stored.map((i) => i.kind);
  }
}

/** The agent's Kubernetes calls, recorded. */
export class FakeAgentKube implements AgentKube {
  readonly calls: string[] = [];
  failDetachSteps = 0;

  async readSecret(): Promise<never> {
    throw new Error('use FakeSecret');
  }
  async writeSecretData(): Promise<never> {
    throw new Error('use FakeSecret');
  }
  async namespaceUid(name: string): Promise<string> {
    this.calls.push(`get namespace ${name}`);
    return TEST_KUBE_SYSTEM_UID;
  }
  async serverVersion(): Promise<string> {
    return 'v1.31.4+vmware.1';
  }
  private step(call: string): DeleteResult {
    if (this.failDetachSteps > 0) {
      this.failDetachSteps -= 1;
      throw new Error(`${call}: connection reset`);
    }
    this.calls.push(call);
    return 'deleted';
  }
  async deleteValidatingWebhookConfiguration(name: string): Promise<DeleteResult> {
    return this.step(`delete validatingwebhookconfiguration ${name}`);
  }
  async makeBindingDependOnRole(binding: string, role: string): Promise<'patched'> {
    this.step(`patch clusterrolebinding ${binding} owner clusterrole ${role}`);
    return 'patched';
  }
  async deleteClusterRole(name: string): Promise<DeleteResult> {
    return this.step(`delete clusterrole ${name}`);
  }
  async deleteNamespace(name: string): Promise<DeleteResult> {
    return this.step(`delete namespace ${name}`);
  }
}

/** Cluster objects a test changes by hand, as informers would report them. */
export class FakeClusterWatch implements ClusterWatch {
  synced = true;
  started = 0;
  stopped = 0;
  private onChange: () => void = () => undefined;

  constructor(public current: ClusterObjects) {}

  start(onChange: () => void): void {
    this.started += 1;
    this.onChange = onChange;
  }
  async stop(): Promise<void> {
    this.stopped += 1;
  }
  objects(): ClusterObjects {
    return this.current;
  }
  change(mutate: (objects: ClusterObjects) => ClusterObjects): void {
    this.current = mutate(this.current);
    this.onChange();
  }
}
