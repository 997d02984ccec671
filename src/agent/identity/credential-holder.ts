import type { StoredCredential } from './credential-store';

/**
 * The credential of the current session: every loop that calls the API reads it here, rotation
 * replaces it (after storing the new one in the Secret), so no loop keeps a copy that goes stale.
 */
export class CredentialHolder {
  private value: StoredCredential;

  constructor(initial: StoredCredential) {
    this.value = initial;
  }

  get clusterId(): string {
    return this.value.clusterId;
  }

  get current(): StoredCredential {
    return this.value;
  }

  /** Switches to a rotated credential; one of another cluster is a bug, never a rotation. */
  replace(next: StoredCredential): void {
    if (next.clusterId !== this.value.clusterId) {
      throw new Error(`A rotated credential belongs to cluster ${next.clusterId}, not ${this.value.clusterId}`);
    }
    this.value = next;
  }
}
