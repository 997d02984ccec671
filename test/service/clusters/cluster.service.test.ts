// Moving and deleting clusters, and deleting the sites and groups that hold them, through the services
// on the real Postgres: placement is checked inside the organization, a cluster whose agent may run is
// never deleted (not even when its agent registers while the delete is being decided), and a refusal
// changes and records nothing.
import { randomUUID } from 'node:crypto';
import { ClusterPhase } from '../../../src/generated/prisma/enums';
import { ClusterGroupRepository } from '../../../src/modules/cluster-groups/cluster-group.repository';
import { ClusterGroupService } from '../../../src/modules/cluster-groups/cluster-group.service';
import { AGENT_MAY_RUN_PHASES } from '../../../src/modules/clusters/cluster-phases';
import { ClusterRepository } from '../../../src/modules/clusters/cluster.repository';
import { ClusterService } from '../../../src/modules/clusters/cluster.service';
import { SiteRepository } from '../../../src/modules/sites/site.repository';
import { SiteService } from '../../../src/modules/sites/site.service';
import { CompetingWriter } from '../support/competing-writer';
import { TestData, type TestOrganization } from '../support/factories';
import { refusal } from '../support/refusal';
import { createServiceModule, type ServiceModule } from '../support/service-module';
import { GenerationRepository } from '../../../src/modules/desired-state/generation.repository';

let svc: ServiceModule;
let clusters: ClusterService;
let data: TestData;
let org: TestOrganization;
let other: TestOrganization;

beforeAll(async () => {
  svc = await createServiceModule({
    providers: [ClusterService, GenerationRepository, ClusterRepository, ClusterGroupRepository, SiteRepository, SiteService, ClusterGroupService],
  });
  clusters = svc.get(ClusterService);
  data = new TestData(svc.prisma);
  org = await data.organization();
  other = await data.organization();
}, 30_000);

afterAll(async () => {
  await svc?.close();
});

/** The FarpointError a call rejects with (fails the test when it resolves). */

describe(ClusterService.name, () => {
  describe('move', () => {
    it('moves a cluster to another group and site and records where it came from and went to', async () => {
      const [fromGroup, toGroup] = [await data.group(org), await data.group(org)];
      const [fromSite, toSite] = [await data.site(org), await data.site(org)];
      const cluster = await data.cluster(org).in(fromGroup).at(fromSite).create();

      const moved = await clusters.move(org.principal, cluster.id, { groupId: toGroup.id, siteId: toSite.id });

      expect(moved).toMatchObject({ id: cluster.id, groupId: toGroup.id, siteId: toSite.id });
      expect(await data.reload(cluster)).toMatchObject({ groupId: toGroup.id, siteId: toSite.id });
      expect((await data.eventsOf(cluster.id)).map(({ type, actor, data: d }) => ({ type, actor, data: d }))).toEqual([
        { type: 'ClusterMoved', actor: org.actor, data: { from: { groupId: fromGroup.id, siteId: fromSite.id }, to: { groupId: toGroup.id, siteId: toSite.id } } },
      ]);
    });

    it('keeps what is not given: only the site moves with a siteId, and siteId null takes the cluster off its site', async () => {
      const group = await data.group(org);
      const [fromSite, toSite] = [await data.site(org), await data.site(org)];
      const cluster = await data.cluster(org).in(group).at(fromSite).create();

      expect(await clusters.move(org.principal, cluster.id, { siteId: toSite.id })).toMatchObject({ groupId: group.id, siteId: toSite.id });
      expect(await clusters.move(org.principal, cluster.id, { siteId: null })).toMatchObject({ groupId: group.id, siteId: null });
    });

    it.each(['group', 'site'] as const)("refuses a move to another organization's %s with NOT_FOUND and changes nothing", async (kind) => {
      const site = await data.site(org);
      const cluster = await data.cluster(org).at(site).create();
      const foreign = kind === 'group' ? await data.group(other) : await data.site(other);

      const error = await refusal(clusters.move(org.principal, cluster.id, kind === 'group' ? { groupId: foreign.id } : { siteId: foreign.id }));

      expect({ code: error.code, details: error.details }).toEqual({ code: 'NOT_FOUND', details: { kind: kind === 'group' ? 'ClusterGroup' : 'Site', id: foreign.id } });
      expect(await data.reload(cluster)).toMatchObject({ groupId: cluster.groupId, siteId: site.id });
      expect(await data.eventsOf(cluster.id)).toEqual([]);
    });

    it('refuses a move that names neither a group nor a site (BAD_USER_INPUT)', async () => {
      const cluster = await data.cluster(org).create();
      const error = await refusal(clusters.move(org.principal, cluster.id, {}));
      expect({ code: error.code, details: error.details }).toEqual({ code: 'BAD_USER_INPUT', details: { field: 'groupId' } });
    });

    it("answers NOT_FOUND for another organization's cluster, into a group of the caller's own", async () => {
      const foreign = await data.cluster(other).create();
      const error = await refusal(clusters.move(org.principal, foreign.id, { groupId: (await data.group(org)).id }));
      expect(error.code).toBe('NOT_FOUND');
      expect(await data.reload(foreign)).toMatchObject({ groupId: foreign.groupId });
    });
  });

  describe('delete', () => {
    const agentMayRun = [...AGENT_MAY_RUN_PHASES];
    const noAgent = Object.values(ClusterPhase).filter((phase) => !AGENT_MAY_RUN_PHASES.has(phase));

    it.each(agentMayRun)('refuses to delete a %s cluster (an agent may run there) with CONFLICT and keeps it', async (phase) => {
      const cluster = await data.cluster(org).phase(phase).create();
      const error = await refusal(clusters.delete(org.principal, cluster.id));
      expect(error.code).toBe('CONFLICT');
      expect(error.message).toContain('detach it before deleting it');
      expect(await data.reload(cluster)).toMatchObject({ phase });
      expect(await data.eventsOf(cluster.id)).toEqual([]);
    });

    it.each(noAgent)('deletes a %s cluster with what hangs off it and records ClusterDeleted', async (phase) => {
      const cluster = await data.cluster(org).phase(phase).create();
      await data.registrationToken(cluster);
      await data.operation(cluster, { kind: 'ATTACH', state: 'FAILED' });

      expect(await clusters.delete(org.principal, cluster.id)).toMatchObject({ id: cluster.id });

      expect(await svc.prisma.cluster.count({ where: { id: cluster.id } })).toBe(0);
      expect(await svc.prisma.registrationToken.count({ where: { clusterId: cluster.id } })).toBe(0);
      expect(await svc.prisma.clusterOperation.count({ where: { clusterId: cluster.id } })).toBe(0);
      expect((await data.eventsOf(cluster.id)).map((e) => [e.type, e.actor])).toEqual([['ClusterDeleted', org.actor]]);
    });

    it('refuses to delete an ERROR cluster whose agent had registered (kube-system UID known): that agent may still run', async () => {
      const cluster = await data.cluster(org).registered().phase('ERROR').create();
      expect((await refusal(clusters.delete(org.principal, cluster.id))).code).toBe('CONFLICT');
      expect(await data.reload(cluster)).toMatchObject({ phase: 'ERROR' });
    });

    it('refuses a delete while an agent registers: the phase is decided under the row lock, after the registration commits', async () => {
      const cluster = await data.cluster(org).phase('PENDING').create();
      // The registration holds the cluster row (AgentClusterRepository.lock) and has moved it to ATTACHED, not yet committed.
      const registration = await CompetingWriter.begin(svc.db.url);
      await registration.query(`SELECT 1 FROM "Cluster" WHERE "id" = $1 FOR UPDATE`, [cluster.id]);
      await registration.query(`UPDATE "Cluster" SET "phase" = 'ATTACHED', "kubeSystemUid" = $2 WHERE "id" = $1`, [cluster.id, randomUUID()]);

      const deleting = refusal(clusters.delete(org.principal, cluster.id));
      await registration.commitOnceBlocked();
      const error = await deleting;

      expect(error.code).toBe('CONFLICT');
      expect(await data.reload(cluster)).toMatchObject({ phase: 'ATTACHED' });
      expect(await data.eventsOf(cluster.id)).toEqual([]);
    });

    it("answers NOT_FOUND for another organization's cluster and deletes nothing", async () => {
      const foreign = await data.cluster(other).create();
      expect((await refusal(clusters.delete(org.principal, foreign.id))).code).toBe('NOT_FOUND');
      expect(await svc.prisma.cluster.count({ where: { id: foreign.id } })).toBe(1);
    });
  });
});

describe(SiteService.name, () => {
  it('refuses to delete a site that still has clusters (CONFLICT, with how many) and deletes it once they moved away', async () => {
    const site = await data.site(org);
    const group = await data.group(org);
    const held = await org.seed.clusters(2, () => ({ groupId: group.id, siteId: site.id }));
    const sites = svc.get(SiteService);

    const error = await refusal(sites.delete(org.principal, site.id));
    expect(error.code).toBe('CONFLICT');
    expect(error.message).toContain('still has 2 cluster(s)');
    expect(await svc.prisma.site.count({ where: { id: site.id } })).toBe(1);
    expect(await data.eventsOf(site.id)).toEqual([]);

    for (const cluster of held) {
      await clusters.move(org.principal, cluster.id, { siteId: null });
    }
    await sites.delete(org.principal, site.id);
    expect(await svc.prisma.site.count({ where: { id: site.id } })).toBe(0);
    expect((await data.eventsOf(site.id)).map((e) => e.type)).toEqual(['SiteDeleted']);
  });
});

describe(ClusterGroupService.name, () => {
  it('refuses to delete a group that still has clusters (CONFLICT, with how many) and deletes it once they moved away', async () => {
    const [group, elsewhere] = [await data.group(org), await data.group(org)];
    const cluster = await data.cluster(org).in(group).create();
    const groups = svc.get(ClusterGroupService);

    const error = await refusal(groups.delete(org.principal, group.id));
    expect(error.code).toBe('CONFLICT');
    expect(error.message).toContain('still has 1 cluster(s)');
    expect(await svc.prisma.clusterGroup.count({ where: { id: group.id } })).toBe(1);

    await clusters.move(org.principal, cluster.id, { groupId: elsewhere.id });
    await groups.delete(org.principal, group.id);
    expect(await svc.prisma.clusterGroup.count({ where: { id: group.id } })).toBe(0);
    expect((await data.eventsOf(group.id)).map((e) => e.type)).toEqual(['ClusterGroupDeleted']);
  });

  it("answers NOT_FOUND for another organization's group and deletes nothing", async () => {
    const foreign = await data.group(other);
    expect((await refusal(svc.get(ClusterGroupService).delete(org.principal, foreign.id))).code).toBe('NOT_FOUND');
    expect(await svc.prisma.clusterGroup.count({ where: { id: foreign.id } })).toBe(1);
  });
});
