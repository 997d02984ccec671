import { Injectable } from '@nestjs/common';
import { FarpointError } from '../../common/errors/farpoint-error';
import { Connection, SortDirection, toConnection, toPageRequest } from '../../common/graphql/pagination';
import { actorOf, Principal } from '../../common/graphql/request-context';
import { parseLabelSelector } from '../../common/labels/label-selector';
import { assertName, assertText } from '../../common/validation/names';
import { Site } from '../../generated/prisma/client';
import { TransactionRunner } from '../../infra/database/transaction';
import { EventRecorder } from '../events/event.recorder';
import { resolveConnectivity } from './connectivity';
import { validateMaintenanceWindows } from './maintenance-windows';
import { CreateSiteInput, SiteSortField, SitesArgs, UpdateSiteInput } from './site.model';
import { SiteRepository } from './site.repository';
import { EventObjectKind, EventType } from '../events/event-types';

const SORT_KEY: Record<SiteSortField, keyof Site> = { NAME: 'name', CREATED_AT: 'createdAt', UPDATED_AT: 'updatedAt' };

function assertCoordinates(latitude?: number | null, longitude?: number | null): void {
  if ((latitude == null) !== (longitude == null)) {
    throw FarpointError.badInput('Give both latitude and longitude, or neither.', 'latitude');
  }
  if (latitude != null && (latitude < -90 || latitude > 90)) {
    throw FarpointError.badInput('latitude must be between -90 and 90.', 'latitude');
  }
  if (longitude != null && (longitude < -180 || longitude > 180)) {
    throw FarpointError.badInput('longitude must be between -180 and 180.', 'longitude');
  }
}

@Injectable()
export class SiteService {
  constructor(
    private readonly sites: SiteRepository,
    private readonly transactions: TransactionRunner,
    private readonly events: EventRecorder,
  ) {}

  async list(principal: Principal, args: SitesArgs): Promise<Connection<Site>> {
    const sort = args.orderBy?.field ?? SiteSortField.NAME;
    const request = toPageRequest(args, sort);
    const { rows, total } = await this.sites.page(
      {
        organizationId: principal.organizationId,
        tier: args.filter?.tier,
        region: args.filter?.region,
        connectivity: args.filter?.connectivity,
        labels: parseLabelSelector(args.filter?.labelSelector ?? ''),
      },
      sort,
      args.orderBy?.direction ?? SortDirection.ASC,
      request,
    );
    return toConnection(rows, request, total, sort, (row) => row[SORT_KEY[sort]]);
  }

  async get(principal: Principal, id: string): Promise<Site> {
    const site = await this.sites.find(principal.organizationId, id);
    if (!site) {
      throw FarpointError.notFound('Site', id);
    }
    return site;
  }

  async create(principal: Principal, input: CreateSiteInput): Promise<Site> {
    assertName(input.name);
    assertText(input.region, 'region', 64);
    assertText(input.address, 'address');
    assertText(input.hardwareModel, 'hardwareModel', 128);
    assertCoordinates(input.latitude, input.longitude);
    const connectivity = resolveConnectivity(input.connectivity ?? { mode: 'ALWAYS_ON' });
    const maintenanceWindows = validateMaintenanceWindows(input.maintenanceWindows ?? []);
    return this.transactions.runOrConflict(async (tx) => {
      const site = await this.sites.create(tx, {
        organizationId: principal.organizationId,
        name: input.name,
        tier: input.tier,
        region: input.region,
        address: input.address,
        latitude: input.latitude,
        longitude: input.longitude,
        hardwareModel: input.hardwareModel,
        labels: input.labels ?? {},
        maintenanceWindows: maintenanceWindows as object[],
        ...connectivity,
      });
      await this.events.record(tx, {
        organizationId: principal.organizationId,
        objectKind: EventObjectKind.Site,
        objectId: site.id,
        type: EventType.SiteCreated,
        message: `Site ${site.name} created`,
        actor: actorOf(principal),
      });
      return site;
    }, `A site named ${input.name} already exists in this organization.`);
  }

  async update(principal: Principal, id: string, input: UpdateSiteInput): Promise<Site> {
    const current = await this.get(principal, id);
    if (input.name !== undefined) {
      assertName(input.name);
    }
    if (input.region !== undefined) {
      assertText(input.region, 'region', 64);
    }
    assertText(input.address, 'address');
    assertText(input.hardwareModel, 'hardwareModel', 128);
    const latitude = input.latitude !== undefined ? input.latitude : current.latitude;
    const longitude = input.longitude !== undefined ? input.longitude : current.longitude;
    assertCoordinates(latitude, longitude);
    const connectivity = input.connectivity ? resolveConnectivity(input.connectivity) : {};
    const maintenanceWindows = input.maintenanceWindows ? (validateMaintenanceWindows(input.maintenanceWindows) as object[]) : undefined;
    return this.transactions.runOrConflict(
      async (tx) => {
        const site = await this.sites.update(tx, id, {
          name: input.name,
          tier: input.tier,
          region: input.region,
          address: input.address,
          latitude,
          longitude,
          hardwareModel: input.hardwareModel,
          labels: input.labels,
          maintenanceWindows,
          ...connectivity,
        });
        await this.events.record(tx, {
          organizationId: principal.organizationId,
          objectKind: EventObjectKind.Site,
          objectId: id,
          type: EventType.SiteUpdated,
          message: `Site ${site.name} updated`,
          actor: actorOf(principal),
          data: { changed: Object.keys(input) },
        });
        return site;
      },
      `A site named ${input.name ?? current.name} already exists in this organization.`,
    );
  }

  async delete(principal: Principal, id: string): Promise<Site> {
    const site = await this.get(principal, id);
    return this.transactions.run(async (tx) => {
      const clusters = await this.sites.countClusters(tx, id);
      if (clusters > 0) {
        throw FarpointError.conflict(`Site ${site.name} still has ${clusters} cluster(s); move or delete them first.`);
      }
      await this.sites.delete(tx, id);
      await this.events.record(tx, {
        organizationId: principal.organizationId,
        objectKind: EventObjectKind.Site,
        objectId: id,
        type: EventType.SiteDeleted,
        message: `Site ${site.name} deleted`,
        actor: actorOf(principal),
      });
      return site;
    });
  }
}
