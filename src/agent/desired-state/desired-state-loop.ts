import { createHash } from 'node:crypto';
import type { DesiredStateFull } from '../../protocol/desired-state';
import { AgentApiError, type AgentApi } from '../api-client';
import { readStoredBundle, storedGeneration, writeDesiredState, type DesiredStateFile } from '../desired-state-store';
import type { DesiredStateStatus } from '../desired-state-status';
import type { Logger } from '../logger';
import { type BackoffSettings, runLoop } from '../loop';
import type { Session } from '../session';

export interface DesiredStateLoopDeps {
  api: AgentApi;
  stateDir: string;
  status: DesiredStateStatus;
  log: Logger;
  backoff: BackoffSettings;
  /** How often the API is asked whether the generation changed (an unchanged answer is one indexed read). */
  intervalMs: number;
}

/** A state the agent refuses as a whole (the previous one keeps running). */
class RefusedState extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const sha256Of = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * Pulls the desired state: every interval it asks the API with the generation on disk; a new one has
 * its missing bundles downloaded and every hash verified — one wrong hash refuses the whole state, the
 * one on disk keeps running, and the failure goes into the heartbeats — then it is written to disk
 * atomically, where the admission loop picks it up. A session loop: it needs the credential.
 */
export class DesiredStateLoop {
  constructor(private readonly deps: DesiredStateLoopDeps) {}

  run(session: Session): Promise<void> {
    const { log, backoff } = this.deps;
    return runLoop(
      { name: 'desired-state loop', log, backoff },
      async (ctx) => {
        try {
          await this.step(session);
        } catch (error) {
          if (error instanceof AgentApiError && error.isCredentialRejected) {
            log.error('the API rejected the credential; desired-state sync stopped', { code: error.code, clusterId: session.credential.clusterId });
            session.end({ kind: 'credential-rejected', code: error.code });
            return 0;
          }
          await ctx.retryLater('desired state not fetched', error, error instanceof AgentApiError ? error.retryAfterMs : undefined);
          return 0;
        }
        ctx.succeeded();
        return this.deps.intervalMs;
      },
      session.signal,
    );
  }

  /** One poll: unchanged, or the new state fetched, verified and written. Answers the generation on disk afterwards. */
  async step(session: Session): Promise<number | undefined> {
    const { api, stateDir, status, log } = this.deps;
    const onDisk = await storedGeneration(stateDir);
    const credential = session.credential.current.credential;
    const { body } = await api.desiredState(credential, onDisk);
    if (body.unchanged) {
      return onDisk;
    }
    try {
      const wasm = await this.bundles(credential, body);
      await writeDesiredState(stateDir, toFile(body), wasm);
    } catch (error) {
      if (error instanceof RefusedState) {
        status.fetchFailed({ code: error.code, message: error.message });
        log.warn('desired state refused; the previous one keeps running', { code: error.code, error: error.message, generation: body.generation, runningGeneration: onDisk });
        return onDisk;
      }
      throw error;
    }
    status.fetched();
    log.info('desired state written', { generation: body.generation, constraints: body.constraints.length, bundles: body.bundles.length });
    return body.generation;
  }

  /** Every bundle of the state: from disk when it is there and intact, else from the API; each verified by its name. */
  private async bundles(credential: string, state: DesiredStateFull): Promise<Map<string, Uint8Array>> {
    const wasm = new Map<string, Uint8Array>();
    for (const sha256 of state.bundles) {
      const stored = await readStoredBundle(this.deps.stateDir, sha256);
      if (stored) {
        wasm.set(sha256, stored);
        continue;
      }
      const { body } = await this.deps.api.bundle(credential, sha256);
      const actual = sha256Of(body);
      if (actual !== sha256) {
        throw new RefusedState('BUNDLE_HASH_MISMATCH', `generation ${state.generation}: bundle ${sha256} arrived with SHA-256 ${actual}`);
      }
      wasm.set(sha256, body);
    }
    const listed = new Set(state.bundles);
    const unlisted = state.constraints.find((c) => !listed.has(c.bundleSha256));
    if (unlisted) {
      throw new RefusedState(
        'DESIRED_STATE_INVALID',
        `generation ${state.generation}: constraint ${unlisted.name} uses bundle ${unlisted.bundleSha256}, which the state does not list`,
      );
    }
    return wasm;
  }
}

function toFile(state: DesiredStateFull): DesiredStateFile {
  return { generation: state.generation, constraints: state.constraints, bundles: state.bundles, admission: state.admission, inventoryKinds: state.inventoryKinds };
}
