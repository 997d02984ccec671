import { Inject, Injectable, Logger } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { APP_CONFIG, AppConfig } from '../../infra/config/app-config';
import { Prisma } from '../../generated/prisma/client';
import { TransactionRunner } from '../../infra/database/transaction';
import { parseConstraintTemplate } from '../../policy-engine';
import { sourceHash, versionSourceOf } from './constraint-template.yaml';
import { TEST_FILE_NAME } from './policy-compiler';
import { PolicyTemplateRepository } from './policy-template.repository';
import { PolicyTemplateService } from './policy-template.service';

const ACTOR = 'system:recipes';

/** policies/ of the checkout or image this code runs from: the nearest ancestor that has one. */
export function defaultRecipesDir(from = __dirname): string | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'policies')) && existsSync(join(dir, 'package.json'))) {
      return join(dir, 'policies');
    }
    if (dirname(dir) === dir) {
      return undefined;
    }
  }
}

export interface RecipeSyncReport {
  /** Recipe names whose source changed (or are new): a version was added and queued. */
  added: string[];
  unchanged: string[];
  /** Recipes that could not be read, with why; the others are synced regardless. */
  refused: { recipe: string; reason: string }[];
}

/**
 * Makes the built-in recipes (policies/<recipe>/template.yaml with its *_test.rego) PolicyTemplates
 * without an organization, which every organization reads and none can change. The worker runs this
 * at start-up rather than a migration carrying the recipes: they are code that changes with each
 * release, and a sync that adds a version only when a recipe's source changed (by hash) is
 * idempotent, so replicas starting together (serialised by an advisory lock) add each version once.
 * Versions compile like any other and are PUBLISHED as soon as they compile with passing tests.
 */
@Injectable()
export class PolicyRecipeSync {
  private readonly logger = new Logger(PolicyRecipeSync.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly templates: PolicyTemplateRepository,
    private readonly service: PolicyTemplateService,
    private readonly transactions: TransactionRunner,
  ) {}

  /** Syncs the recipes and re-queues every version whose compile job may have been lost. */
  async atStartup(): Promise<RecipeSyncReport> {
    const report = await this.sync();
    for (const { id } of await this.templates.unfinishedVersionIds()) {
      await this.service.enqueueCompile(id);
    }
    this.logger.log(`recipes: ${report.added.length} added, ${report.unchanged.length} unchanged, ${report.refused.length} refused`);
    return report;
  }

  async sync(dir = this.config.POLICY_RECIPES_DIR ?? defaultRecipesDir()): Promise<RecipeSyncReport> {
    const report: RecipeSyncReport = { added: [], unchanged: [], refused: [] };
    if (!dir || !existsSync(dir)) {
      this.logger.warn(`no recipes directory (${dir ?? 'policies/ not found'}); built-in recipes are not synced`);
      return report;
    }
    const queued: string[] = [];
    for (const entry of (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
      const recipeDir = join(dir, entry.name);
      const file = join(recipeDir, 'template.yaml');
      if (!existsSync(file)) {
        continue;
      }
      try {
        const parsed = parseConstraintTemplate(await readFile(file, 'utf8'));
        const tests = await Promise.all(
          (await readdir(recipeDir))
            .filter((name) => TEST_FILE_NAME.test(name))
            .sort()
            .map(async (name) => ({ name, source: await readFile(join(recipeDir, name), 'utf8') })),
        );
        const source = this.service.checkedSource(versionSourceOf(parsed, tests).source, 'yaml');
        const hash = sourceHash(source);
        const versionId = await this.transactions.run(async (tx) => {
          await this.templates.lockRecipeSync(tx);
          const template =
            (await this.templates.findByName(tx, null, parsed.name)) ??
            (await this.templates.create(tx, { organizationId: null, name: parsed.name, kind: parsed.kind, createdBy: ACTOR }));
          const latest = await this.templates.latestVersionIn(tx, template.id);
          if (latest?.sourceHash === hash) {
            return null;
          }
          const version = await this.templates.createVersion(tx, {
            templateId: template.id,
            version: (latest?.version ?? 0) + 1,
            ...source,
            parametersSchema: (source.parametersSchema ?? undefined) as Prisma.InputJsonValue | undefined,
            syncKinds: (source.syncKinds ?? []) as unknown as Prisma.InputJsonValue,
            sourceHash: hash,
            createdBy: ACTOR,
          });
          await this.templates.touch(tx, template.id);
          return version.id;
        });
        if (versionId) {
          queued.push(versionId);
          report.added.push(parsed.name);
        } else {
          report.unchanged.push(parsed.name);
        }
      } catch (error) {
        this.logger.error(`recipe ${entry.name} is not synced: ${(error as Error).message}`);
        report.refused.push({ recipe: entry.name, reason: (error as Error).message });
      }
    }
    for (const id of queued) {
      await this.service.enqueueCompile(id);
    }
    return report;
  }
}
