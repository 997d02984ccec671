import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { WorkerModule } from '../app.module';
import { type Principal } from '../common/graphql/request-context';
import { loadConfig } from '../infra/config/app-config';
import { createRootLogger } from '../infra/logging/logger';
import { AuthService } from '../modules/auth/auth.service';
import { ClusterGroupService } from '../modules/cluster-groups/cluster-group.service';
import { ClusterService } from '../modules/clusters/cluster.service';
import { NamespaceService } from '../modules/namespaces/namespace.service';
import { OrganizationRepository } from '../modules/organizations/organization.repository';
import { OrganizationService } from '../modules/organizations/organization.service';
import { SiteService } from '../modules/sites/site.service';
import { WorkspaceService } from '../modules/workspaces/workspace.service';

/**
 * Seeds the demo organization through the same services the API uses (so every object has its
 * Events), once; later runs only mint a fresh admin token, since secrets are shown only once.
 * Prints JSON: { organizationId, adminToken, created }.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, createRootLogger('warn', 'demo-seed')), { logger: false });
  try {
    const existing = await app.get(OrganizationRepository).findByName('demo');
    const organizationId = existing?.id ?? (await app.get(OrganizationService).bootstrap('demo', 'Demo Retail & Manufacturing', 'system:demo-seed')).organization.id;
    const admin: Principal = { tokenId: 'demo-seed', tokenName: 'demo-seed', organizationId, role: 'ADMIN' };
    const { secret } = await app.get(AuthService).createToken(admin, { name: `demo-admin-${Date.now()}`, role: 'ADMIN' });
    if (!existing) {
      await seedInventory(app, admin);
    }
    process.stdout.write(JSON.stringify({ organizationId, adminToken: secret, created: !existing }) + '\n');
  } finally {
    await app.close();
  }
}

async function seedInventory(app: Awaited<ReturnType<typeof NestFactory.createApplicationContext>>, admin: Principal): Promise<void> {
  const sites = app.get(SiteService);
  const groups = app.get(ClusterGroupService);
  const clusters = app.get(ClusterService);
  const workspaces = app.get(WorkspaceService);
  const namespaces = app.get(NamespaceService);

  const munich = await sites.create(admin, {
    name: 'muc-store-0412',
    tier: 'FAR_EDGE',
    region: 'eu-central',
    address: 'Kaufingerstr. 12, 80331 München',
    latitude: 48.137,
    longitude: 11.575,
    hardwareModel: 'Lenovo ThinkEdge SE350',
    connectivity: { mode: 'INTERMITTENT' },
    labels: { country: 'de', format: 'flagship' },
  });
  const rotterdam = await sites.create(admin, {
    name: 'rtm-plant-02',
    tier: 'FAR_EDGE',
    region: 'eu-west',
    address: 'Europoort, Rotterdam',
    latitude: 51.95,
    longitude: 4.14,
    hardwareModel: 'Dell PowerEdge XR4000',
    connectivity: { mode: 'ALWAYS_ON' },
    labels: { country: 'nl' },
  });
  const dallas = await sites.create(admin, {
    name: 'dfw-cell-117',
    tier: 'FAR_EDGE',
    region: 'us-south',
    hardwareModel: 'Dell PowerEdge XR11',
    connectivity: { mode: 'SCHEDULED' },
    labels: { country: 'us', carrier: 'ran' },
  });
  const core = await sites.create(admin, { name: 'fra-dc-1', tier: 'CORE', region: 'eu-central', connectivity: { mode: 'ALWAYS_ON' } });

  const pos = await groups.create(admin, { name: 'point-of-sale', description: 'Store checkout and inventory clusters', labels: { team: 'retail' } });
  const lines = await groups.create(admin, { name: 'factory-lines', description: 'Production line control', labels: { team: 'ot' } });
  const ran = await groups.create(admin, { name: 'ran-sites', description: 'Cell-site RAN workloads' });

  const made = [
    await clusters.create(admin, { name: 'muc-0412-pos', groupId: pos.id, siteId: munich.id, distribution: 'K3S', labels: { tier: 'edge', env: 'prod' } }),
    await clusters.create(admin, { name: 'muc-0412-canary', groupId: pos.id, siteId: munich.id, distribution: 'K3S', labels: { tier: 'edge', env: 'prod', canary: 'true' } }),
    await clusters.create(admin, { name: 'rtm-02-line-a', groupId: lines.id, siteId: rotterdam.id, distribution: 'TKG', labels: { tier: 'edge', env: 'stage' } }),
    await clusters.create(admin, { name: 'dfw-117-du', groupId: ran.id, siteId: dallas.id, distribution: 'TKG', labels: { tier: 'edge', env: 'prod' } }),
    await clusters.create(admin, { name: 'fra-mgmt', groupId: lines.id, siteId: core.id, distribution: 'TKG', labels: { tier: 'core', env: 'prod' } }),
  ];
  const checkout = await workspaces.create(admin, { name: 'checkout', description: 'Checkout team' });
  const mes = await workspaces.create(admin, { name: 'mes', description: 'Manufacturing execution' });
  await namespaces.create(admin, { name: 'checkout', clusterId: made[0].id, workspaceId: checkout.id });
  await namespaces.create(admin, { name: 'checkout', clusterId: made[1].id, workspaceId: checkout.id });
  await namespaces.create(admin, { name: 'mes-line-a', clusterId: made[2].id, workspaceId: mes.id });
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
