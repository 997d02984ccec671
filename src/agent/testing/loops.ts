/** Helpers for the specs of single loops: a session to run them in, a captured log, fast back-off. */
import { TEST_CLUSTER_ID } from '../../protocol/testing/factories';
import { CredentialHolder } from '../identity/credential-holder';
import type { StoredCredential } from '../identity/credential-store';
import { createJsonLogger, type Logger } from '../logger';
import type { BackoffSettings } from '../loop';
import { Session } from '../session';

/** Millisecond back-off, so retries in specs take no noticeable time. */
export const FAST_BACKOFF: BackoffSettings = { initialMs: 2, maxMs: 10 };

export function capturedLog(): { log: Logger; logs: Array<Record<string, unknown>>; messages: () => unknown[] } {
  const logs: Array<Record<string, unknown>> = [];
  const log = createJsonLogger('debug', (line) => logs.push(JSON.parse(line) as Record<string, unknown>));
  return { log, logs, messages: () => logs.map((l) => l.msg) };
}

export function testCredential(overrides: Partial<StoredCredential> = {}): StoredCredential {
  const now = Date.now();
  return { clusterId: TEST_CLUSTER_ID, credential: 'fpc_preexisting_credential_0001', issuedAt: now, expiresAt: now + 3_600_000, ...overrides };
}

/** A session of its own (not tied to an agent), ended by the test or by the loop under test. */
export function testSession(options: { credential?: StoredCredential; heartbeatIntervalMs?: number; reportIntervalMs?: number } = {}) {
  const stop = new AbortController();
  const session = new Session(
    {
      credential: new CredentialHolder(options.credential ?? testCredential()),
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 20,
      reportIntervalMs: options.reportIntervalMs ?? 10,
    },
    stop.signal,
  );
  return { session, stop: () => stop.abort() };
}
