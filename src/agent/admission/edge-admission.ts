import { AdmissionregistrationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { PolicyEngine } from '../../policy-engine/engine';
import type { DesiredStateStatus } from '../desired-state-status';
import type { Logger } from '../logger';
import type { BackoffSettings } from '../loop';
import { AdmissionLoop } from './admission-loop';
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
}

/**
 * Admission as one unit for agent.ts: the serving certificate, the webhook server and the admission
 * loop, from start to stop. Runs without a credential (it decides from the state on disk, offline
 * included); never rejects: a failure to start is logged and admission stays off (fail open).
 */
export class EdgeAdmission {
  constructor(private readonly options: EdgeAdmissionOptions) {}

  async run(signal: AbortSignal): Promise<void> {
    const o = this.options;
    let server: WebhookServer | undefined;
    let inventory: InventorySync | undefined;
    try {
      inventory = createInventorySync(o.kubeConfig, o.log);
      const names = [new URL(o.url).hostname.replace(/^\[|\]$/g, '')];
      const store = o.tlsStore ?? o.stateDir;
      const tls = await loadOrCreateServingTls(store, names);
      const loop = new AdmissionLoop({
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
      });
      server = new WebhookServer({ certPem: tls.certPem, keyPem: tls.keyPem, log: o.log, policies: loop.policies });
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
        await loop.run(signal);
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
