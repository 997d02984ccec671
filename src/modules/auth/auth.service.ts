import { Injectable, Logger } from '@nestjs/common';
import { ApiToken, Role } from '../../generated/prisma/client';
import { FarpointError } from '../../common/errors/farpoint-error';
import { Principal, actorOf } from '../../common/graphql/request-context';
import { TransactionRunner } from '../../infra/database/transaction';
import { PubSubGateway } from '../../infra/redis/pubsub.gateway';
import { EventRecorder } from '../events/event.recorder';
import { ApiTokenRepository } from './api-token.repository';
import { hashApiTokenSecret, looksLikeApiToken, newApiTokenSecret } from './api-token.secret';
import { EventObjectKind, EventType } from '../events/event-types';

/** Pub/sub channel announcing a revoked API token to every API replica. */
export const API_TOKEN_REVOKED_CHANNEL = 'api-token-revoked';
export interface ApiTokenRevoked {
  tokenId: string;
}

@Injectable()
export class AuthService {
  private readonly logger = new Logger(AuthService.name);

  constructor(
    private readonly tokens: ApiTokenRepository,
    private readonly transactions: TransactionRunner,
    private readonly events: EventRecorder,
    private readonly pubsub: PubSubGateway,
  ) {}

  /** Resolves an `Authorization: Bearer fpt_…` header to a principal, or refuses with UNAUTHENTICATED. */
  async authenticate(authorization: string | undefined, now = new Date()): Promise<Principal> {
    return (await this.authenticateUntil(authorization, now)).principal;
  }

  /** Like authenticate, with when the token expires (null: never), for connections that outlive a request. */
  async authenticateUntil(authorization: string | undefined, now = new Date()): Promise<{ principal: Principal; expiresAt: Date | null }> {
    if (!authorization) {
      throw FarpointError.unauthenticated('Send an API token as "Authorization: Bearer <token>".');
    }
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!match || !looksLikeApiToken(match[1])) {
      throw FarpointError.unauthenticated('The Authorization header is not a Farpoint API token.');
    }
    const token = await this.tokens.findByHash(hashApiTokenSecret(match[1]));
    if (!token) {
      throw FarpointError.unauthenticated('This API token is not valid.');
    }
    if (token.revokedAt) {
      throw FarpointError.unauthenticated('This API token has been revoked.');
    }
    if (token.expiresAt && token.expiresAt <= now) {
      throw FarpointError.unauthenticated('This API token has expired.');
    }
    await this.tokens.touch(token.id, now);
    return { principal: { tokenId: token.id, tokenName: token.name, organizationId: token.organizationId, role: token.role }, expiresAt: token.expiresAt };
  }

  /** Creates a token; the secret is returned once and never stored. */
  async createToken(principal: Principal, input: { name: string; role: Role; expiresAt?: Date | null }): Promise<{ token: ApiToken; secret: string }> {
    const name = input.name.trim();
    if (!/^[a-zA-Z0-9][a-zA-Z0-9 ._-]{0,62}$/.test(name)) {
      throw FarpointError.badInput('Token name must be 1-63 letters, digits, spaces, ".", "_" or "-".', 'name');
    }
    const now = new Date();
    if (input.expiresAt && input.expiresAt <= now) {
      throw FarpointError.badInput('expiresAt must be in the future.', 'expiresAt');
    }
    return this.transactions.run(async (tx) => {
      const expiresAt = this.withinLifetime(input.expiresAt ?? null, await this.tokens.maxLifetimeDays(tx, principal.organizationId), now);
      const { secret, hash, prefix } = newApiTokenSecret();
      const token = await this.tokens.create(
        { organizationId: principal.organizationId, name, role: input.role, prefix, secretHash: hash, createdBy: actorOf(principal), expiresAt },
        tx,
      );
      await this.events.record(tx, {
        organizationId: principal.organizationId,
        objectKind: EventObjectKind.ApiToken,
        objectId: token.id,
        type: EventType.ApiTokenCreated,
        message: `API token "${name}" (${input.role}) created`,
        actor: actorOf(principal),
      });
      return { token, secret };
    });
  }

  /**
   * The expiry a new token gets under the organization's maximum lifetime: none asked → the maximum;
   * beyond it → refused (a silent cap would surprise automation that relies on the date it asked for).
   */
  private withinLifetime(requested: Date | null, maxDays: number | null, now: Date): Date | null {
    if (maxDays === null) {
      return requested;
    }
    const latest = new Date(now.getTime() + maxDays * 86_400_000);
    if (!requested) {
      return latest;
    }
    if (requested > latest) {
      throw FarpointError.badInput(`Tokens of this organization may live at most ${maxDays} days: expiresAt must be on or before ${latest.toISOString()}.`, 'expiresAt');
    }
    return requested;
  }

  async revokeToken(principal: Principal, id: string): Promise<ApiToken> {
    const token = await this.tokens.findInOrganization(principal.organizationId, id);
    if (!token) {
      throw FarpointError.notFound('ApiToken', id);
    }
    if (token.revokedAt) {
      return token;
    }
    const revoked = await this.transactions.run(async (tx) => {
      const row = await this.tokens.revoke(id, new Date(), tx);
      await this.events.record(tx, {
        organizationId: principal.organizationId,
        objectKind: EventObjectKind.ApiToken,
        objectId: id,
        type: EventType.ApiTokenRevoked,
        message: `API token "${token.name}" revoked`,
        actor: actorOf(principal),
      });
      return row;
    });
    // After commit: every API replica closes the token's open subscription connections. A lost
    // message only delays that until the next periodic check (GRAPHQL_WS_RECHECK_SECONDS).
    await this.pubsub
      .publish(API_TOKEN_REVOKED_CHANNEL, { tokenId: id } satisfies ApiTokenRevoked)
      .catch((error: Error) => this.logger.warn(`could not announce the revocation of token ${id}: ${error.message}`));
    return revoked;
  }

  listTokens(principal: Principal): Promise<ApiToken[]> {
    return this.tokens.listForOrganization(principal.organizationId);
  }
}
