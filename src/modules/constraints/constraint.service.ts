import { GenerationRepository } from '../desired-state/generation.repository';
import { Injectable } from '@nestjs/common';
import { dump } from 'js-yaml';
import { FarpointError } from '../../common/errors/farpoint-error';
import { Connection, SortDirection, toConnection, toPageRequest } from '../../common/graphql/pagination';
import { actorOf, Principal } from '../../common/graphql/request-context';
import { assertName } from '../../common/validation/names';
import { Constraint, EnforcementAction } from '../../generated/prisma/client';
import { TransactionRunner, Tx } from '../../infra/database/transaction';
import { isPolicyEngineError, parseConstraint, parseConstraintMatch } from '../../policy-engine';
import { EventRecorder } from '../events/event.recorder';
import { assertParameters } from '../policy-templates/parameters-schema';
import { PolicyTemplateRepository, VersionWithTemplate } from '../policy-templates/policy-template.repository';
import { PolicyErrors } from '../policy-templates/policy.errors';
import { ConstraintSortField, ConstraintsArgs, CreateConstraintInput, ImportConstraintPayload, UpdateConstraintInput } from './constraint.model';
import { ConstraintRepository } from './constraint.repository';
import { EventObjectKind, EventType } from '../events/event-types';

const SORT_KEY: Record<ConstraintSortField, keyof Constraint> = { NAME: 'name', CREATED_AT: 'createdAt', UPDATED_AT: 'updatedAt' };
const ACTION: Record<'deny' | 'warn' | 'dryrun', EnforcementAction> = { deny: 'DENY', warn: 'WARN', dryrun: 'DRYRUN' };

function checkedMatch(match: Record<string, unknown> | undefined, field: string): Record<string, unknown> {
  if (!match) {
    return {};
  }
  try {
    return parseConstraintMatch(match, field) as Record<string, unknown>;
  } catch (error) {
    if (isPolicyEngineError(error)) {
      throw PolicyErrors.fromEngine(error, field);
    }
    throw error;
  }
}

/** Constraints: a template version + validated parameters + match + enforcement action. */
@Injectable()
export class ConstraintService {
  constructor(
    private readonly constraints: ConstraintRepository,
    private readonly templates: PolicyTemplateRepository,
    private readonly transactions: TransactionRunner,
    private readonly events: EventRecorder,
    private readonly generations: GenerationRepository,
  ) {}

  async list(principal: Principal, args: ConstraintsArgs): Promise<Connection<Constraint>> {
    const sort = args.orderBy?.field ?? ConstraintSortField.NAME;
    const request = toPageRequest(args, sort);
    const { rows, total } = await this.constraints.page(
      { organizationId: principal.organizationId, kind: args.filter?.kind, enforcementAction: args.filter?.enforcementAction },
      sort,
      args.orderBy?.direction ?? SortDirection.ASC,
      request,
    );
    return toConnection(rows, request, total, sort, (row) => row[SORT_KEY[sort]]);
  }

  async get(principal: Principal, id: string): Promise<Constraint> {
    const constraint = await this.constraints.find(principal.organizationId, id);
    if (!constraint) {
      throw FarpointError.notFound('Constraint', id);
    }
    return constraint;
  }

  templateVersion(principal: Principal, constraint: Constraint): Promise<VersionWithTemplate | null> {
    return this.templates.findVersion(principal.organizationId, constraint.templateVersionId);
  }

  async create(principal: Principal, input: CreateConstraintInput): Promise<Constraint> {
    assertName(input.name);
    const match = checkedMatch(input.match, 'input.match');
    return this.transactions.runOrConflict(async (tx) => {
      const version = await this.usableVersion(tx, principal, input.templateVersionId, 'input.templateVersionId');
      const parameters = input.parameters ?? {};
      assertParameters(version.parametersSchema as Record<string, unknown> | null, parameters, 'input.parameters');
      return this.createIn(tx, principal, { name: input.name, version, parameters, match, enforcementAction: input.enforcementAction ?? 'DENY' });
    }, `A constraint named ${input.name} already exists in this organization.`);
  }

  async update(principal: Principal, id: string, input: UpdateConstraintInput): Promise<Constraint> {
    const match = input.match !== undefined ? checkedMatch(input.match ?? undefined, 'input.match') : undefined;
    return this.transactions.run(async (tx) => {
      const current = await this.constraints.findIn(tx, principal.organizationId, id);
      if (!current) {
        throw FarpointError.notFound('Constraint', id);
      }
      const version = input.templateVersionId
        ? await this.usableVersion(tx, principal, input.templateVersionId, 'input.templateVersionId')
        : await this.templates.findVersionIn(tx, principal.organizationId, current.templateVersionId);
      if (!version) {
        throw new Error(`constraint ${id} refers to version ${current.templateVersionId}, which is gone`);
      }
      if (version.kind !== current.kind) {
        throw FarpointError.badInput(
          `Version ${version.id} is of kind ${version.kind}; a ${current.kind} constraint can only move to another version of its own template.`,
          'input.templateVersionId',
        );
      }
      const parameters = input.parameters ?? (current.parameters as Record<string, unknown>);
      assertParameters(version.parametersSchema as Record<string, unknown> | null, parameters, 'input.parameters');
      return this.updateIn(
        tx,
        principal,
        current,
        { version, parameters, match: match ?? (current.match as Record<string, unknown>), enforcementAction: input.enforcementAction ?? current.enforcementAction },
        Object.keys(input).filter((k) => k !== 'urgent'),
        input.urgent ?? false,
      );
    });
  }

  async delete(principal: Principal, id: string, urgent = false): Promise<Constraint> {
    return this.transactions.run(async (tx) => {
      const constraint = await this.constraints.findIn(tx, principal.organizationId, id);
      if (!constraint) {
        throw FarpointError.notFound('Constraint', id);
      }
      // Before the delete: its assignments go with it (cascade), and with them the reach to bump.
      await this.generations.bumpForConstraints(tx, principal.organizationId, [constraint.id], { urgent });
      await this.constraints.delete(tx, id);
      await this.events.record(tx, {
        organizationId: principal.organizationId,
        objectKind: EventObjectKind.Constraint,
        objectId: id,
        type: EventType.ConstraintDeleted,
        message: `Constraint ${constraint.name} (${constraint.kind}) deleted`,
        actor: actorOf(principal),
      });
      return constraint;
    });
  }

  /**
   * A Gatekeeper Constraint as it is. Its kind names a template of the organization (else a built-in
   * recipe); the version is `templateVersionId` when given, else the template's newest PUBLISHED
   * version, else its newest DRAFT. A constraint of that name already there is updated.
   */
  async importConstraint(principal: Principal, yaml: string, templateVersionId?: string): Promise<ImportConstraintPayload> {
    let parsed;
    try {
      parsed = parseConstraint(yaml);
    } catch (error) {
      if (isPolicyEngineError(error)) {
        throw PolicyErrors.fromEngine(error, 'yaml');
      }
      throw error;
    }
    assertName(parsed.name, 'yaml');
    const match = checkedMatch(parsed.match as Record<string, unknown> | undefined, 'yaml');
    return this.transactions.runOrConflict(
      async (tx) => {
        let version: VersionWithTemplate;
        if (templateVersionId) {
          version = await this.usableVersion(tx, principal, templateVersionId, 'templateVersionId');
          if (version.kind !== parsed.kind) {
            throw FarpointError.badInput(`The constraint is of kind ${parsed.kind}, but version ${templateVersionId} is of kind ${version.kind}.`, 'templateVersionId');
          }
        } else {
          const template = await this.templates.findByKindIn(tx, principal.organizationId, parsed.kind);
          if (!template) {
            throw PolicyErrors.unknownKind(parsed.kind);
          }
          const chosen = await this.templates.defaultVersionIn(tx, template.id);
          if (!chosen) {
            throw PolicyErrors.noUsableVersion(parsed.kind);
          }
          version = { ...chosen, template };
        }
        assertParameters(version.parametersSchema as Record<string, unknown> | null, parsed.parameters, 'yaml');
        const fields = { version, parameters: parsed.parameters, match, enforcementAction: ACTION[parsed.enforcementAction] };
        const existing = await this.constraints.findByNameIn(tx, principal.organizationId, parsed.name);
        if (!existing) {
          return { constraint: await this.createIn(tx, principal, { name: parsed.name, ...fields }), created: true };
        }
        if (existing.kind !== parsed.kind) {
          throw FarpointError.conflict(`A constraint named ${parsed.name} of kind ${existing.kind} exists; names are unique in the organization.`, 'yaml');
        }
        return { constraint: await this.updateIn(tx, principal, existing, fields, ['templateVersionId', 'parameters', 'match', 'enforcementAction']), created: false };
      },
      `A constraint named ${parsed.name} was created at the same time; import again.`,
      'yaml',
    );
  }

  /** The constraint as Gatekeeper YAML (constraints.gatekeeper.sh/v1beta1); importing it again changes nothing. */
  async exportConstraint(principal: Principal, id: string): Promise<string> {
    const c = await this.get(principal, id);
    const parameters = c.parameters as Record<string, unknown>;
    const match = c.match as Record<string, unknown>;
    const spec = {
      enforcementAction: c.enforcementAction.toLowerCase(),
      ...(Object.keys(match).length ? { match } : {}),
      ...(Object.keys(parameters).length ? { parameters } : {}),
    };
    return dump({ apiVersion: 'constraints.gatekeeper.sh/v1beta1', kind: c.kind, metadata: { name: c.name }, spec }, { lineWidth: -1, noRefs: true });
  }

  private async usableVersion(tx: Tx, principal: Principal, id: string, field: string): Promise<VersionWithTemplate> {
    const version = await this.templates.findVersionIn(tx, principal.organizationId, id);
    if (!version) {
      throw new FarpointError('NOT_FOUND', `PolicyTemplateVersion ${id} does not exist or you cannot see it.`, { kind: 'PolicyTemplateVersion', id, field });
    }
    if (version.lifecycle === 'DEPRECATED') {
      throw PolicyErrors.deprecated(version.version, field);
    }
    return version;
  }

  private async createIn(
    tx: Tx,
    principal: Principal,
    f: { name: string; version: VersionWithTemplate; parameters: Record<string, unknown>; match: Record<string, unknown>; enforcementAction: EnforcementAction },
  ): Promise<Constraint> {
    const constraint = await this.constraints.create(tx, {
      organizationId: principal.organizationId,
      name: f.name,
      kind: f.version.kind,
      templateVersionId: f.version.id,
      parameters: f.parameters as object,
      match: f.match as object,
      enforcementAction: f.enforcementAction,
      createdBy: actorOf(principal),
    });
    await this.events.record(tx, {
      organizationId: principal.organizationId,
      objectKind: EventObjectKind.Constraint,
      objectId: constraint.id,
      type: EventType.ConstraintCreated,
      message: `Constraint ${f.name} (${f.version.kind}, ${f.enforcementAction}) created`,
      actor: actorOf(principal),
      data: { templateVersionId: f.version.id, version: f.version.version },
    });
    return constraint;
  }

  private async updateIn(
    tx: Tx,
    principal: Principal,
    current: Constraint,
    f: { version: VersionWithTemplate; parameters: Record<string, unknown>; match: Record<string, unknown>; enforcementAction: EnforcementAction },
    changed: string[],
    urgent = false,
  ): Promise<Constraint> {
    const constraint = await this.constraints.update(tx, current.id, {
      templateVersionId: f.version.id,
      parameters: f.parameters as object,
      match: f.match as object,
      enforcementAction: f.enforcementAction,
    });
    // Parameters, match, action or version: every cluster its assignments reach enforces something else now.
    await this.generations.bumpForConstraints(tx, principal.organizationId, [current.id], { urgent });
    await this.events.record(tx, {
      organizationId: principal.organizationId,
      objectKind: EventObjectKind.Constraint,
      objectId: current.id,
      type: EventType.ConstraintUpdated,
      message: `Constraint ${current.name} updated`,
      actor: actorOf(principal),
      data: { changed, templateVersionId: f.version.id, enforcementAction: f.enforcementAction },
    });
    return constraint;
  }
}
