import { AgentSecretKeys as K } from '../../agent-install/names';
import { SerialQueue } from '../loop';

/** The agent Secret as the Kubernetes API returns it: decoded data and the resourceVersion for updates. */
export interface SecretContent {
  data: Record<string, string>;
  resourceVersion: string;
}

/** Thrown by SecretGateway.write when the Secret changed since it was read (HTTP 409). */
export class SecretConflictError extends Error {
  constructor() {
    super('The agent Secret changed since it was read');
    this.name = 'SecretConflictError';
  }
}

/** Reads and writes the agent's own Secret. */
export interface SecretGateway {
  read(): Promise<SecretContent | null>;
  /** Replaces the whole data map; throws SecretConflictError when resourceVersion is stale. */
  write(data: Record<string, string>, resourceVersion: string): Promise<void>;
}

export interface StoredCredential {
  clusterId: string;
  credential: string;
  /** ms since epoch, the API's clock. */
  expiresAt: number;
  /** ms since epoch, the API's clock; from the HTTP Date header of the response that issued it. */
  issuedAt: number;
}

export interface StoredIdentity {
  /** Present until the agent registered (and again when someone applies new install manifests). */
  registrationToken?: string;
  /** Created before the first registration and sent with every registration attempt. */
  installationSecret?: string;
  /** Created before the first registration with a renewal key; base64url PKCS#8 DER of an Ed25519 key. */
  renewalPrivateKey?: string;
  credential?: StoredCredential;
  heartbeatIntervalSeconds?: number;
  reportIntervalSeconds?: number;
  /** Every report seq below this may have been used. */
  seqReservedUntil?: number;
}

export interface RegistrationToStore extends StoredCredential {
  heartbeatIntervalSeconds: number;
  reportIntervalSeconds: number;
}

const MAX_CONFLICT_RETRIES = 5;

function positiveInt(text: string | undefined): number | undefined {
  const n = Number(text);
  return text && Number.isInteger(n) && n > 0 ? n : undefined;
}

function time(text: string | undefined): number | undefined {
  const ms = text ? Date.parse(text) : NaN;
  return Number.isNaN(ms) ? undefined : ms;
}

/** The agent's identity kept in its Secret, so a restarted agent needs no registration token. */
export class CredentialStore {
  /** Registration, rotation and seq reservations run in different loops: their writes take turns. */
  private readonly writes = new SerialQueue();

  constructor(private readonly secret: SecretGateway) {}

  async load(): Promise<StoredIdentity | null> {
    const content = await this.secret.read();
    if (!content) {
      return null;
    }
    const d = content.data;
    const identity: StoredIdentity = {};
    if (d[K.registrationToken]) {
      identity.registrationToken = d[K.registrationToken].trim();
    }
    if (d[K.installationSecret]) {
      identity.installationSecret = d[K.installationSecret];
    }
    if (d[K.renewalPrivateKey]) {
      identity.renewalPrivateKey = d[K.renewalPrivateKey];
    }
    const expiresAt = time(d[K.credentialExpiresAt]);
    if (d[K.credential] && d[K.clusterId] && expiresAt !== undefined) {
      identity.credential = {
        clusterId: d[K.clusterId],
        credential: d[K.credential],
        expiresAt,
        // An older Secret without the issue time: rotation is then planned from when it was loaded.
        issuedAt: time(d[K.credentialIssuedAt]) ?? Math.min(Date.now(), expiresAt),
      };
    }
    identity.heartbeatIntervalSeconds = positiveInt(d[K.heartbeatIntervalSeconds]);
    identity.reportIntervalSeconds = positiveInt(d[K.reportIntervalSeconds]);
    identity.seqReservedUntil = positiveInt(d[K.seqReservedUntil]);
    return identity;
  }

  /**
   * The installation secret in the Secret, created with `generate` and stored first if there is none.
   * Stored before it is ever sent, so every registration attempt of this installation presents the same one.
   */
  async ensureInstallationSecret(generate: () => string): Promise<string> {
    const existing = (await this.secret.read())?.data[K.installationSecret];
    if (existing) {
      return existing;
    }
    let secret = '';
    await this.update((data) => {
      data[K.installationSecret] ||= generate();
      secret = data[K.installationSecret];
    });
    return secret;
  }

  /**
   * The renewal private key in the Secret, created with `generate` and stored first if there is none:
   * the API must only ever learn a public key whose private half the agent has kept.
   */
  async ensureRenewalPrivateKey(generate: () => string): Promise<string> {
    const existing = (await this.secret.read())?.data[K.renewalPrivateKey];
    if (existing) {
      return existing;
    }
    let key = '';
    await this.update((data) => {
      data[K.renewalPrivateKey] ||= generate();
      key = data[K.renewalPrivateKey];
    });
    return key;
  }

  /** Stores a new registration and removes the registration token, in one update. */
  saveRegistration(r: RegistrationToStore): Promise<void> {
    return this.update((data) => {
      delete data[K.registrationToken];
      Object.assign(data, this.credentialData(r), {
        [K.heartbeatIntervalSeconds]: String(r.heartbeatIntervalSeconds),
        [K.reportIntervalSeconds]: String(r.reportIntervalSeconds),
      });
    });
  }

  saveRotation(c: StoredCredential): Promise<void> {
    return this.update((data) => Object.assign(data, this.credentialData(c)));
  }

  /** Records that report seqs below `until` may be used; never lowers an earlier reservation. */
  saveSeqReservation(until: number): Promise<void> {
    return this.update((data) => {
      data[K.seqReservedUntil] = String(Math.max(until, positiveInt(data[K.seqReservedUntil]) ?? 0));
    });
  }

  private credentialData(c: StoredCredential): Record<string, string> {
    return {
      [K.clusterId]: c.clusterId,
      [K.credential]: c.credential,
      [K.credentialExpiresAt]: new Date(c.expiresAt).toISOString(),
      [K.credentialIssuedAt]: new Date(c.issuedAt).toISOString(),
    };
  }

  /** Read-modify-replace with optimistic concurrency (someone may apply manifests meanwhile); re-reads on conflict. */
  private update(mutate: (data: Record<string, string>) => void): Promise<void> {
    return this.writes.run(() => this.replace(mutate));
  }

  private async replace(mutate: (data: Record<string, string>) => void): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const content = await this.secret.read();
      if (!content) {
        throw new Error('The agent Secret does not exist');
      }
      const data = { ...content.data };
      mutate(data);
      try {
        await this.secret.write(data, content.resourceVersion);
        return;
      } catch (error) {
        if (!(error instanceof SecretConflictError) || attempt >= MAX_CONFLICT_RETRIES) {
          throw error;
        }
      }
    }
  }
}
