import { z } from 'zod';
import { AgentEnv, AgentObjectNames } from '../agent-install/names';
import { AgentVersionSchema } from '../protocol/common';
import { DEFAULT_AGENT_VERSION } from './version';

export interface AgentConfig {
  apiUrl: string;
  /** The cluster the install manifests were rendered for; a registration for another cluster is refused. */
  expectedClusterId?: string;
  namespace: string;
  secretName: string;
  stateDir: string;
  agentVersion: string;
  /** Until the API's register response (kept in the Secret) says otherwise, unless forceIntervals. */
  heartbeatIntervalMs: number;
  reportIntervalMs: number;
  /** Use the intervals above even when the API sent others (tests, troubleshooting). */
  forceIntervals: boolean;
  httpTimeoutMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** How often a stopped agent (credential or token rejected) looks at its Secret again. */
  idleRecheckMs: number;
  queueMaxItems: number;
  queueMaxBytes: number;
  /** Share of the credential lifetime after which the agent rotates it. */
  rotateAtFraction: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Edge admission (FARPOINT_ADMISSION=on; undefined when off, the default); with it, the desired-state loop polls the API every desiredStateIntervalMs. */
  admission?: { url: string; listenHost: string; port: number; intervalMs: number; desiredStateIntervalMs: number; auditIntervalMs: number; summaryWindowMs: number };
}

const seconds = (fallback: number) =>
  z.coerce
    .number()
    .positive()
    .max(86_400)
    .default(fallback)
    .transform((s) => Math.round(s * 1000));
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** Environment variables, with their defaults. Seconds may be fractional (tests use 0.05). */
const EnvSchema = z.object({
  [AgentEnv.apiUrl]: z.url({ protocol: /^https?$/ }),
  [AgentEnv.clusterId]: z.uuid().optional(),
  [AgentEnv.namespace]: z.string().min(1).max(63).default(AgentObjectNames.namespace),
  [AgentEnv.secretName]: z.string().min(1).max(253).default(AgentObjectNames.secret),
  [AgentEnv.stateDir]: z.string().min(1).default('/var/lib/farpoint-agent'),
  [AgentEnv.agentVersion]: AgentVersionSchema.default(DEFAULT_AGENT_VERSION),
  [AgentEnv.heartbeatIntervalSeconds]: seconds(20),
  [AgentEnv.reportIntervalSeconds]: seconds(10),
  FARPOINT_AGENT_HTTP_TIMEOUT_SECONDS: seconds(30),
  FARPOINT_AGENT_BACKOFF_INITIAL_SECONDS: seconds(1),
  FARPOINT_AGENT_BACKOFF_MAX_SECONDS: seconds(300),
  FARPOINT_AGENT_IDLE_RECHECK_SECONDS: seconds(300),
  FARPOINT_AGENT_QUEUE_MAX_ITEMS: positiveInt(20_000),
  FARPOINT_AGENT_QUEUE_MAX_BYTES: positiveInt(16 * 1024 * 1024),
  FARPOINT_AGENT_FORCE_INTERVALS: z.enum(['true', 'false']).default('false'),
  FARPOINT_AGENT_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  FARPOINT_ADMISSION: z.enum(['on', 'off']).default('off'),
  FARPOINT_ADMISSION_URL: z.url({ protocol: /^https$/ }).optional(),
  FARPOINT_ADMISSION_LISTEN_HOST: z.string().min(1).default('0.0.0.0'),
  FARPOINT_ADMISSION_PORT: z.coerce.number().int().min(1).max(65_535).default(9443),
  FARPOINT_ADMISSION_INTERVAL_SECONDS: seconds(5),
  FARPOINT_DESIRED_STATE_INTERVAL_SECONDS: seconds(10),
  FARPOINT_AUDIT_INTERVAL_SECONDS: seconds(60),
  FARPOINT_ADMISSION_SUMMARY_SECONDS: seconds(60),
});

export class AgentConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid agent configuration: ${problems.join('; ')}`);
    this.name = 'AgentConfigError';
  }
}

/** Reads the agent configuration from the environment; throws AgentConfigError naming every bad variable. */
export function loadAgentConfig(env: NodeJS.ProcessEnv): AgentConfig {
  // Empty variables count as unset (a ConfigMap key may be present but blank).
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    throw new AgentConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  if (e.FARPOINT_ADMISSION === 'on' && !e.FARPOINT_ADMISSION_URL) {
    throw new AgentConfigError(['FARPOINT_ADMISSION_URL: required when FARPOINT_ADMISSION=on (the https URL of /validate the apiserver calls)']);
  }
  return {
    apiUrl: e.FARPOINT_API_URL,
    expectedClusterId: e.FARPOINT_CLUSTER_ID,
    namespace: e.FARPOINT_AGENT_NAMESPACE,
    secretName: e.FARPOINT_AGENT_SECRET_NAME,
    stateDir: e.FARPOINT_AGENT_STATE_DIR,
    agentVersion: e.FARPOINT_AGENT_VERSION,
    heartbeatIntervalMs: e.FARPOINT_HEARTBEAT_INTERVAL_SECONDS,
    reportIntervalMs: e.FARPOINT_REPORT_INTERVAL_SECONDS,
    forceIntervals: e.FARPOINT_AGENT_FORCE_INTERVALS === 'true',
    httpTimeoutMs: e.FARPOINT_AGENT_HTTP_TIMEOUT_SECONDS,
    backoffInitialMs: e.FARPOINT_AGENT_BACKOFF_INITIAL_SECONDS,
    backoffMaxMs: e.FARPOINT_AGENT_BACKOFF_MAX_SECONDS,
    idleRecheckMs: e.FARPOINT_AGENT_IDLE_RECHECK_SECONDS,
    queueMaxItems: e.FARPOINT_AGENT_QUEUE_MAX_ITEMS,
    queueMaxBytes: e.FARPOINT_AGENT_QUEUE_MAX_BYTES,
    rotateAtFraction: 2 / 3,
    logLevel: e.FARPOINT_AGENT_LOG_LEVEL,
    admission:
      e.FARPOINT_ADMISSION === 'on' && e.FARPOINT_ADMISSION_URL
        ? {
            url: e.FARPOINT_ADMISSION_URL,
            listenHost: e.FARPOINT_ADMISSION_LISTEN_HOST,
            port: e.FARPOINT_ADMISSION_PORT,
            intervalMs: e.FARPOINT_ADMISSION_INTERVAL_SECONDS,
            desiredStateIntervalMs: e.FARPOINT_DESIRED_STATE_INTERVAL_SECONDS,
            auditIntervalMs: e.FARPOINT_AUDIT_INTERVAL_SECONDS,
            summaryWindowMs: e.FARPOINT_ADMISSION_SUMMARY_SECONDS,
          }
        : undefined,
  };
}
