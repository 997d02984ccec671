/** In-memory fakes of the agent's side-effect interfaces, for unit tests. */
import { type DesiredStateFull, type DesiredStateResponse, DesiredStateResponseSchema } from '../../protocol/desired-state';
import { AGENT_ERROR_HTTP_STATUS, type AgentErrorCode } from '../../protocol/errors';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { RegisterRequestSchema, type RegisterRequest } from '../../protocol/register';
import { renewalSignedMessage, RenewCredentialRequestSchema } from '../../protocol/renewal';
import { type Directive, type ReportItem, ReportsRequestSchema } from '../../protocol/reports';
import { TEST_CLUSTER_ID, TEST_KUBE_SYSTEM_UID } from '../../protocol/testing/factories';
import { AgentApiError, type AgentApi, type ApiResult } from '../api-client';
import type { ClusterWatch } from '../inventory/cluster-watch';
import { type SecretContent, SecretConflictError, type SecretGateway } from '../identity/credential-store';
import type { ClusterObjects } from '../inventory/inventory-builder';
import type { V1PolicyRule } from '@kubernetes/client-node';
import { AgentObjectNames as N } from '../../agent-install/names';
import { AGENT_INSTALLED_CLUSTER_RULES, sameRule } from '../../agent-install/rbac';
import type { AgentKube, ClusterRoleAdoption, ClusterRoleState, DeleteResult, RbacObject, Unreadable } from '../kube-gateway';

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
    if (!this.data || resourceVersion !== String(this.resourceVersion)) {
      throw new SecretConflictError();
    }
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
  /** Used tokens and the installation secret of their first registration (the API keeps its hash). */
  readonly usedTokens = new Map<string, string | undefined>();
  /** Registers, then fails the next N answers as lost on the way back (network error). */
  loseRegisterAnswers = 0;
  /** Called with each register request before it is handled. */
  onRegister: ((request: RegisterRequest) => void) | undefined;
  readonly credentials = new Map<string, { revoked: boolean; expired?: boolean }>();
  /** Renewals answered, by the expired credential they renewed. */
  readonly renewals: string[] = [];
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
    for (const c of this.credentials.values()) {
      c.revoked = true;
    }
  }

  private issue(): { credential: string; credentialExpiresAt: string } {
    this.issued += 1;
    const credential = `fpc_fake_credential_${String(this.issued).padStart(4, '0')}`;
    this.credentials.set(credential, { revoked: false });
    return { credential, credentialExpiresAt: new Date(Date.now() + this.credentialLifetimeMs).toISOString() };
  }

  /** Every credential issued so far expires (the agent was offline longer than their lifetime). */
  expireAll(): void {
    for (const c of this.credentials.values()) {
      c.expired = true;
    }
  }

  private authenticate(credential: string, { expired = false } = {}): void {
    const c = this.credentials.get(credential);
    if (!c) {
      throw apiError('CREDENTIAL_INVALID');
    }
    if (c.revoked) {
      throw apiError('CREDENTIAL_REVOKED');
    }
    if (!expired && c.expired) {
      throw apiError('CREDENTIAL_EXPIRED');
    }
    if (expired && !c.expired) {
      throw apiError('CREDENTIAL_NOT_EXPIRED');
    }
  }

  /** Verifies the signature with the renewal public key of the last registration, as the API does. */
  async renewCredential(expiredCredential: string, request: unknown) {
    this.reachable('renew');
    this.authenticate(expiredCredential, { expired: true });
    const body = RenewCredentialRequestSchema.parse(request);
    const publicKey = this.registerRequests.at(-1)?.renewalPublicKey;
    if (!publicKey) {
      throw apiError('RENEWAL_NOT_ENROLLED');
    }
    const key = createPublicKey({ key: Buffer.from(publicKey, 'base64url'), format: 'der', type: 'spki' });
    const message = renewalSignedMessage(body, createHash('sha256').update(expiredCredential).digest('hex'));
    if (!verify(null, Buffer.from(message), key, Buffer.from(body.signature, 'base64url'))) {
      throw apiError('RENEWAL_SIGNATURE_INVALID');
    }
    this.renewals.push(expiredCredential);
    this.credentials.get(expiredCredential)!.revoked = true;
    return { body: this.issue(), serverTime: Date.now() };
  }

  private reachable(call: string): void {
    this.calls.push(call);
    if (this.offline) {
      throw new AgentApiError('network', `POST ${call} failed: ECONNREFUSED`);
    }
  }

  async register(request: RegisterRequest) {
    this.reachable('register');
    const body = RegisterRequestSchema.parse(request);
    this.registerRequests.push(body);
    this.onRegister?.(body);
    if (this.usedTokens.has(body.registrationToken)) {
      // A repeat: only the installation that used the token, before it used its credential.
      const first = this.usedTokens.get(body.registrationToken);
      if (!first || first !== body.installationSecret) {
        throw apiError('TOKEN_USED');
      }
      this.revokeAll();
    } else {
      if (!this.validTokens.has(body.registrationToken)) {
        throw apiError('TOKEN_UNKNOWN');
      }
      this.validTokens.delete(body.registrationToken);
      this.usedTokens.set(body.registrationToken, body.installationSecret);
    }
    const answer = { body: { clusterId: this.clusterId, ...this.issue(), heartbeatIntervalSeconds: 1, reportIntervalSeconds: 1 }, serverTime: Date.now() };
    if (this.loseRegisterAnswers > 0) {
      this.loseRegisterAnswers -= 1;
      throw new AgentApiError('network', 'POST register failed: ECONNRESET');
    }
    return answer;
  }

  async rotateCredential(credential: string, request: { clusterId: string }) {
    this.reachable('rotate');
    this.authenticate(credential);
    if (this.failRotations > 0) {
      this.failRotations -= 1;
      throw apiError('INTERNAL_ERROR');
    }
    if (request.clusterId !== this.clusterId) {
      throw apiError('CREDENTIAL_WRONG_CLUSTER');
    }
    return { body: this.issue(), serverTime: Date.now() };
  }

  /** Acknowledgements of DETACH received; the fake then revokes every credential, as the API does. */
  readonly detachAcks: string[] = [];
  /** Answer INTERNAL_ERROR to the next N acknowledgements. */
  failDetachAcks = 0;

  async acknowledgeDetach(credential: string, request: { clusterId: string }) {
    this.reachable('detach-ack');
    this.authenticate(credential);
    if (this.failDetachAcks > 0) {
      this.failDetachAcks -= 1;
      throw apiError('INTERNAL_ERROR');
    }
    if (request.clusterId !== this.clusterId) {
      throw apiError('CREDENTIAL_WRONG_CLUSTER');
    }
    this.detachAcks.push(credential);
    this.revokeAll();
    return { body: { clusterId: this.clusterId, detachedAt: new Date().toISOString() }, serverTime: Date.now() };
  }

  async sendReports(credential: string, request: unknown): Promise<ApiResult<{ ackedSeq: number; directives: Directive[] }>> {
    this.reachable('reports');
    this.authenticate(credential);
    const body = ReportsRequestSchema.parse(request);
    if (body.clusterId !== this.clusterId) {
      throw apiError('CREDENTIAL_WRONG_CLUSTER');
    }
    if (this.refuseSeq !== undefined && body.items.some((i) => i.seq === this.refuseSeq)) {
      throw apiError('PROTOCOL_INVALID_BODY');
    }
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

  /** The cluster's desired state as the API would compute it (null: none assigned, generation 0). */
  desired: DesiredStateFull | null = null;
  /** Bundle bytes by sha256; `tamperedBundles` answers other bytes than their name says. */
  readonly bundleBytes = new Map<string, Uint8Array>();
  readonly tamperedBundles = new Map<string, Uint8Array>();
  readonly bundleRequests: string[] = [];

  /** Sets the state the API serves: its bundles' bytes and the constraints that use them. */
  publish(
    generation: number,
    bundles: Record<string, Uint8Array>,
    constraints: DesiredStateFull['constraints'],
    admission: DesiredStateFull['admission'] = { failurePolicy: 'Ignore', timeoutSeconds: 3 },
  ): void {
    for (const [sha256, bytes] of Object.entries(bundles)) {
      this.bundleBytes.set(sha256, bytes);
    }
    this.desired = { generation, unchanged: false, constraints, bundles: Object.keys(bundles).sort(), admission, inventoryKinds: [] };
  }

  async desiredState(credential: string, generation: number | undefined): Promise<ApiResult<DesiredStateResponse>> {
    this.reachable('desired-state');
    this.authenticate(credential);
    const state = this.desired ?? {
      generation: 0,
      unchanged: false as const,
      constraints: [],
      bundles: [],
      admission: { failurePolicy: 'Ignore' as const, timeoutSeconds: 3 },
      inventoryKinds: [],
    };
    const body: DesiredStateResponse = generation === state.generation ? { generation, unchanged: true } : state;
    return { body: DesiredStateResponseSchema.parse(body), serverTime: Date.now() };
  }

  async bundle(credential: string, sha256: string): Promise<ApiResult<Uint8Array>> {
    this.reachable('bundle');
    this.authenticate(credential);
    this.bundleRequests.push(sha256);
    const bytes = this.desired?.bundles.includes(sha256) ? (this.tamperedBundles.get(sha256) ?? this.bundleBytes.get(sha256)) : undefined;
    if (!bytes) {
      throw apiError('BUNDLE_NOT_FOUND');
    }
    return { body: bytes, serverTime: Date.now() };
  }
}

/**
 * The agent's Kubernetes calls, recorded, with its ClusterRole and ClusterRoleBinding in memory as
 * the install manifests create them. Writes to the role follow the apiserver: conditional on
 * resourceVersion, allowed only while the role grants patch (the adoption rule) and only with rules
 * the role already grants (escalation check); deleting the binding garbage-collects a role it owns.
 */
export class FakeAgentKube implements AgentKube {
  readonly calls: string[] = [];
  failDetachSteps = 0;
  /** Each detach step fails the first time it is called. */
  failEachDetachStepOnce = false;
  private readonly failedSteps = new Set<string>();
  /** Answer 403 to every RBAC read. */
  rbacForbidden = false;
  binding: RbacObject | null = { uid: '0b1d0000-0000-4000-8000-000000000001', resourceVersion: '10' };
  role: ClusterRoleState | null = {
    uid: '0a1e0000-0000-4000-8000-000000000001',
    resourceVersion: '11',
    rules: structuredClone(AGENT_INSTALLED_CLUSTER_RULES),
    ownerReferences: [],
  };
  private nextResourceVersion = 12;

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
  private step(call: string): void {
    if (this.failEachDetachStepOnce && !this.failedSteps.has(call)) {
      this.failedSteps.add(call);
      throw new Error(`${call}: connection reset`);
    }
    if (this.failDetachSteps > 0) {
      this.failDetachSteps -= 1;
      throw new Error(`${call}: connection reset`);
    }
    this.calls.push(call);
  }
  async deleteValidatingWebhookConfiguration(name: string): Promise<DeleteResult> {
    this.step(`delete validatingwebhookconfiguration ${name}`);
    return 'deleted';
  }
  async readClusterRoleBinding(name: string): Promise<RbacObject | Unreadable> {
    this.calls.push(`get clusterrolebinding ${name}`);
    if (this.rbacForbidden) {
      return 'forbidden';
    }
    return name === N.clusterRoleBinding && this.binding ? { ...this.binding } : 'absent';
  }
  async readClusterRole(name: string): Promise<ClusterRoleState | Unreadable> {
    this.calls.push(`get clusterrole ${name}`);
    if (this.rbacForbidden) {
      return 'forbidden';
    }
    return name === N.clusterRole && this.role ? structuredClone(this.role) : 'absent';
  }
  async adoptClusterRole(name: string, change: ClusterRoleAdoption): Promise<'patched' | 'conflict' | Unreadable> {
    this.calls.push(`patch clusterrole ${name}`);
    if (name !== N.clusterRole || !this.role) {
      return 'absent';
    }
    const holds = (rule: V1PolicyRule) => this.role!.rules.some((r) => sameRule(r, rule));
    const mayPatch = holds({ apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], resourceNames: [N.clusterRole], verbs: ['patch'] });
    if (!mayPatch || !change.rules.every(holds)) {
      return 'forbidden';
    }
    if (change.resourceVersion !== this.role.resourceVersion) {
      return 'conflict';
    }
    this.role = {
      ...this.role,
      rules: structuredClone(change.rules),
      ownerReferences: structuredClone(change.ownerReferences),
      resourceVersion: String(this.nextResourceVersion++),
    };
    return 'patched';
  }
  /** Called after the binding is deleted (a test's hook for what happens meanwhile elsewhere). */
  onDeleteClusterRoleBinding: (() => void) | undefined;

  async deleteClusterRoleBinding(name: string): Promise<DeleteResult> {
    this.step(`delete clusterrolebinding ${name}`);
    this.onDeleteClusterRoleBinding?.();
    if (!this.binding) {
      return 'absent';
    }
    const uid = this.binding.uid;
    this.binding = null;
    // The garbage collector: a role owned by the deleted binding goes with it.
    if (this.role?.ownerReferences.some((r) => r.kind === 'ClusterRoleBinding' && r.uid === uid)) {
      this.role = null;
    }
    return 'deleted';
  }
  async deleteNamespace(name: string): Promise<DeleteResult> {
    this.step(`delete namespace ${name}`);
    return 'deleted';
  }

  /** The role as re-applied install manifests leave it: the adoption rule back, owner references kept. */
  reapplyManifests(): void {
    if (this.role) {
      this.role = { ...this.role, rules: structuredClone(AGENT_INSTALLED_CLUSTER_RULES), resourceVersion: String(this.nextResourceVersion++) };
    }
  }

  /** Calls other than the RBAC adoption reads and patches. */
  get nonAdoptionCalls(): string[] {
    return this.calls.filter((c) => !/^(get|patch) clusterrole/.test(c));
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
