import { Injectable } from '@nestjs/common';
import { isUuid } from '../../common/validation/ids';
import { Organization } from '../../generated/prisma/client';
import { PrismaService } from '../../infra/database/prisma.service';
import { Tx } from '../../infra/database/transaction';

@Injectable()
export class OrganizationRepository {
  constructor(private readonly prisma: PrismaService) {}

  find(id: string): Promise<Organization | null> {
    if (!isUuid(id)) {
      return Promise.resolve(null);
    }
    return this.prisma.organization.findUnique({ where: { id } });
  }

  findByName(name: string): Promise<Organization | null> {
    return this.prisma.organization.findUnique({ where: { name } });
  }

  updateSettings(tx: Tx, id: string, data: { apiTokenMaxLifetimeDays: number | null }): Promise<Organization> {
    return tx.organization.update({ where: { id }, data });
  }

  create(tx: Tx, data: { name: string; displayName: string }): Promise<Organization> {
    return tx.organization.create({ data });
  }
}
