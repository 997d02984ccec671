import type { AdmissionregistrationV1Api } from '@kubernetes/client-node';
import type { EvaluateOptions, PolicyEngine } from '../../policy-engine/engine';
import type { AdmissionReviewRequest, ConstraintForEvaluation, ConstraintResult } from '../../policy-engine/types';
import type { DesiredStateStatus } from '../desired-state-status';
import type { Logger } from '../logger';
import { type BackoffSettings, runLoop } from '../loop';
import { type DesiredStateConstraint, DesiredStateError, DesiredStateErrorCode, loadDesiredState, type DesiredState } from '../desired-state-store';
import { desiredWebhooks, syncWebhookConfiguration, type WebhookSettings } from './webhook-configuration';
import type { SyncKind } from '../../policy-engine/sync-requirements';
import type { InventorySync } from './inventory-sync';
import type { WebhookPolicies } from './webhook-server';

const NAMESPACE_KIND: SyncKind = { group: '', version: 'v1', kind: 'Namespace' };

/**
 * The kinds to watch: what the referential templates read, and Namespaces when a constraint matches by
 * namespaceSelector (the engine then needs the object's Namespace; without it the decision fails).
 */
export function withNamespacesWhenSelected(kinds: readonly SyncKind[], constraints: readonly ConstraintForEvaluation[]): SyncKind[] {
  const needsNamespaces = constraints.some((c) => c.match?.namespaceSelector);
  const has = kinds.some((k) => k.group === '' && k.kind === 'Namespace');
  return needsNamespaces && !has ? [...kinds, NAMESPACE_KIND] : [...kinds];
}

export interface AdmissionLoopDeps {
  stateDir: string;
  engine: PolicyEngine;
  admissionApi: AdmissionregistrationV1Api;
  /** The agent's own ValidatingWebhookConfiguration (farpoint-agent). */
  configurationName: string;
  webhook: WebhookSettings;
  log: Logger;
  backoff: BackoffSettings;
  /** How often the state on disk and the configuration in the cluster are checked. */
  intervalMs: number;
  /** Told the generation it runs and why a state was refused (for the heartbeats). */
  status?: DesiredStateStatus;
  /** data.inventory for referential templates; told the kinds of each state applied. */
  inventory?: Pick<InventorySync, 'setKinds' | 'current'>;
}

/** The running state and the engine with its bundles loaded, for the audit loop (agent.ts wires them). */
export interface RunningPolicies {
  generation: number;
  constraints: readonly DesiredStateConstraint[];
  evaluate(request: AdmissionReviewRequest, constraints: readonly ConstraintForEvaluation[], options?: EvaluateOptions): ConstraintResult[];
}

interface Running {
  generation: number;
  constraints: readonly DesiredStateConstraint[];
  admission?: DesiredState['admission'];
}

/**
 * Admission from the desired state on disk: each step reads the state (verified), and when its
 * generation differs from the one running, loads its bundles into the engine and switches to it —
 * a state that fails to load (tampered bundle, bad file) is logged and the running one keeps deciding.
 * Then it keeps the ValidatingWebhookConfiguration in line with the running constraints (rules for
 * their kinds, the CA bundle), writing it only when it differs. Needs no credential: it decides offline.
 */
export class AdmissionLoop {
  private running: Running = { generation: -1, constraints: [] };
  private lastRefused: string | undefined;

  constructor(private readonly deps: AdmissionLoopDeps) {}

  /** What the webhook server evaluates with, read per request. */
  readonly policies = (): WebhookPolicies => ({
    constraints: this.running.constraints,
    evaluate: (request: AdmissionReviewRequest, constraints: readonly ConstraintForEvaluation[]): ConstraintResult[] => {
      if (!this.deps.inventory) {
        return this.deps.engine.evaluate(request, constraints);
      }
      const inventory = this.deps.inventory.current();
      // A namespaceSelector matches on the labels of the object's Namespace, from the same watch.
      const namespaceObject = request.namespace ? (inventory.cluster?.v1?.Namespace?.[request.namespace] as Record<string, unknown> | undefined) : undefined;
      return this.deps.engine.evaluate(request, constraints, { inventory, ...(namespaceObject ? { namespaceObject } : {}) });
    },
  });

  get generation(): number {
    return this.running.generation;
  }

  /** The running state for the audit (same engine, bundles loaded); null before a state ran. */
  readonly auditPolicies = (): RunningPolicies | null =>
    this.running.generation < 0
      ? null
      : {
          generation: this.running.generation,
          constraints: this.running.constraints,
          // The same data.inventory as admission, for referential templates.
          evaluate: (request, constraints, options) =>
            this.deps.engine.evaluate(request, constraints, { ...(this.deps.inventory ? { inventory: this.deps.inventory.current() } : {}), ...options }),
        };

  run(signal: AbortSignal): Promise<void> {
    const { log, backoff } = this.deps;
    return runLoop(
      { name: 'admission loop', log, backoff },
      async (ctx) => {
        await this.step();
        ctx.succeeded();
        return this.deps.intervalMs;
      },
      signal,
    );
  }

  /** One pass: apply a new desired state if there is one, then sync the webhook configuration. */
  async step(): Promise<void> {
    await this.applyDesiredState();
    const { admissionApi, configurationName, webhook, log } = this.deps;
    // The state's failure policy and timeout (its cluster group's) win over the defaults.
    const settings = { ...webhook, ...(this.running.admission ?? {}) };
    if (await syncWebhookConfiguration(admissionApi, configurationName, desiredWebhooks(this.running.constraints, settings))) {
      log.info('admission webhook configuration written', { generation: this.running.generation, constraints: this.running.constraints.length });
    }
  }

  private async applyDesiredState(): Promise<void> {
    const { stateDir, engine, log } = this.deps;
    let state: DesiredState;
    try {
      state = await loadDesiredState(stateDir);
    } catch (error) {
      if (error instanceof DesiredStateError && error.code === DesiredStateErrorCode.DESIRED_STATE_MISSING) {
        return;
      }
      this.refused(String((error as Error).message), error);
      return;
    }
    if (state.generation === this.running.generation) {
      this.deps.status?.applied(state.generation);
      return;
    }
    try {
      for (const [sha256, wasm] of state.bundles) {
        await engine.load(sha256, wasm);
      }
    } catch (error) {
      this.refused(`generation ${state.generation}: ${(error as Error).message}`, error);
      return;
    }
    const previous = this.running;
    this.running = { generation: state.generation, constraints: state.constraints, admission: state.admission };
    this.lastRefused = undefined;
    this.deps.inventory?.setKinds(withNamespacesWhenSelected(state.inventoryKinds, state.constraints));
    this.deps.status?.applied(state.generation);
    const inUse = new Set(state.constraints.map((c) => c.bundleSha256));
    for (const c of previous.constraints) {
      if (!inUse.has(c.bundleSha256)) {
        engine.unload(c.bundleSha256);
      }
    }
    log.info('admission desired state applied', { generation: state.generation, constraints: state.constraints.length });
  }

  /** Logs a refused state once (the loop re-reads it every interval), keeping the running one. */
  private refused(key: string, error: unknown): void {
    this.deps.status?.applyFailed({ code: error instanceof DesiredStateError ? error.code : 'DESIRED_STATE_NOT_APPLIED', message: key });
    if (this.lastRefused !== key) {
      this.lastRefused = key;
      this.deps.log.warn('desired state refused; the running state keeps deciding', { error, runningGeneration: this.running.generation });
    }
  }
}
