import { Injectable } from '@nestjs/common';
import { FarpointError } from '../../common/errors/farpoint-error';
import { actorOf, Principal } from '../../common/graphql/request-context';
import { assertName, assertText } from '../../common/validation/names';
import { Organization } from '../../generated/prisma/client';
import { TransactionRunner } from '../../infra/database/transaction';
import { ApiTokenRepository } from '../auth/api-token.repository';
import { newApiTokenSecret } from '../auth/api-token.secret';
import { EventRecorder } from '../events/event.recorder';
import { OrganizationRepository } from './organization.repository';
import { EventObjectKind, EventType } from '../events/event-types';

/** Ten years: a cap beyond that is no cap. */
const MAX_TOKEN_LIFETIME_DAYS = 3650;

@Injectable()
export class OrganizationService {
  constructor(
    private readonly organizations: OrganizationRepository,
    private readonly tokens: ApiTokenRepository,
    private readonly transactions: TransactionRunner,
    private readonly events: EventRecorder,
  ) {}

  async current(principal: Principal): Promise<Organization> {
    const organization = await this.organizations.find(principal.organizationId);
    if (!organization) {
      throw FarpointError.notFound('Organization', principal.organizationId);
    }
    return organization;
  }

  /** Organization-wide settings (ADMIN): today the maximum lifetime of new API tokens. */
  async updateSettings(principal: Principal, input: { apiTokenMaxLifetimeDays?: number | null }): Promise<Organization> {
    const days = input.apiTokenMaxLifetimeDays ?? null;
    if (days !== null && (!Number.isInteger(days) || days < 1 || days > MAX_TOKEN_LIFETIME_DAYS)) {
      throw FarpointError.badInput(`apiTokenMaxLifetimeDays must be a whole number of days from 1 to ${MAX_TOKEN_LIFETIME_DAYS}, or null for no limit.`, 'apiTokenMaxLifetimeDays');
    }
    return this.transactions.run(async (tx) => {
      const organization = await this.organizations.updateSettings(tx, principal.organizationId, { apiTokenMaxLifetimeDays: days });
      await this.events.record(tx, {
        organizationId: organization.id,
        objectKind: EventObjectKind.Organization,
        objectId: organization.id,
        type: EventType.OrganizationSettingsChanged,
        message: days === null ? 'API tokens may live until revoked' : `New API tokens may live at most ${days} days`,
        actor: actorOf(principal),
        data: { apiTokenMaxLifetimeDays: days },
      });
      return organization;
    });
  }

  /**
   * Creates a tenant with its first ADMIN token (operator action, from the CLI or the demo seed;
   * tenants are not created over the tenant-scoped API).
   */
  async bootstrap(name: string, displayName: string, actor: string): Promise<{ organization: Organization; adminToken: string }> {
    assertName(name);
    assertText(displayName, 'displayName', 128);
    return this.transactions.runOrConflict(async (tx) => {
      const organization = await this.organizations.create(tx, { name, displayName });
      const { secret, hash, prefix } = newApiTokenSecret();
      const token = await this.tokens.create({ organizationId: organization.id, name: 'bootstrap-admin', role: 'ADMIN', prefix, secretHash: hash, createdBy: actor }, tx);
      await this.events.record(tx, {
        organizationId: organization.id,
        objectKind: EventObjectKind.Organization,
        objectId: organization.id,
        type: EventType.OrganizationCreated,
        message: `Organization ${name} created`,
        actor,
      });
      await this.events.record(tx, {
        organizationId: organization.id,
        objectKind: EventObjectKind.ApiToken,
        objectId: token.id,
        type: EventType.ApiTokenCreated,
        message: 'API token "bootstrap-admin" (ADMIN) created',
        actor,
      });
      return { organization, adminToken: secret };
    }, `An organization named ${name} already exists.`);
  }
}
