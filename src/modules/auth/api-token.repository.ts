import { Injectable } from '@nestjs/common';
import { isUuid } from '../../common/validation/ids';
import { ApiToken, Prisma, Role } from '../../generated/prisma/client';
import { PrismaService } from '../../infra/database/prisma.service';

@Injectable()
export class ApiTokenRepository {
  constructor(private readonly prisma: PrismaService) {}

  findByHash(secretHash: string): Promise<(ApiToken & { organization: { id: string } }) | null> {
    return this.prisma.apiToken.findUnique({ where: { secretHash }, include: { organization: { select: { id: true } } } });
  }

  listForOrganization(organizationId: string): Promise<ApiToken[]> {
    return this.prisma.apiToken.findMany({ where: { organizationId }, orderBy: { createdAt: 'asc' } });
  }

  findInOrganization(organizationId: string, id: string): Promise<ApiToken | null> {
    if (!isUuid(id)) {
      return Promise.resolve(null);
    }
    return this.prisma.apiToken.findFirst({ where: { id, organizationId } });
  }

  /** The organization's cap on new tokens' lifetime (days), read inside the creating transaction. */
  async maxLifetimeDays(tx: Prisma.TransactionClient, organizationId: string): Promise<number | null> {
    const organization = await tx.organization.findUnique({ where: { id: organizationId }, select: { apiTokenMaxLifetimeDays: true } });
    return organization?.apiTokenMaxLifetimeDays ?? null;
  }

  create(
    data: { organizationId: string; name: string; role: Role; prefix: string; secretHash: string; createdBy: string; expiresAt?: Date | null },
    tx: Prisma.TransactionClient = this.prisma,
  ): Promise<ApiToken> {
    return tx.apiToken.create({ data });
  }

  revoke(id: string, at: Date, tx: Prisma.TransactionClient = this.prisma): Promise<ApiToken> {
    return tx.apiToken.update({ where: { id }, data: { revokedAt: at } });
  }

  /** Records use, at most once a minute per token, so reads do not turn into a write per request. */
  async touch(id: string, at: Date): Promise<void> {
    await this.prisma.apiToken.updateMany({
      where: { id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(at.getTime() - 60_000) } }] },
      data: { lastUsedAt: at },
    });
  }

  /** Deletes tokens revoked or expired before the cutoff; returns how many went. */
  async purgeInactiveBefore(cutoff: Date): Promise<number> {
    const { count } = await this.prisma.apiToken.deleteMany({
      where: { OR: [{ revokedAt: { lt: cutoff } }, { expiresAt: { lt: cutoff } }] },
    });
    return count;
  }
}
