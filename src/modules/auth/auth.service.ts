import { Injectable } from '@nestjs/common';
import { ApiToken, Role } from '../../generated/prisma/client';
import { FarpointError } from '../../common/errors/farpoint-error';
import { Principal, actorOf } from '../../common/graphql/request-context';
import { TransactionRunner } from '../../infra/database/transaction';
import { EventRecorder } from '../events/event.recorder';
import { ApiTokenRepository } from './api-token.repository';
import { hashApiTokenSecret, looksLikeApiToken, newApiTokenSecret } from './api-token.secret';

@Injectable()
export class AuthService {
  constructor(
    private readonly tokens: ApiTokenRepository,
    private readonly transactions: TransactionRunner,
    private readonly events: EventRecorder,
  ) {}

  /** Resolves an `Authorization: Bearer fpt_…` header to a principal, or refuses with UNAUTHENTICATED. */
  async authenticate(authorization: string | undefined, now = new Date()): Promise<Principal> {
    if (!authorization) throw FarpointError.unauthenticated('Send an API token as "Authorization: Bearer <token>".');
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!match || !looksLikeApiToken(match[1])) throw FarpointError.unauthenticated('The Authorization header is not a Farpoint API token.');
    const token = await this.tokens.findByHash(hashApiTokenSecret(match[1]));
    if (!token) throw FarpointError.unauthenticated('This API token is not valid.');
    if (token.revokedAt) throw FarpointError.unauthenticated('This API token has been revoked.');
    if (token.expiresAt && token.expiresAt <= now) throw FarpointError.unauthenticated('This API token has expired.');
    await this.tokens.touch(token.id, now);
    return { tokenId: token.id, tokenName: token.name, organizationId: token.organizationId, role: token.role };
  }

  /** Creates a token; the secret is returned once and never stored. */
  async createToken(principal: Principal, input: { name: string; role: Role; expiresAt?: Date | null }): Promise<{ token: ApiToken; secret: string }> {
    const name = input.name.trim();
    if (!/^[a-zA-Z0-9][a-zA-Z0-9 ._-]{0,62}$/.test(name)) throw FarpointError.badInput('Token name must be 1-63 letters, digits, spaces, ".", "_" or "-".', 'name');
    if (input.expiresAt && input.expiresAt <= new Date()) throw FarpointError.badInput('expiresAt must be in the future.', 'expiresAt');
    return this.transactions.run(async (tx) => {
      const { secret, hash, prefix } = newApiTokenSecret();
      const token = await this.tokens.create({ organizationId: principal.organizationId, name, role: input.role, prefix, secretHash: hash, createdBy: actorOf(principal), expiresAt: input.expiresAt ?? null }, tx);
      await this.events.record(tx, { organizationId: principal.organizationId, objectKind: 'ApiToken', objectId: token.id, type: 'ApiTokenCreated', message: `API token "${name}" (${input.role}) created`, actor: actorOf(principal) });
      return { token, secret };
    });
  }

  async revokeToken(principal: Principal, id: string): Promise<ApiToken> {
    const token = await this.tokens.findInOrganization(principal.organizationId, id);
    if (!token) throw FarpointError.notFound('ApiToken', id);
    if (token.revokedAt) return token;
    return this.transactions.run(async (tx) => {
      const revoked = await this.tokens.revoke(id, new Date(), tx);
      await this.events.record(tx, { organizationId: principal.organizationId, objectKind: 'ApiToken', objectId: id, type: 'ApiTokenRevoked', message: `API token "${token.name}" revoked`, actor: actorOf(principal) });
      return revoked;
    });
  }

  listTokens(principal: Principal): Promise<ApiToken[]> {
    return this.tokens.listForOrganization(principal.organizationId);
  }
}
