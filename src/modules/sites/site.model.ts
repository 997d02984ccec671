import { ArgsType, Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { ConnectionType, OrderByInput, PageArgs } from '../../common/graphql/pagination';
import { Labels, LabelsScalar } from '../../common/labels/labels.scalar';
import { ConnectivityMode, SiteTier } from '../../generated/prisma/enums';
import { WEEKDAYS, type Weekday } from './maintenance-windows';

export const WeekdayEnum = Object.fromEntries(WEEKDAYS.map((d) => [d, d])) as { [D in Weekday]: D };
registerEnumType(WeekdayEnum, { name: 'Weekday' });

registerEnumType(SiteTier, { name: 'SiteTier', description: 'FAR_EDGE: shops, factories, cell sites; NEAR_EDGE: regional points of presence; CORE: data centres.' });
registerEnumType(ConnectivityMode, { name: 'ConnectivityMode', description: 'How the site reaches Farpoint; sets how long silence is tolerated before DISCONNECTED.' });

@ObjectType({ description: 'How a site connects, and how long Farpoint waits before calling its clusters DISCONNECTED.' })
export class Connectivity {
  @Field(() => ConnectivityMode) mode: ConnectivityMode;
  @Field(() => Int, { description: 'Seconds between agent heartbeats.' }) heartbeatIntervalSeconds: number;
  @Field(() => Int, { description: 'Seconds without a heartbeat before a cluster is DISCONNECTED.' }) disconnectGraceSeconds: number;
}

@ObjectType({
  description:
    'A weekly window in which the clusters of a site take a new desired state (changes not marked urgent wait for one). It opens at start (local time in timeZone) on each of its days and lasts durationMinutes, possibly past midnight.',
})
export class MaintenanceWindowModel {
  @Field(() => [WeekdayEnum], { description: 'The days it opens on.' }) days: Weekday[];
  @Field({ description: '24-hour local time HH:MM. A time the clocks skip is moved forward by the gap; one that happens twice opens at its first occurrence.' }) start: string;
  @Field(() => Int, { description: '1 to 1440 minutes of elapsed time.' }) durationMinutes: number;
  @Field({ description: 'IANA time zone, e.g. Europe/Berlin.' }) timeZone: string;
}

@InputType()
export class MaintenanceWindowInput {
  @Field(() => [WeekdayEnum]) days: Weekday[];
  @Field({ description: 'HH:MM, 24-hour, local time in timeZone.' }) start: string;
  @Field(() => Int) durationMinutes: number;
  @Field() timeZone: string;
}

@ObjectType('Site', { description: 'An edge location: a shop, factory, cell site or data centre that runs clusters.' })
export class SiteModel {
  @Field(() => ID) id: string;
  @Field() name: string;
  @Field(() => SiteTier) tier: SiteTier;
  @Field() region: string;
  @Field(() => String, { nullable: true }) address: string | null;
  @Field(() => Float, { nullable: true }) latitude: number | null;
  @Field(() => Float, { nullable: true }) longitude: number | null;
  @Field(() => String, { nullable: true, description: 'e.g. Dell PowerEdge XR11, Lenovo SE350.' }) hardwareModel: string | null;
  @Field(() => LabelsScalar) labels: Labels;
  @Field() createdAt: Date;
  @Field() updatedAt: Date;
  // Resolved from the row's connectivity columns.
  connectivity?: Connectivity;
  // Resolved from the row's JSON column.
  maintenanceWindows?: MaintenanceWindowModel[];
}

export const SiteConnection = ConnectionType(SiteModel, 'Site');

export enum SiteSortField {
  NAME = 'NAME',
  CREATED_AT = 'CREATED_AT',
  UPDATED_AT = 'UPDATED_AT',
}
registerEnumType(SiteSortField, { name: 'SiteSortField' });
export const SiteOrderBy = OrderByInput('SiteOrderBy', SiteSortField, SiteSortField.NAME);
export type SiteOrderBy = InstanceType<typeof SiteOrderBy>;

@InputType()
export class SiteFilter {
  @Field(() => SiteTier, { nullable: true }) tier?: SiteTier;
  @Field({ nullable: true }) region?: string;
  @Field(() => ConnectivityMode, { nullable: true }) connectivity?: ConnectivityMode;
  @Field({ nullable: true, description: 'Kubernetes label selector, e.g. "country=de,!lab".' }) labelSelector?: string;
}

@ArgsType()
export class SitesArgs extends PageArgs {
  @Field(() => SiteFilter, { nullable: true }) filter?: SiteFilter;
  @Field(() => SiteOrderBy, { nullable: true }) orderBy?: SiteOrderBy;
}

@InputType()
export class ConnectivityInput {
  @Field(() => ConnectivityMode) mode: ConnectivityMode;
  @Field(() => Int, { nullable: true, description: 'Defaults: 20 s (ALWAYS_ON), 300 s (INTERMITTENT), 900 s (SCHEDULED).' }) heartbeatIntervalSeconds?: number;
  @Field(() => Int, { nullable: true, description: 'Defaults: 3 heartbeats (ALWAYS_ON), 6 h (INTERMITTENT), 24 h (SCHEDULED).' }) disconnectGraceSeconds?: number;
}

@InputType()
export class CreateSiteInput {
  @Field() name: string;
  @Field(() => SiteTier) tier: SiteTier;
  @Field() region: string;
  @Field({ nullable: true }) address?: string;
  @Field(() => Float, { nullable: true }) latitude?: number;
  @Field(() => Float, { nullable: true }) longitude?: number;
  @Field({ nullable: true }) hardwareModel?: string;
  @Field(() => ConnectivityInput, { nullable: true }) connectivity?: ConnectivityInput;
  @Field(() => LabelsScalar, { nullable: true }) labels?: Labels;
  @Field(() => [MaintenanceWindowInput], { nullable: true, description: 'Default: none (clusters take every change at once).' }) maintenanceWindows?: MaintenanceWindowInput[];
}

@InputType()
export class UpdateSiteInput {
  @Field({ nullable: true }) name?: string;
  @Field(() => SiteTier, { nullable: true }) tier?: SiteTier;
  @Field({ nullable: true }) region?: string;
  @Field(() => String, { nullable: true }) address?: string | null;
  @Field(() => Float, { nullable: true }) latitude?: number | null;
  @Field(() => Float, { nullable: true }) longitude?: number | null;
  @Field(() => String, { nullable: true }) hardwareModel?: string | null;
  @Field(() => ConnectivityInput, { nullable: true }) connectivity?: ConnectivityInput;
  @Field(() => LabelsScalar, { nullable: true, description: 'Replaces all labels.' }) labels?: Labels;
  @Field(() => [MaintenanceWindowInput], { nullable: true, description: 'Replaces all windows; [] lets clusters take every change at once.' })
  maintenanceWindows?: MaintenanceWindowInput[];
}

@ObjectType({ description: "Counts of a site's clusters by health." })
export class ClusterHealthSummary {
  @Field(() => Int) total: number;
  @Field(() => Int) healthy: number;
  @Field(() => Int) warning: number;
  @Field(() => Int) unhealthy: number;
  @Field(() => Int) disconnected: number;
  @Field(() => Int) unknown: number;
}
