/**
 * Entry point of the in-cluster agent (its own image, see Dockerfile.agent): configuration, the queue
 * log and the gateways (Kubernetes, API, Secret, informers) for the loops agent.ts wires. Outside a
 * cluster it uses KUBECONFIG; inside, the pod's service account (KubeConfig.loadFromDefault does both).
 */
import { KubeConfig } from '@kubernetes/client-node';
import { AgentObjectNames } from '../agent-install/names';
import { EdgeAdmission } from './admission/edge-admission';
import { KubernetesAuditKube } from './audit/audit-kube';
import { AuditLoop } from './audit/audit-loop';
import { secretTlsStore } from './admission/serving-tls';
import { DesiredStateStatus } from './desired-state-status';
import { Agent } from './agent';
import { HttpAgentApi } from './api-client';
import { createClusterWatch } from './inventory/cluster-watch';
import { AgentConfigError, loadAgentConfig } from './config';
import { CredentialStore } from './identity/credential-store';
import { ClientNodeAgentKube, secretGateway } from './kube-gateway';
import { createJsonLogger } from './logger';
import { QueueLog } from './reporting/queue-log';

async function main(): Promise<number> {
  let config;
  try {
    config = loadAgentConfig(process.env);
  } catch (error) {
    if (!(error instanceof AgentConfigError)) {
      throw error;
    }
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: error.message, problems: error.problems })}\n`);
    return 2;
  }
  const log = createJsonLogger(config.logLevel);
  // Errors never end the agent: anything that escapes a handler is logged, not fatal.
  process.on('unhandledRejection', (error) => log.error('unhandled rejection', { error }));
  process.on('uncaughtException', (error) => log.error('uncaught exception', { error }));

  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const kube = new ClientNodeAgentKube(kubeConfig);

  const { queue, log: queueLog, recovery } = await QueueLog.open(config.stateDir, { limits: { maxItems: config.queueMaxItems, maxBytes: config.queueMaxBytes } });
  if (recovery.truncatedBytes || recovery.corruptSegments || recovery.invalidItems || recovery.checkpoint === 'corrupt' || recovery.legacyCorrupt) {
    log.warn('report queue recovered with losses', { ...recovery });
  } else {
    log.info('report queue recovered', { ...recovery });
  }
  log.info('agent starting', {
    version: config.agentVersion,
    apiUrl: config.apiUrl,
    namespace: config.namespace,
    cluster: kubeConfig.getCurrentCluster()?.server,
    queuedItems: queue.depth,
  });

  // What admission runs, told to the API in heartbeats by way of the agent's loops.
  const desiredStateStatus = new DesiredStateStatus();
  const backoff = { initialMs: config.backoffInitialMs, maxMs: config.backoffMaxMs };
  const admission =
    config.admission &&
    new EdgeAdmission({
      ...config.admission,
      stateDir: config.stateDir,
      kubeConfig,
      configurationName: AgentObjectNames.validatingWebhookConfiguration,
      log,
      backoff,
      status: desiredStateStatus,
      // The CA and serving certificate live in the agent's Secret, beside its credential.
      tlsStore: secretTlsStore(secretGateway(kube, config.namespace, config.secretName)),
    });
  const auditIntervalMs = config.admission?.auditIntervalMs ?? 60_000;
  const agent = new Agent({
    desiredStateStatus,
    config,
    log,
    api: new HttpAgentApi({ apiUrl: config.apiUrl, agentVersion: config.agentVersion, timeoutMs: config.httpTimeoutMs }),
    credentials: new CredentialStore(secretGateway(kube, config.namespace, config.secretName)),
    kube,
    watch: createClusterWatch(kubeConfig, log),
    queue,
    saveQueue: () => queueLog.save(),
    admission,
    audit: admission
      ? (reports) =>
          new AuditLoop({
            kube: new KubernetesAuditKube(kubeConfig),
            policies: admission.auditPolicies,
            sink: reports,
            log,
            backoff,
            intervalMs: auditIntervalMs,
            minGapMs: AUDIT_MIN_GAP_MS,
            resendMs: AUDIT_RESEND_MS,
            now: Date.now,
          })
      : undefined,
  });

  const controller = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log.info('stopping', { signal });
      controller.abort();
    });
  }
  const outcome = await agent.run(controller.signal);
  await queueLog.save().catch((error: unknown) => log.warn('cannot save the report queue', { error }));
  await queueLog.close().catch(() => undefined);
  log.info('agent exiting', { outcome });
  return 0;
}

/** Audits run at most this often however busy the cluster; an unchanged result is sent again every 15 minutes. */
const AUDIT_MIN_GAP_MS = 5_000;
const AUDIT_RESEND_MS = 15 * 60 * 1000;

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: 'agent failed to start', error: String(error) })}\n`);
    process.exit(1);
  },
);
