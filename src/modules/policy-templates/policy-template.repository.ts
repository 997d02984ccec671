import { Injectable } from '@nestjs/common';
import { PageRequest, SortDirection } from '../../common/graphql/pagination';
import { isUuid } from '../../common/validation/ids';
import { PolicyBundle, PolicyCompileStatus, PolicyTemplate, PolicyTemplateVersion, Prisma } from '../../generated/prisma/client';
import { pagedRows, SortColumn } from '../../infra/database/list-query';
import { PrismaService } from '../../infra/database/prisma.service';
import { Tx } from '../../infra/database/transaction';
import { PolicyTemplateSortField } from './policy-template.model';

export interface PolicyTemplateQuery {
  organizationId: string;
  builtIn?: boolean;
  kind?: string;
}

export type VersionWithTemplate = PolicyTemplateVersion & { template: PolicyTemplate };

const SORT: Record<PolicyTemplateSortField, SortColumn> = {
  NAME: { sql: Prisma.raw('"name"'), cast: 'text' },
  CREATED_AT: { sql: Prisma.raw('"createdAt"'), cast: 'timestamptz' },
  UPDATED_AT: { sql: Prisma.raw('"updatedAt"'), cast: 'timestamptz' },
};

/** What an organization sees: its own templates and the built-in recipes (no organization). */
const visibleTo = (organizationId: string): Prisma.PolicyTemplateWhereInput => ({ OR: [{ organizationId }, { organizationId: null }] });

/** Templates, their versions and the compiled bundles. */
@Injectable()
export class PolicyTemplateRepository {
  constructor(private readonly prisma: PrismaService) {}

  page(query: PolicyTemplateQuery, sort: PolicyTemplateSortField, direction: SortDirection, page: PageRequest) {
    const owner =
      query.builtIn === true
        ? Prisma.sql`"organizationId" IS NULL`
        : query.builtIn === false
          ? Prisma.sql`"organizationId" = ${query.organizationId}::uuid`
          : Prisma.sql`("organizationId" = ${query.organizationId}::uuid OR "organizationId" IS NULL)`;
    const conditions = [owner, ...(query.kind ? [Prisma.sql`"kind" = ${query.kind}`] : [])];
    return pagedRows<PolicyTemplate>(this.prisma, 'PolicyTemplate', conditions, SORT[sort], direction, page);
  }

  find(organizationId: string, id: string): Promise<PolicyTemplate | null> {
    if (!isUuid(id)) {
      return Promise.resolve(null);
    }
    return this.prisma.policyTemplate.findFirst({ where: { id, ...visibleTo(organizationId) } });
  }

  findIn(tx: Tx, organizationId: string, id: string): Promise<PolicyTemplate | null> {
    if (!isUuid(id)) {
      return Promise.resolve(null);
    }
    return tx.policyTemplate.findFirst({ where: { id, ...visibleTo(organizationId) } });
  }

  /** Locks the template row so versions are numbered one at a time. */
  async lock(tx: Tx, id: string): Promise<void> {
    await tx.$queryRaw`SELECT 1 FROM "PolicyTemplate" WHERE "id" = ${id}::uuid FOR UPDATE`;
  }

  findByName(tx: Tx, organizationId: string | null, name: string): Promise<PolicyTemplate | null> {
    return tx.policyTemplate.findFirst({ where: { organizationId, name } });
  }

  /** The organization's template of this kind, else the built-in one. */
  async findByKindIn(tx: Tx, organizationId: string, kind: string): Promise<PolicyTemplate | null> {
    const found = await tx.policyTemplate.findMany({ where: { kind, ...visibleTo(organizationId) } });
    return found.find((t) => t.organizationId === organizationId) ?? found[0] ?? null;
  }

  create(tx: Tx, data: Prisma.PolicyTemplateUncheckedCreateInput): Promise<PolicyTemplate> {
    return tx.policyTemplate.create({ data });
  }

  touch(tx: Tx, id: string): Promise<PolicyTemplate> {
    return tx.policyTemplate.update({ where: { id }, data: { updatedAt: new Date() } });
  }

  versionsOf(templateId: string): Promise<PolicyTemplateVersion[]> {
    return this.prisma.policyTemplateVersion.findMany({ where: { templateId }, orderBy: { version: 'desc' } });
  }

  latestVersion(templateId: string, lifecycle?: PolicyTemplateVersion['lifecycle']): Promise<PolicyTemplateVersion | null> {
    return this.prisma.policyTemplateVersion.findFirst({ where: { templateId, ...(lifecycle ? { lifecycle } : {}) }, orderBy: { version: 'desc' } });
  }

  latestVersionIn(tx: Tx, templateId: string): Promise<PolicyTemplateVersion | null> {
    return tx.policyTemplateVersion.findFirst({ where: { templateId }, orderBy: { version: 'desc' } });
  }

  /** The version a constraint gets when none is named: the newest PUBLISHED, else the newest not DEPRECATED. */
  async defaultVersionIn(tx: Tx, templateId: string): Promise<PolicyTemplateVersion | null> {
    return (
      (await tx.policyTemplateVersion.findFirst({ where: { templateId, lifecycle: 'PUBLISHED' }, orderBy: { version: 'desc' } })) ??
      tx.policyTemplateVersion.findFirst({ where: { templateId, lifecycle: 'DRAFT' }, orderBy: { version: 'desc' } })
    );
  }

  findVersion(organizationId: string, id: string): Promise<VersionWithTemplate | null> {
    if (!isUuid(id)) {
      return Promise.resolve(null);
    }
    return this.prisma.policyTemplateVersion.findFirst({ where: { id, template: visibleTo(organizationId) }, include: { template: true } });
  }

  findVersionIn(tx: Tx, organizationId: string, id: string): Promise<VersionWithTemplate | null> {
    if (!isUuid(id)) {
      return Promise.resolve(null);
    }
    return tx.policyTemplateVersion.findFirst({ where: { id, template: visibleTo(organizationId) }, include: { template: true } });
  }

  /** For the compile job, which acts for whoever owns the version. */
  findVersionById(id: string): Promise<VersionWithTemplate | null> {
    if (!isUuid(id)) {
      return Promise.resolve(null);
    }
    return this.prisma.policyTemplateVersion.findUnique({ where: { id }, include: { template: true } });
  }

  createVersion(tx: Tx, data: Prisma.PolicyTemplateVersionUncheckedCreateInput): Promise<PolicyTemplateVersion> {
    return tx.policyTemplateVersion.create({ data });
  }

  updateVersion(tx: Tx, id: string, data: Prisma.PolicyTemplateVersionUncheckedUpdateInput): Promise<PolicyTemplateVersion> {
    return tx.policyTemplateVersion.update({ where: { id }, data });
  }

  /** Compare-and-set on the compile status: false when another run already moved it on. */
  async updateVersionIfStatus(db: Tx | undefined, id: string, from: PolicyCompileStatus[], data: Prisma.PolicyTemplateVersionUncheckedUpdateManyInput): Promise<boolean> {
    const { count } = await (db ?? this.prisma).policyTemplateVersion.updateMany({ where: { id, compileStatus: { in: from } }, data });
    return count === 1;
  }

  /** Versions whose compile job may have been lost (queued by an API that died before enqueueing, say). */
  unfinishedVersionIds(): Promise<{ id: string }[]> {
    return this.prisma.policyTemplateVersion.findMany({ where: { compileStatus: { in: ['QUEUED', 'COMPILING'] } }, select: { id: true } });
  }

  /** Stores a bundle once: a second store of the same bytes is a no-op. */
  async storeBundle(tx: Tx, sha256: string, wasm: Uint8Array): Promise<void> {
    await tx.$executeRaw`INSERT INTO "PolicyBundle" ("sha256", "wasm", "size") VALUES (${sha256}, ${Buffer.from(wasm)}, ${wasm.byteLength}) ON CONFLICT ("sha256") DO NOTHING`;
  }

  findBundle(sha256: string): Promise<PolicyBundle | null> {
    return this.prisma.policyBundle.findUnique({ where: { sha256 } });
  }

  /** Serialises the built-in recipe sync across replicas for the rest of the transaction. */
  async lockRecipeSync(tx: Tx): Promise<void> {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('farpoint:policy-recipes'))`;
  }
}
