/** In-memory fakes of the agent's side-effect interfaces, for unit tests. */
import type { SecretContent, SecretGateway } from '../credential-store';
import { SecretConflictError } from '../credential-store';

/** A Secret with a resourceVersion that grows on every write, like the apiserver's. */
export class FakeSecret implements SecretGateway {
  data: Record<string, string> | null;
  resourceVersion = 1;
  writes = 0;
  /** Makes the next N writes fail with a conflict, as if someone else wrote in between. */
  conflictsToInject = 0;

  constructor(data: Record<string, string> | null) {
    this.data = data ? { ...data } : null;
  }

  async read(): Promise<SecretContent | null> {
    return this.data ? { data: { ...this.data }, resourceVersion: String(this.resourceVersion) } : null;
  }

  async write(data: Record<string, string>, resourceVersion: string): Promise<void> {
    if (this.conflictsToInject > 0) {
      this.conflictsToInject -= 1;
      this.resourceVersion += 1;
      throw new SecretConflictError();
    }
    if (!this.data || resourceVersion !== String(this.resourceVersion)) throw new SecretConflictError();
    this.data = { ...data };
    this.resourceVersion += 1;
    this.writes += 1;
  }
}
