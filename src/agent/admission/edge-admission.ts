import { AdmissionregistrationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { PolicyEngine } from '../../policy-engine/engine';
import type { DesiredStateStatus } from '../desired-state-status';
import type { Logger } from '../logger';
import type { BackoffSettings } from '../loop';
import type { ReportItemKind, ReportPayloadOf } from '../../protocol/reports';
import { AdmissionLoop, type RunningPolicies } from './admission-loop';
import { AdmissionSummaryAggregator } from './admission-summary';
import { createInventorySync, type InventorySync } from './inventory-sync';
import { loadOrCreateServingTls, type TlsStore } from './serving-tls';
import { WebhookServer } from './webhook-server';

export interface EdgeAdmissionOptions {
  stateDir: string;
  /** https URL the apiserver calls (…/validate); its host is the serving certificate's name. */
  url: string;
  listenHost: string;
  port: number;
  kubeConfig: KubeConfig;
  configurationName: string;
  log: Logger;
  backoff: BackoffSettings;
  intervalMs: number;
  /** Shared with the desired-state loop and the heartbeats: the generation admission runs. */
  status?: DesiredStateStatus;
  /** Where the CA and serving certificate are kept: the agent's Secret in a cluster; default a file in stateDir. */
  tlsStore?: TlsStore;
  /** How often the serving certificate is checked for renewal (default 12 h; renewed 30 days before expiry). */
  tlsCheckIntervalMs?: number;
  /** FARPOINT_ADMISSION_SUMMARY_SECONDS. */
  summaryWindowMs: number;
  now?: () => number;
}

/** Where audit results and admission summaries go: the agent's report outbox. */
export interface PolicyReportSink {
  enqueue<K extends ReportItemKind>(kind: K, payload: ReportPayloadOf<K>): void;
}

/**
 * Admission as one unit for agent.ts: the serving certificate, the webhook server, the admission
 * loop and the admission summaries, from start to stop; the audit loop reads its running state. Runs without a
 * credential (it decides from the state on disk, offline included; its reports wait in the outbox);
 * never rejects: a failure to start is logged and admission stays off (fail open).
 */
export class EdgeAdmission {
  private loop?: AdmissionLoop;

  constructor(private readonly options: EdgeAdmissionOptions) {}

  /** What the audit loop evaluates with: the running state, null until one runs. */
  readonly auditPolicies = (): RunningPolicies | null => this.loop?.auditPolicies() ?? null;

  async run(signal: AbortSignal, reports: PolicyReportSink): Promise<void> {
    const o = this.options;
    const now = o.now ?? Date.now;
    let server: WebhookServer | undefined;
    let inventory: InventorySync | undefined;
    try {
      inventory = createInventorySync(o.kubeConfig, o.log);
      const names = [new URL(o.url).hostname.replace(/^\[|\]$/g, '')];
      const store = o.tlsStore ?? o.stateDir;
      const tls = await loadOrCreateServingTls(store, names);
      const loop = (this.loop = new AdmissionLoop({
        stateDir: o.stateDir,
        engine: new PolicyEngine(),
        admissionApi: o.kubeConfig.makeApiClient(AdmissionregistrationV1Api),
        configurationName: o.configurationName,
        webhook: { endpoint: { url: o.url }, caBundlePem: tls.caPem },
        log: o.log,
        backoff: o.backoff,
        intervalMs: o.intervalMs,
        status: o.status,
        inventory,
      }));
      const summaries = new AdmissionSummaryAggregator({ sink: reports, log: o.log, backoff: o.backoff, windowMs: o.summaryWindowMs, now });
      server = new WebhookServer({ certPem: tls.certPem, keyPem: tls.keyPem, log: o.log, policies: loop.policies, onDecision: summaries.record });
      const port = await server.listen(o.port, o.listenHost);
      o.log.info('admission webhook listening', { host: o.listenHost, port, url: o.url });
      // Rotated before expiry without a restart: a new serving certificate from the same CA (the
      // caBundle the apiserver holds stays valid), swapped into the running server.
      const renewal = setInterval(
        () => {
          void loadOrCreateServingTls(store, names).then(
            (next) => {
              if (next.certPem !== tls.certPem) {
                server?.updateCertificate(next.certPem, next.keyPem);
                tls.certPem = next.certPem;
                tls.keyPem = next.keyPem;
                o.log.info('admission serving certificate renewed');
              }
            },
            (error: unknown) => o.log.warn('cannot renew the admission serving certificate; retrying later', { error }),
          );
        },
        o.tlsCheckIntervalMs ?? 12 * 3_600_000,
      );
      renewal.unref();
      try {
        await Promise.all([loop.run(signal), summaries.run(signal)]);
      } finally {
        clearInterval(renewal);
      }
    } catch (error) {
      o.log.error('admission cannot start; the webhook fails open', { error });
    } finally {
      await server?.close();
      await inventory?.stop();
    }
  }
}
