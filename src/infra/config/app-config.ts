import { isIP } from 'node:net';
import { z } from 'zod';
import { parseCidrs } from '../kubernetes/egress-policy';

/** Every setting Farpoint reads from the environment, validated once at start-up. */
const schema = z.object({
  // Unset means production: a deployment that forgets NODE_ENV must not fall back to development keys.
  NODE_ENV: z.enum(['development', 'test', 'production']).default('production'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL'),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL'),
  // Postgres connections per process. Size it with Postgres' max_connections in mind: every API and
  // worker replica opens up to this many.
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(1000).default(10),
  // How long a query or a transaction start waits for a free pooled connection before the request is
  // answered SERVICE_UNAVAILABLE (retry later) instead of queueing without end.
  DATABASE_TX_MAX_WAIT_MS: z.coerce.number().int().min(10).max(120_000).default(5_000),
  // Longest a transaction may stay open; beyond it Prisma rolls it back.
  DATABASE_TX_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(15_000),
  // The address agents and people use to reach this API; used in registration links.
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[a-z0-9:_-]+$/)
    .default('farpoint'),
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(50 * 1024 * 1024)
    .default(1024 * 1024),
  // Agent protocol (src/modules/agent-gateway). Lifetime of an agent credential; agents rotate at two
  // thirds of it, so an agent offline for longer than this must be attached again. 30 days by default:
  // far-edge sites lose their uplink for days, and a day-long credential would strand them.
  AGENT_CREDENTIAL_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(300)
    .max(366 * 24 * 3600)
    .default(30 * 24 * 3600),
  // Agent endpoints: requests a minute per cluster (reports, rotation) and per client address
  // (manifests, register; a site's NAT may hide many clusters behind one address).
  AGENT_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(600),
  AGENT_ANONYMOUS_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(300),
  GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(2).max(50).default(10),
  GRAPHQL_MAX_COST: z.coerce.number().int().min(10).default(5000),
  // The self-hosted GraphQL explorer at /graphql/explorer; on by default only when NODE_ENV is development.
  GRAPHQL_EXPLORER: z.stringbool().optional(),
  // Requests a minute per API token, counted after authentication; beyond: RATE_LIMITED.
  GRAPHQL_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(600),
  // Requests a minute from one client address to /graphql and the credentialed agent endpoints,
  // refused before the body is read or any credential is looked up.
  ADDRESS_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(3000),
  // Which proxies may say who the client is (X-Forwarded-For): `false` (none, the default), a hop
  // count, or a comma-separated list of addresses/CIDRs. Client addresses key the rate limits.
  TRUST_PROXY: z
    .string()
    .default('false')
    .transform((value, ctx) => {
      const parsed = parseTrustProxy(value);
      if (parsed === undefined) {
        ctx.addIssue({ code: 'custom', message: 'must be false, a hop count, or a comma-separated list of IP addresses or CIDRs' });
      }
      return parsed ?? false;
    }),
  // graphql-ws: subscriptions one connection may hold, largest message a client may send, and how
  // often an open connection's token is checked again (revocation also closes it at once).
  GRAPHQL_WS_MAX_SUBSCRIPTIONS: z.coerce.number().int().min(1).max(1000).default(10),
  GRAPHQL_WS_MAX_PAYLOAD_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(10 * 1024 * 1024)
    .default(64 * 1024),
  GRAPHQL_WS_RECHECK_SECONDS: z.coerce.number().int().min(1).default(60),
  // Prometheus metrics, on their own listener (never the API port); port 0 turns them off. With
  // METRICS_TOKEN set, scrapes must send `Authorization: Bearer <token>`.
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  METRICS_TOKEN: z.string().min(16).optional(),
  TOKEN_PURGE_EVERY_SECONDS: z.coerce.number().int().min(1).default(3600),
  // Revoked and expired API tokens are kept this long for audit before the worker purges them.
  TOKEN_RETENTION_DAYS: z.coerce.number().int().min(0).default(30),
  // Resolved policy violations are kept this long, then the worker's sweep deletes them.
  VIOLATION_RETENTION_DAYS: z.coerce.number().int().min(0).default(30),
  VIOLATION_PURGE_EVERY_SECONDS: z.coerce.number().int().min(1).default(3600),
  // Open violation rows kept per cluster; beyond it the exact totals live on the per-(cluster, assignment) summary.
  VIOLATION_MAX_OPEN_PER_CLUSTER: z.coerce.number().int().min(1).default(5000),
  // Encrypts secrets that pass through Redis (kubeconfigs of queued attaches): 32 random bytes in
  // base64 (`openssl rand -base64 32`). Required unless NODE_ENV is development or test.
  SECRETS_KEY: z
    .string()
    .superRefine((key, ctx) => {
      const problem = secretsKeyProblem(key);
      if (problem) {
        ctx.addIssue({ code: 'custom', message: problem });
      }
    })
    .optional(),
  // How long a queued attach waits for the agent to register before the attempt counts as failed.
  ATTACH_AGENT_WAIT_SECONDS: z.coerce.number().int().min(1).default(180),
  ATTACH_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(4),
  ATTACH_BACKOFF_MS: z.coerce.number().int().min(10).default(2000),
  // Loopback and private ranges a queued attach may connect to (src/infra/kubernetes/egress-policy.ts);
  // none by default. Link-local and cloud metadata addresses stay refused whatever is listed.
  ATTACH_ALLOWED_CIDRS: z
    .string()
    .default('')
    .transform((text, ctx) => {
      try {
        return parseCidrs(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  // Kubeconfigs with an http:// server (credentials in clear) or insecure-skip-tls-verify: true.
  ATTACH_ALLOW_HTTP: z.stringbool().default(false),
  ATTACH_ALLOW_INSECURE_TLS: z.stringbool().default(false),
  // Agent image the install manifests reference (default farpoint/agent:<package version>).
  AGENT_IMAGE: z.string().regex(/^\S+$/).optional(),
  HEALTH_SWEEP_EVERY_SECONDS: z.coerce.number().int().min(1).default(10),
  // How often the worker queues again the open operations whose job Redis no longer has (the outbox).
  OPERATIONS_RECONCILE_EVERY_SECONDS: z.coerce.number().int().min(1).default(30),
  // How often the worker takes one step of each RUNNING staged rollout (release the next wave, halt, complete).
  ROLLOUT_ADVANCE_EVERY_SECONDS: z.coerce.number().int().min(1).default(10),
  // Policies (src/modules/policy-templates). The opa binary the worker compiles with (and the API, for
  // evaluatePolicy on unsaved Rego); default: opa in FARPOINT_TOOLS_BIN when set, else opa on PATH.
  OPA_PATH: z.string().min(1).optional(),
  FARPOINT_TOOLS_BIN: z.string().min(1).optional(),
  // Largest Rego of one version (its rego, libs and tests together) or of an unsaved evaluatePolicy.
  POLICY_MAX_REGO_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024)
    .default(256 * 1024),
  // evaluatePolicy runs in worker threads; one evaluation longer than this is ended (POLICY_EVALUATION_TIMEOUT).
  POLICY_EVALUATION_TIMEOUT_MS: z.coerce.number().int().min(10).max(60_000).default(2_000),
  POLICY_EVALUATION_THREADS: z.coerce.number().int().min(1).max(64).default(2),
  // Compile attempts of one version before it is FAILED (a worker that dies mid-compile costs one).
  POLICY_COMPILE_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(3),
  // Where the built-in recipes are (ConstraintTemplates, policies/<recipe>/template.yaml); default: the repository's policies/.
  POLICY_RECIPES_DIR: z.string().min(1).optional(),
});

export type AppConfig = Readonly<Omit<z.infer<typeof schema>, 'SECRETS_KEY' | 'GRAPHQL_EXPLORER'>> & {
  readonly publicUrl: string;
  readonly SECRETS_KEY: string;
  readonly GRAPHQL_EXPLORER: boolean;
};

// Used only when NODE_ENV says development or test and SECRETS_KEY is unset, so a fresh clone runs
// without set-up. It is public, so it is refused as a configured SECRETS_KEY anywhere.
const DEVELOPMENT_SECRETS_KEY = 'farpoint-development-only-secrets-key';

/** Keys that appear in docs, examples and compose files: public, so never a real key. */
const PLACEHOLDER_SECRETS_KEYS = new Set([DEVELOPMENT_SECRETS_KEY, 'change-me-to-32-random-bytes-base64', 'changeme', 'change-me', 'secret', 'password']);

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Why a configured SECRETS_KEY is not a real 256-bit key, or undefined. Never quotes the key. */
export function secretsKeyProblem(key: string): string | undefined {
  if (PLACEHOLDER_SECRETS_KEYS.has(key.trim().toLowerCase())) {
    return 'is a published placeholder; generate a key with `openssl rand -base64 32`';
  }
  if (!/^[A-Za-z0-9+/_-]{43}={0,2}$/.test(key)) {
    return 'must be 32 random bytes in base64 (44 characters, `openssl rand -base64 32`)';
  }
  const bytes = Buffer.from(key, 'base64');
  if (bytes.length !== 32) {
    return 'must decode to exactly 32 bytes';
  }
  // A key of one repeated byte (all "A"s) is typed, not generated.
  if (new Set(bytes).size < 8) {
    return 'does not look random; generate a key with `openssl rand -base64 32`';
  }
  return undefined;
}

/**
 * Parses the environment; throws one ConfigError naming every bad variable (fail fast, all at once).
 * Messages name variables and rules, never values: a DATABASE_URL or SECRETS_KEY must not reach logs.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = issue.path.join('.') || '(environment)';
      return issue.code === 'invalid_type' && env[name] === undefined ? `${name} is required but not set` : `${name}: ${issue.message}`;
    });
    throw new ConfigError(problems);
  }
  const config = parsed.data;
  const problems: string[] = [];
  const development = config.NODE_ENV === 'development' || config.NODE_ENV === 'test';
  if (config.SECRETS_KEY === undefined && !development) {
    problems.push('SECRETS_KEY is required unless NODE_ENV is development or test (NODE_ENV unset means production)');
  }
  const publicUrl = config.PUBLIC_URL ?? `http://${config.HOST}:${config.PORT}`;
  // Agents send their credentials to this address; in production only over TLS.
  if (!development && !publicUrl.startsWith('https://')) {
    problems.push('PUBLIC_URL must be an https:// URL in production (agents send credentials to it)');
  }
  if (problems.length) {
    throw new ConfigError(problems);
  }
  return Object.freeze({
    ...config,
    SECRETS_KEY: config.SECRETS_KEY ?? DEVELOPMENT_SECRETS_KEY,
    GRAPHQL_EXPLORER: config.GRAPHQL_EXPLORER ?? config.NODE_ENV === 'development',
    publicUrl,
  });
}

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** TRUST_PROXY as Fastify's trustProxy option, or undefined when it is not valid. */
export function parseTrustProxy(value: string): false | number | string[] | undefined {
  const text = value.trim();
  if (text === '' || text === 'false') {
    return false;
  }
  if (/^\d+$/.test(text)) {
    return Number(text) >= 1 && Number(text) <= 100 ? Number(text) : undefined;
  }
  const entries = text.split(',').map((entry) => entry.trim());
  const valid = entries.every((entry) => {
    if (PROXY_NAMES.has(entry)) {
      return true;
    }
    const [address, prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    if (!family || rest.length) {
      return false;
    }
    return prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
  });
  return valid ? entries : undefined;
}

/** Injection token for the typed configuration. */
export const APP_CONFIG = Symbol('APP_CONFIG');

/** For entry points: the configuration, or a list of every problem on stderr and exit code 78 (EX_CONFIG). */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): AppConfig {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(78);
    }
    throw error;
  }
}
