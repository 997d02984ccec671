import { GenerationRepository } from '../desired-state/generation.repository';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { FarpointError } from '../../common/errors/farpoint-error';
import { Connection, SortDirection, toConnection, toPageRequest } from '../../common/graphql/pagination';
import { actorOf, Principal } from '../../common/graphql/request-context';
import { assertName, assertText } from '../../common/validation/names';
import { APP_CONFIG, AppConfig } from '../../infra/config/app-config';
import { PolicyTemplate, PolicyTemplateVersion, Prisma } from '../../generated/prisma/client';
import { TransactionRunner, Tx } from '../../infra/database/transaction';
import { JobName } from '../../infra/queue/jobs';
import { QueueGateway } from '../../infra/queue/queue.gateway';
import { isPolicyEngineError, parseConstraintTemplate, parseSyncRequirements, type SyncKind } from '../../policy-engine';
import { EventRecorder } from '../events/event.recorder';
import { exportConstraintTemplate, sourceHash, VersionSource, versionSourceOf } from './constraint-template.yaml';
import { assertParametersSchema } from './parameters-schema';
import { TEST_FILE_NAME, testsPass } from './policy-compiler';
import {
  CreatePolicyTemplateInput,
  CreatePolicyTemplateVersionInput,
  ImportConstraintTemplatePayload,
  PolicyTemplateSortField,
  PolicyTemplatesArgs,
  RegoTestInput,
} from './policy-template.model';
import { PolicyTemplateRepository, VersionWithTemplate } from './policy-template.repository';
import { PolicyErrors } from './policy.errors';
import { EventObjectKind, EventType } from '../events/event-types';

const SORT_KEY: Record<PolicyTemplateSortField, keyof PolicyTemplate> = { NAME: 'name', CREATED_AT: 'createdAt', UPDATED_AT: 'updatedAt' };
const KIND = /^[A-Z][A-Za-z0-9]{0,62}$/;

/** The kinds a version reads from data.inventory, checked as the template annotation is (names, at most 16). */
function syncKindsOf(kinds: SyncKind[]): SyncKind[] {
  try {
    return parseSyncRequirements(JSON.stringify(kinds.map((k) => [{ groups: [k.group], versions: [k.version], kinds: [k.kind] }])));
  } catch (error) {
    if (isPolicyEngineError(error)) {
      throw FarpointError.badInput(error.message.replace(/^ConstraintTemplate: metadata.annotations\["[^"]+"\]/, 'syncKinds'), 'input.syncKinds');
    }
    throw error;
  }
}

/** Templates and their immutable versions: create, import, export, publish, deprecate. */
@Injectable()
export class PolicyTemplateService {
  private readonly logger = new Logger(PolicyTemplateService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly templates: PolicyTemplateRepository,
    private readonly transactions: TransactionRunner,
    private readonly events: EventRecorder,
    private readonly queue: QueueGateway,
    private readonly generations: GenerationRepository,
  ) {}

  async list(principal: Principal, args: PolicyTemplatesArgs): Promise<Connection<PolicyTemplate>> {
    const sort = args.orderBy?.field ?? PolicyTemplateSortField.NAME;
    const request = toPageRequest(args, sort);
    const { rows, total } = await this.templates.page(
      { organizationId: principal.organizationId, builtIn: args.filter?.builtIn, kind: args.filter?.kind },
      sort,
      args.orderBy?.direction ?? SortDirection.ASC,
      request,
    );
    return toConnection(rows, request, total, sort, (row) => row[SORT_KEY[sort]]);
  }

  async get(principal: Principal, id: string): Promise<PolicyTemplate> {
    const template = await this.templates.find(principal.organizationId, id);
    if (!template) {
      throw FarpointError.notFound('PolicyTemplate', id);
    }
    return template;
  }

  async getVersion(principal: Principal, id: string, field = 'id'): Promise<VersionWithTemplate> {
    const version = await this.templates.findVersion(principal.organizationId, id);
    if (!version) {
      throw new FarpointError('NOT_FOUND', `PolicyTemplateVersion ${id} does not exist or you cannot see it.`, { kind: 'PolicyTemplateVersion', id, field });
    }
    return version;
  }

  async create(principal: Principal, input: CreatePolicyTemplateInput): Promise<PolicyTemplate> {
    if (!KIND.test(input.kind)) {
      throw FarpointError.badInput(`"${input.kind}" is not a valid kind: an uppercase letter, then letters and digits (at most 63), like K8sRequiredLabels.`, 'kind');
    }
    const name = input.kind.toLowerCase();
    return this.transactions.runOrConflict((tx) => this.createIn(tx, principal, name, input.kind), `A template named ${name} already exists in this organization.`, 'kind');
  }

  async createVersion(principal: Principal, templateId: string, input: CreatePolicyTemplateVersionInput): Promise<PolicyTemplateVersion> {
    const source = this.checkedSource(
      {
        kind: '',
        title: input.title,
        description: input.description ?? null,
        category: input.category ?? null,
        severity: input.severity ?? 'MEDIUM',
        rego: input.rego,
        libs: input.libs ?? [],
        parametersSchema: input.parametersSchema ?? null,
        tests: (input.tests ?? []).map((t) => ({ name: t.name, source: t.source })),
        regoVersion: input.regoVersion ?? 'V0',
        ...(input.syncKinds?.length ? { syncKinds: syncKindsOf(input.syncKinds) } : {}),
      },
      'input',
    );
    const version = await this.transactions.run(async (tx) => {
      const template = await this.templates.findIn(tx, principal.organizationId, templateId);
      if (!template) {
        throw FarpointError.notFound('PolicyTemplate', templateId);
      }
      if (template.organizationId === null) {
        throw PolicyErrors.builtInReadOnly(template.name);
      }
      return this.addVersion(tx, principal, template, { ...source, kind: template.kind });
    });
    await this.enqueueCompile(version.id);
    return version;
  }

  /**
   * A Gatekeeper ConstraintTemplate, as it is: a new template, or a new version of the template of
   * that name (its newest version when the source is unchanged, so importing twice adds nothing).
   */
  async importConstraintTemplate(principal: Principal, yaml: string, tests: RegoTestInput[] = []): Promise<ImportConstraintTemplatePayload> {
    if (Buffer.byteLength(yaml) > this.config.POLICY_MAX_REGO_BYTES * 2) {
      throw PolicyErrors.regoTooLarge(Buffer.byteLength(yaml), this.config.POLICY_MAX_REGO_BYTES * 2, 'yaml');
    }
    let parsed;
    try {
      parsed = parseConstraintTemplate(yaml);
    } catch (error) {
      if (isPolicyEngineError(error)) {
        throw PolicyErrors.fromEngine(error, 'yaml');
      }
      throw error;
    }
    const { source: read, warnings } = versionSourceOf(
      parsed,
      tests.map((t) => ({ name: t.name, source: t.source })),
    );
    const source = this.checkedSource(read, 'yaml');
    const result = await this.transactions.runOrConflict(
      async (tx) => {
        let template = await this.templates.findByName(tx, principal.organizationId, parsed.name);
        const created = !template;
        template ??= await this.createIn(tx, principal, parsed.name, parsed.kind);
        await this.templates.lock(tx, template.id);
        const latest = await this.templates.latestVersionIn(tx, template.id);
        if (latest && latest.sourceHash === sourceHash(source)) {
          return { template, version: latest, created, warnings, fresh: false };
        }
        const version = await this.addVersion(tx, principal, template, source);
        return { template: await this.templates.touch(tx, template.id), version, created, warnings, fresh: true };
      },
      `A template named ${parsed.name} was created at the same time; import again.`,
      'yaml',
    );
    if (result.fresh) {
      await this.enqueueCompile(result.version.id);
    }
    return { template: result.template, version: result.version, created: result.created, warnings: result.warnings };
  }

  async exportConstraintTemplate(principal: Principal, versionId: string): Promise<string> {
    const version = await this.getVersion(principal, versionId, 'versionId');
    return exportConstraintTemplate(version.template, version);
  }

  /** DRAFT → PUBLISHED, only when COMPILED with every test passing; publishing a PUBLISHED version changes nothing. */
  async publish(principal: Principal, id: string): Promise<PolicyTemplateVersion> {
    return this.transactions.run(async (tx) => {
      const version = await this.ownVersionIn(tx, principal, id);
      if (version.lifecycle === 'PUBLISHED') {
        return version;
      }
      if (version.lifecycle === 'DEPRECATED') {
        throw PolicyErrors.alreadyDeprecated(version.version);
      }
      if (version.compileStatus !== 'COMPILED') {
        throw PolicyErrors.notCompiled(version.version, version.compileStatus);
      }
      const results = version.testResults as { name: string; outcome: string }[];
      if (!testsPass(results)) {
        throw PolicyErrors.testsFailing(
          version.version,
          results.filter((r) => r.outcome === 'FAIL' || r.outcome === 'ERROR').map((r) => r.name),
        );
      }
      const published = await this.templates.updateVersion(tx, id, { lifecycle: 'PUBLISHED', publishedAt: new Date() });
      await this.generations.bumpForTemplateVersion(tx, principal.organizationId, id);
      await this.events.record(tx, {
        organizationId: principal.organizationId,
        objectKind: EventObjectKind.PolicyTemplateVersion,
        objectId: id,
        type: EventType.PolicyTemplateVersionPublished,
        message: `${version.template.name} version ${version.version} published`,
        actor: actorOf(principal),
        data: { templateId: version.templateId, version: version.version, bundleSha256: version.bundleSha256 },
      });
      return published;
    });
  }

  /** DRAFT or PUBLISHED → DEPRECATED: constraints that use it keep it, no constraint may newly use it. */
  async deprecate(principal: Principal, id: string): Promise<PolicyTemplateVersion> {
    return this.transactions.run(async (tx) => {
      const version = await this.ownVersionIn(tx, principal, id);
      if (version.lifecycle === 'DEPRECATED') {
        return version;
      }
      const deprecated = await this.templates.updateVersion(tx, id, { lifecycle: 'DEPRECATED', deprecatedAt: new Date() });
      // What is assigned keeps being enforced (the bundle does not change); the bump makes agents re-fetch, so a rollout shows who has seen it.
      await this.generations.bumpForTemplateVersion(tx, principal.organizationId, id);
      await this.events.record(tx, {
        organizationId: principal.organizationId,
        objectKind: EventObjectKind.PolicyTemplateVersion,
        objectId: id,
        type: EventType.PolicyTemplateVersionDeprecated,
        message: `${version.template.name} version ${version.version} deprecated`,
        actor: actorOf(principal),
        data: { templateId: version.templateId, version: version.version, from: version.lifecycle },
      });
      return deprecated;
    });
  }

  versions(templateId: string): Promise<PolicyTemplateVersion[]> {
    return this.templates.versionsOf(templateId);
  }

  latestVersion(templateId: string, lifecycle?: PolicyTemplateVersion['lifecycle']): Promise<PolicyTemplateVersion | null> {
    return this.templates.latestVersion(templateId, lifecycle);
  }

  private async ownVersionIn(tx: Tx, principal: Principal, id: string): Promise<VersionWithTemplate> {
    const version = await this.templates.findVersionIn(tx, principal.organizationId, id);
    if (!version) {
      throw FarpointError.notFound('PolicyTemplateVersion', id);
    }
    if (version.template.organizationId === null) {
      throw PolicyErrors.builtInReadOnly(version.template.name);
    }
    return version;
  }

  private async createIn(tx: Tx, principal: Principal, name: string, kind: string): Promise<PolicyTemplate> {
    assertName(name, 'kind');
    if (await this.templates.findByName(tx, null, name)) {
      throw PolicyErrors.builtInName(name);
    }
    const template = await this.templates.create(tx, { organizationId: principal.organizationId, name, kind, createdBy: actorOf(principal) });
    await this.events.record(tx, {
      organizationId: principal.organizationId,
      objectKind: EventObjectKind.PolicyTemplate,
      objectId: template.id,
      type: EventType.PolicyTemplateCreated,
      message: `Policy template ${name} (kind ${kind}) created`,
      actor: actorOf(principal),
    });
    return template;
  }

  /** Numbers and writes a version (QUEUED) with its Event; the caller enqueues the compile after commit. */
  private async addVersion(tx: Tx, principal: Principal, template: PolicyTemplate, source: VersionSource): Promise<PolicyTemplateVersion> {
    await this.templates.lock(tx, template.id);
    const latest = await this.templates.latestVersionIn(tx, template.id);
    const number = (latest?.version ?? 0) + 1;
    const version = await this.templates.createVersion(tx, {
      templateId: template.id,
      version: number,
      ...source,
      parametersSchema: (source.parametersSchema ?? undefined) as Prisma.InputJsonValue | undefined,
      syncKinds: (source.syncKinds ?? []) as unknown as Prisma.InputJsonValue,
      sourceHash: sourceHash(source),
      createdBy: actorOf(principal),
    });
    await this.templates.touch(tx, template.id);
    await this.events.record(tx, {
      organizationId: principal.organizationId,
      objectKind: EventObjectKind.PolicyTemplateVersion,
      objectId: version.id,
      type: EventType.PolicyTemplateVersionCreated,
      message: `${template.name} version ${number} created; compiling`,
      actor: actorOf(principal),
      data: { templateId: template.id, version: number, sourceHash: version.sourceHash },
    });
    return version;
  }

  /** Size and shape checks of a version's source, before anything is written. */
  checkedSource(source: VersionSource, field: string): VersionSource {
    const f = (name: string) => (field === 'yaml' ? 'yaml' : `${field}.${name}`);
    assertText(source.title, f('title'), 256);
    assertText(source.description, f('description'), 4096);
    assertText(source.category, f('category'), 64);
    const bytes = [source.rego, ...source.libs, ...source.tests.map((t) => t.source)].reduce((n, s) => n + Buffer.byteLength(s), 0);
    if (bytes > this.config.POLICY_MAX_REGO_BYTES) {
      throw PolicyErrors.regoTooLarge(bytes, this.config.POLICY_MAX_REGO_BYTES, f('rego'));
    }
    if (source.rego.trim() === '') {
      throw FarpointError.badInput('The Rego is empty.', f('rego'));
    }
    if (source.libs.length > 32) {
      throw FarpointError.badInput('At most 32 libs.', f('libs'));
    }
    if (source.tests.length > 64) {
      throw FarpointError.badInput('At most 64 test files.', f('tests'));
    }
    const names = new Set<string>();
    for (const t of source.tests) {
      if (!TEST_FILE_NAME.test(t.name)) {
        throw FarpointError.badInput(`Test file name "${t.name}" must end in _test.rego (letters, digits, '_', '-', '.').`, f('tests'));
      }
      if (names.has(t.name)) {
        throw FarpointError.badInput(`Test file ${t.name} is given twice.`, f('tests'));
      }
      names.add(t.name);
    }
    assertParametersSchema(source.parametersSchema, f('parametersSchema'));
    return source;
  }

  /** After commit: a lost enqueue is not lost for good, the worker re-queues unfinished versions at start-up. */
  async enqueueCompile(versionId: string): Promise<void> {
    try {
      await this.queue.enqueue(
        JobName.COMPILE_POLICY_VERSION,
        { versionId },
        { jobId: versionId, attempts: this.config.POLICY_COMPILE_MAX_ATTEMPTS, backoff: { type: 'exponential', delay: 1000 } },
      );
    } catch (error) {
      this.logger.warn(`compile of version ${versionId} could not be queued (${(error as Error).message}); the worker queues it at its next start`);
    }
  }
}
