import { Injectable } from '@nestjs/common';
import { RegistrationToken } from '../../generated/prisma/client';
import { PrismaService } from '../../infra/database/prisma.service';
import { Tx } from '../../infra/database/transaction';

@Injectable()
export class RegistrationTokenRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(tx: Tx, data: { organizationId: string; clusterId: string; secretHash: string; createdBy: string; expiresAt: Date }): Promise<RegistrationToken> {
    return tx.registrationToken.create({ data });
  }

  findByHash(secretHash: string): Promise<RegistrationToken | null> {
    return this.prisma.registrationToken.findUnique({ where: { secretHash } });
  }

  findByHashIn(tx: Tx, secretHash: string): Promise<RegistrationToken | null> {
    return tx.registrationToken.findUnique({ where: { secretHash } });
  }

  /**
   * Marks the token used, with the hash of the installation secret that used it, if nobody did
   * first; false means another request won the race.
   */
  async markUsed(tx: Tx, id: string, at: Date, installationSecretHash: string | null): Promise<boolean> {
    const { count } = await tx.registrationToken.updateMany({ where: { id, usedAt: null, revokedAt: null }, data: { usedAt: at, installationSecretHash } });
    return count === 1;
  }

  /** Revokes every unused token of a cluster; returns how many. */
  async revokeUnused(tx: Tx, clusterId: string, at: Date): Promise<number> {
    const { count } = await tx.registrationToken.updateMany({ where: { clusterId, usedAt: null, revokedAt: null }, data: { revokedAt: at } });
    return count;
  }

  /** The newest token of a cluster that can still be used (for GraphQL). */
  findActive(clusterId: string, now: Date): Promise<RegistrationToken | null> {
    return this.prisma.registrationToken.findFirst({ where: { clusterId, usedAt: null, revokedAt: null, expiresAt: { gt: now } }, orderBy: { createdAt: 'desc' } });
  }
}
