/** A reason the agent does not run the newest desired state, as heartbeats report it. */
export interface DesiredStateProblem {
  code: string;
  message: string;
}

/** Within the protocol's limits: a code such as BUNDLE_HASH_MISMATCH, a message of at most 2,048 characters. */
function bounded(problem: DesiredStateProblem): DesiredStateProblem {
  const code = /^[A-Z][A-Z0-9_]{0,63}$/.test(problem.code) ? problem.code : 'DESIRED_STATE_FAILED';
  const message = problem.message.length > 2_000 ? `${problem.message.slice(0, 1_999)}…` : problem.message || code;
  return { code, message };
}

/**
 * What the agent tells the API about its desired state, shared by the loops that know it: the
 * desired-state loop (fetching, verifying, writing) and the admission loop (the generation it runs).
 * The heartbeat loop reads it. A newer problem replaces an older one; a success of the same stage clears it.
 */
export class DesiredStateStatus {
  /** The generation admission runs; undefined until it applies one. */
  running: number | undefined;
  private fetchProblem: DesiredStateProblem | null = null;
  private applyProblem: DesiredStateProblem | null = null;
  /** Once a problem was reported, heartbeats keep saying whether there is one, so the API clears it. */
  private reported = false;

  fetchFailed(problem: DesiredStateProblem): void {
    this.reported = true;
    this.fetchProblem = bounded(problem);
  }

  fetched(): void {
    this.fetchProblem = null;
  }

  applied(generation: number): void {
    this.running = generation;
    this.applyProblem = null;
  }

  applyFailed(problem: DesiredStateProblem): void {
    this.reported = true;
    this.applyProblem = bounded(problem);
  }

  /** The heartbeat fields: nothing until admission runs a state or something failed. */
  report(): { desiredStateGeneration?: number; desiredStateError?: DesiredStateProblem | null } {
    const error = this.fetchProblem ?? this.applyProblem;
    if (this.running === undefined && !this.reported) {
      return {};
    }
    return { ...(this.running !== undefined ? { desiredStateGeneration: this.running } : {}), desiredStateError: error };
  }
}
