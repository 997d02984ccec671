import { Injectable } from '@nestjs/common';
import { isUuid } from '../../common/validation/ids';
import { Workspace, Prisma } from '../../generated/prisma/client';
import { PageRequest, SortDirection } from '../../common/graphql/pagination';
import { LabelRequirement } from '../../common/labels/label-selector';
import { labelSelectorSql, pagedRows } from '../../infra/database/list-query';
import { PrismaService } from '../../infra/database/prisma.service';
import { Tx } from '../../infra/database/transaction';

@Injectable()
export class WorkspaceRepository {
  constructor(private readonly prisma: PrismaService) {}

  page(organizationId: string, labels: LabelRequirement[], page: PageRequest) {
    const conditions = [Prisma.sql`"organizationId" = ${organizationId}::uuid`, ...labelSelectorSql(labels)];
    return pagedRows<Workspace>(this.prisma, 'Workspace', conditions, { sql: Prisma.raw('"name"'), cast: 'text' }, SortDirection.ASC, page);
  }

  find(organizationId: string, id: string): Promise<Workspace | null> {
    if (!isUuid(id)) {
      return Promise.resolve(null);
    }
    return this.prisma.workspace.findFirst({ where: { organizationId, id } });
  }

  findByIds(organizationId: string, ids: readonly string[]): Promise<Workspace[]> {
    return this.prisma.workspace.findMany({ where: { organizationId, id: { in: ids.filter(isUuid) } } });
  }

  create(tx: Tx, data: Prisma.WorkspaceUncheckedCreateInput): Promise<Workspace> {
    return tx.workspace.create({ data });
  }

  update(tx: Tx, id: string, data: Prisma.WorkspaceUncheckedUpdateInput): Promise<Workspace> {
    return tx.workspace.update({ where: { id }, data });
  }

  delete(tx: Tx, id: string): Promise<Workspace> {
    return tx.workspace.delete({ where: { id } });
  }

  countNamespaces(tx: Tx, workspaceId: string): Promise<number> {
    return tx.namespace.count({ where: { workspaceId } });
  }
}
