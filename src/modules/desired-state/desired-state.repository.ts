import { Injectable } from '@nestjs/common';
import { PolicyBundle, PolicyTemplateVersion } from '../../generated/prisma/client';
import { PrismaService } from '../../infra/database/prisma.service';

export type VersionForState = Pick<PolicyTemplateVersion, 'id' | 'bundleSha256' | 'entrypoint' | 'syncKinds'>;

/** The reads the desired state needs beyond the assignments: the cluster with its group's admission settings, versions, namespaces, bundles. */
@Injectable()
export class DesiredStateRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The cheap read of a poll: one row by primary key, with its site's maintenance windows. */
  generation(clusterId: string): Promise<{ desiredStateGeneration: number; urgentDesiredStateGeneration: number | null; site: { maintenanceWindows: unknown } | null } | null> {
    return this.prisma.cluster.findUnique({
      where: { id: clusterId },
      select: { desiredStateGeneration: true, urgentDesiredStateGeneration: true, site: { select: { maintenanceWindows: true } } },
    });
  }

  cluster(clusterId: string) {
    return this.prisma.cluster.findUnique({
      where: { id: clusterId },
      select: {
        id: true,
        organizationId: true,
        siteId: true,
        groupId: true,
        labels: true,
        desiredStateGeneration: true,
        group: { select: { admissionFailurePolicy: true, admissionTimeoutSeconds: true } },
      },
    });
  }

  versions(ids: string[]): Promise<VersionForState[]> {
    return this.prisma.policyTemplateVersion.findMany({ where: { id: { in: ids } }, select: { id: true, bundleSha256: true, entrypoint: true, syncKinds: true } });
  }

  /** Names of the cluster's namespaces in each of the workspaces. */
  async namespacesByWorkspace(clusterId: string, workspaceIds: string[]): Promise<Map<string, string[]>> {
    const rows = await this.prisma.namespace.findMany({
      where: { clusterId, workspaceId: { in: workspaceIds } },
      select: { workspaceId: true, name: true },
      orderBy: { name: 'asc' },
    });
    const out = new Map<string, string[]>();
    for (const row of rows) {
      out.set(row.workspaceId, [...(out.get(row.workspaceId) ?? []), row.name]);
    }
    return out;
  }

  bundle(sha256: string): Promise<PolicyBundle | null> {
    return this.prisma.policyBundle.findUnique({ where: { sha256 } });
  }
}
