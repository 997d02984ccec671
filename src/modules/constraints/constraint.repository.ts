import { Injectable } from '@nestjs/common';
import { PageRequest, SortDirection } from '../../common/graphql/pagination';
import { isUuid } from '../../common/validation/ids';
import { Constraint, Prisma } from '../../generated/prisma/client';
import { pagedRows, SortColumn } from '../../infra/database/list-query';
import { PrismaService } from '../../infra/database/prisma.service';
import { Tx } from '../../infra/database/transaction';
import { ConstraintSortField } from './constraint.model';

export interface ConstraintQuery {
  organizationId: string;
  kind?: string;
  enforcementAction?: string;
}

const SORT: Record<ConstraintSortField, SortColumn> = {
  NAME: { sql: Prisma.raw('"name"'), cast: 'text' },
  CREATED_AT: { sql: Prisma.raw('"createdAt"'), cast: 'timestamptz' },
  UPDATED_AT: { sql: Prisma.raw('"updatedAt"'), cast: 'timestamptz' },
};

@Injectable()
export class ConstraintRepository {
  constructor(private readonly prisma: PrismaService) {}

  page(query: ConstraintQuery, sort: ConstraintSortField, direction: SortDirection, page: PageRequest) {
    const conditions = [
      Prisma.sql`"organizationId" = ${query.organizationId}::uuid`,
      ...(query.kind ? [Prisma.sql`"kind" = ${query.kind}`] : []),
      ...(query.enforcementAction ? [Prisma.sql`"enforcementAction" = ${query.enforcementAction}::"EnforcementAction"`] : []),
    ];
    return pagedRows<Constraint>(this.prisma, 'Constraint', conditions, SORT[sort], direction, page);
  }

  find(organizationId: string, id: string): Promise<Constraint | null> {
    if (!isUuid(id)) {
      return Promise.resolve(null);
    }
    return this.prisma.constraint.findFirst({ where: { organizationId, id } });
  }

  findIn(tx: Tx, organizationId: string, id: string): Promise<Constraint | null> {
    if (!isUuid(id)) {
      return Promise.resolve(null);
    }
    return tx.constraint.findFirst({ where: { organizationId, id } });
  }

  findByNameIn(tx: Tx, organizationId: string, name: string): Promise<Constraint | null> {
    return tx.constraint.findFirst({ where: { organizationId, name } });
  }

  create(tx: Tx, data: Prisma.ConstraintUncheckedCreateInput): Promise<Constraint> {
    return tx.constraint.create({ data });
  }

  update(tx: Tx, id: string, data: Prisma.ConstraintUncheckedUpdateInput): Promise<Constraint> {
    return tx.constraint.update({ where: { id }, data });
  }

  delete(tx: Tx, id: string): Promise<Constraint> {
    return tx.constraint.delete({ where: { id } });
  }
}
