import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig, parseTrustProxy, secretsKeyProblem } from './app-config';

const valid = { DATABASE_URL: 'postgresql://u@localhost:5432/db', REDIS_URL: 'redis://localhost:6379', NODE_ENV: 'development' };
const production = { DATABASE_URL: 'postgresql://farpoint:hunter2-db-password@db:5432/farpoint', REDIS_URL: 'redis://redis:6379', PUBLIC_URL: 'https://farpoint.example.com' };
const realKey = () => randomBytes(32).toString('base64');

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      return error.problems;
    }
    throw error;
  }
  return [];
}

describe(loadConfig.name, () => {
  it('applies defaults to a minimal valid development environment', () => {
    const config = loadConfig(valid);
    expect(config.PORT).toBe(4000);
    expect(config.publicUrl).toBe('http://127.0.0.1:4000');
  });

  it('lists every bad variable at once instead of stopping at the first', () => {
    const problems = problemsOf({ REDIS_URL: 'http://nope', PORT: '70000', LOG_LEVEL: 'loud', NODE_ENV: 'test' }).join('\n');
    expect(problems).toContain('DATABASE_URL is required but not set');
    expect(problems).toContain('REDIS_URL');
    expect(problems).toContain('PORT');
    expect(problems).toContain('LOG_LEVEL');
    expect(problemsOf({ REDIS_URL: 'http://nope', PORT: '70000', LOG_LEVEL: 'loud', NODE_ENV: 'test' })).toHaveLength(4);
  });

  it('never prints a configured value in its errors (a DATABASE_URL holds a password)', () => {
    const problems = problemsOf({ ...production, DATABASE_URL: 'mysql://root:hunter2-db-password@db/x', SECRETS_KEY: 'hunter3-key-material' }).join('\n');
    expect(problems).toContain('DATABASE_URL');
    expect(problems).toContain('SECRETS_KEY');
    expect(problems).not.toContain('hunter2');
    expect(problems).not.toContain('hunter3');
  });

  it('treats an unset NODE_ENV as production: no development key, no plain-http PUBLIC_URL', () => {
    const problems = problemsOf({ DATABASE_URL: production.DATABASE_URL, REDIS_URL: production.REDIS_URL });
    expect(problems).toEqual([expect.stringContaining('SECRETS_KEY is required'), expect.stringContaining('PUBLIC_URL must be an https:// URL')]);
    expect(loadConfig({ ...production, SECRETS_KEY: realKey() }).NODE_ENV).toBe('production');
  });

  it('refuses placeholder, short and typed keys in every environment', () => {
    for (const key of ['change-me-to-32-random-bytes-base64', 'farpoint-development-only-secrets-key', 'short', 'A'.repeat(43) + '=', randomBytes(16).toString('base64')]) {
      expect(problemsOf({ ...production, SECRETS_KEY: key })).toHaveLength(1);
      expect(problemsOf({ ...valid, SECRETS_KEY: key })).toHaveLength(1);
    }
  });

  it('accepts a generated key in base64 or base64url', () => {
    const key = randomBytes(32);
    expect(secretsKeyProblem(key.toString('base64'))).toBeUndefined();
    expect(secretsKeyProblem(key.toString('base64url'))).toBeUndefined();
  });

  it('uses the development key only when NODE_ENV says development or test', () => {
    expect(loadConfig({ ...valid, NODE_ENV: 'test' }).SECRETS_KEY).toBe('farpoint-development-only-secrets-key');
    expect(problemsOf({ ...production, NODE_ENV: 'production' })).toEqual([expect.stringContaining('SECRETS_KEY is required')]);
  });

  it('sizes the database pool and transaction waits from the environment, refusing nonsense', () => {
    expect(loadConfig(valid)).toMatchObject({ DATABASE_POOL_SIZE: 10, DATABASE_TX_MAX_WAIT_MS: 5000, DATABASE_TX_TIMEOUT_MS: 15000 });
    expect(loadConfig({ ...valid, DATABASE_POOL_SIZE: '4', DATABASE_TX_MAX_WAIT_MS: '250', DATABASE_TX_TIMEOUT_MS: '2000' })).toMatchObject({
      DATABASE_POOL_SIZE: 4,
      DATABASE_TX_MAX_WAIT_MS: 250,
      DATABASE_TX_TIMEOUT_MS: 2000,
    });
    expect(problemsOf({ ...valid, DATABASE_POOL_SIZE: '0', DATABASE_TX_MAX_WAIT_MS: 'soon', DATABASE_TX_TIMEOUT_MS: '-1' })).toEqual([
      expect.stringContaining('DATABASE_POOL_SIZE'),
      expect.stringContaining('DATABASE_TX_MAX_WAIT_MS'),
      expect.stringContaining('DATABASE_TX_TIMEOUT_MS'),
    ]);
  });

  it('accepts only http(s) PUBLIC_URLs', () => {
    expect(problemsOf({ ...valid, PUBLIC_URL: 'javascript:alert(1)' })).toEqual([expect.stringContaining('PUBLIC_URL')]);
    expect(problemsOf({ ...production, PUBLIC_URL: 'http://farpoint.example.com', SECRETS_KEY: realKey() })).toEqual([expect.stringContaining('https')]);
  });
});

describe(parseTrustProxy.name, () => {
  it('trusts no proxy by default, so X-Forwarded-For is ignored', () => {
    expect(loadConfig(valid).TRUST_PROXY).toBe(false);
    expect(parseTrustProxy('false')).toBe(false);
  });

  it('takes a hop count or a list of addresses, CIDRs and proxy-addr names', () => {
    expect(loadConfig({ ...valid, TRUST_PROXY: '2' }).TRUST_PROXY).toBe(2);
    expect(parseTrustProxy('10.0.0.0/8, 192.168.1.7,fd00::/8,loopback')).toEqual(['10.0.0.0/8', '192.168.1.7', 'fd00::/8', 'loopback']);
  });

  it.each(['true', '0', '10.0.0.0/33', 'not-an-address', '10.0.0.1/8/2', '1,2'])('refuses %j with a message naming TRUST_PROXY', (value) => {
    expect(parseTrustProxy(value)).toBeUndefined();
    expect(problemsOf({ ...valid, TRUST_PROXY: value })).toEqual([expect.stringContaining('TRUST_PROXY')]);
  });
});

describe('metrics, rate limit and subscription settings', () => {
  it('default to metrics on loopback:9464 without a token, and bounded WebSocket connections', () => {
    expect(loadConfig(valid)).toMatchObject({
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: 9464,
      GRAPHQL_RATE_LIMIT_PER_MINUTE: 600,
      ADDRESS_RATE_LIMIT_PER_MINUTE: 3000,
      GRAPHQL_WS_MAX_SUBSCRIPTIONS: 10,
      GRAPHQL_WS_MAX_PAYLOAD_BYTES: 65536,
      GRAPHQL_WS_RECHECK_SECONDS: 60,
    });
    expect(loadConfig(valid).METRICS_TOKEN).toBeUndefined();
  });

  it('refuses a short METRICS_TOKEN and limits that are not positive', () => {
    expect(problemsOf({ ...valid, METRICS_TOKEN: 'short', GRAPHQL_RATE_LIMIT_PER_MINUTE: '0', GRAPHQL_WS_MAX_PAYLOAD_BYTES: '10' })).toEqual([
      expect.stringContaining('GRAPHQL_RATE_LIMIT_PER_MINUTE'),
      expect.stringContaining('GRAPHQL_WS_MAX_PAYLOAD_BYTES'),
      expect.stringContaining('METRICS_TOKEN'),
    ]);
  });
});
