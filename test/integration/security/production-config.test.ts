// The API and the worker as real processes refuse to start in production (or with NODE_ENV unset)
// without a real SECRETS_KEY and an https PUBLIC_URL, and their refusal never prints configured values.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { freePort } from '../../../src/dev/free-port';
import { compileSources, type CompiledSources, REPO_ROOT } from '../attach/support/build';
import { eventually } from '../../../src/dev/eventually';
import { createTestDatabase, type TestDatabase } from '../../support/database';

jest.setTimeout(60_000);

let sources: CompiledSources;
let db: TestDatabase;
const PASSWORD_MARKER = 'pw-marker-7f3a';

beforeAll(async () => {
  [sources, db] = await Promise.all([compileSources(), createTestDatabase()]);
});
afterAll(async () => {
  await Promise.all([sources?.remove(), db?.drop()]);
});

/** The environment of a deployment: no NODE_ENV, SECRETS_KEY or PUBLIC_URL unless given. */
function deploymentEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const { NODE_ENV: _n, SECRETS_KEY: _s, PUBLIC_URL: _p, ...rest } = process.env;
  // The password is wrong on purpose: the process must stop before it ever connects.
  const url = new URL(db.url);
  url.password = PASSWORD_MARKER;
  return { ...rest, DATABASE_URL: url.toString(), LOG_LEVEL: 'silent', ...extra };
}

function run(entry: 'src/main.ts' | 'src/worker.ts', env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [sources.js(entry)], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('production start-up', () => {
  it.each(['src/main.ts', 'src/worker.ts'] as const)('%s with NODE_ENV unset refuses to run without a key and an https PUBLIC_URL (EX_CONFIG 78)', async (entry) => {
    const { code, output } = await run(entry, deploymentEnv({}));
    expect(code).toBe(78);
    expect(output).toContain('SECRETS_KEY is required');
    expect(output).toContain('PUBLIC_URL must be an https:// URL');
    expect(output).not.toContain(PASSWORD_MARKER);
  });

  it.each(['change-me-to-32-random-bytes-base64', 'farpoint-development-only-secrets-key', 'not-a-32-byte-key'])(
    'refuses the key "%s" in production and does not echo it',
    async (key) => {
      const { code, output } = await run('src/main.ts', deploymentEnv({ NODE_ENV: 'production', SECRETS_KEY: key, PUBLIC_URL: 'https://farpoint.example.com' }));
      expect(code).toBe(78);
      expect(output).toContain('SECRETS_KEY');
      expect(output).not.toContain(key);
      expect(output).not.toContain(PASSWORD_MARKER);
    },
  );

  it('starts in production with a generated key and an https PUBLIC_URL', async () => {
    const port = await freePort();
    const env = {
      ...deploymentEnv({
        NODE_ENV: 'production',
        SECRETS_KEY: randomBytes(32).toString('base64'),
        PUBLIC_URL: 'https://farpoint.example.com',
        HOST: '127.0.0.1',
        PORT: String(port),
      }),
      DATABASE_URL: db.url,
    };
    const child = spawn(process.execPath, [sources.js('src/main.ts')], { cwd: REPO_ROOT, env, stdio: 'ignore' });
    try {
      await eventually(
        async () => {
          const response = await fetch(`http://127.0.0.1:${port}/healthz`);
          expect(response.status).toBe(200);
        },
        { timeoutMs: 30_000 },
      );
    } finally {
      child.kill('SIGTERM');
    }
  });
});
