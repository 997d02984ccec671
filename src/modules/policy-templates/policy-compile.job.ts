import { Injectable, Logger } from '@nestjs/common';
import { Job } from 'bullmq';
import { PolicyTemplateVersion } from '../../generated/prisma/client';
import { TransactionRunner } from '../../infra/database/transaction';
import { JobName, JobPayloads } from '../../infra/queue/jobs';
import { OnJob } from '../../infra/queue/on-job.decorator';
import { PubSubGateway } from '../../infra/redis/pubsub.gateway';
import { EventRecorder } from '../events/event.recorder';
import { CompileOutcome, PolicyCompiler, testsPass } from './policy-compiler';
import { PolicyDiagnostic, PolicyTemplateVersionCompiledModel } from './policy-template.model';
import { PolicyTemplateRepository, VersionWithTemplate } from './policy-template.repository';
import { EventObjectKind } from '../events/event-types';

export const policyCompiledChannel = (templateId: string) => `policy-compiled:${templateId}`;

const DONE = new Set(['COMPILED', 'FAILED']);

/**
 * Worker side of compiling a version. Every step can be repeated: opa runs on the stored source, the
 * bundle is stored by its hash (a second store is a no-op), and the version moves to COMPILED or
 * FAILED with a compare-and-set, so a job retried after its worker died finishes exactly once: one
 * status change, one Event, one bundle row.
 */
@Injectable()
export class PolicyCompileJob {
  private readonly logger = new Logger(PolicyCompileJob.name);

  constructor(
    private readonly templates: PolicyTemplateRepository,
    private readonly compiler: PolicyCompiler,
    private readonly transactions: TransactionRunner,
    private readonly events: EventRecorder,
    private readonly pubsub: PubSubGateway,
  ) {}

  @OnJob(JobName.COMPILE_POLICY_VERSION)
  async run(payload: JobPayloads[typeof JobName.COMPILE_POLICY_VERSION], job: Job): Promise<{ status: string }> {
    const version = await this.templates.findVersionById(payload.versionId);
    if (!version || DONE.has(version.compileStatus)) {
      return { status: version?.compileStatus ?? 'GONE' };
    }
    // attemptsStarted also counts runs whose worker died mid-job (a stalled job restarts without attemptsMade moving).
    const attempt = Math.max(job.attemptsStarted ?? 0, job.attemptsMade + 1);
    await this.templates.updateVersionIfStatus(undefined, version.id, ['QUEUED', 'COMPILING'], { compileStatus: 'COMPILING', compileAttempts: attempt });
    let outcome: CompileOutcome;
    try {
      outcome = await this.compiler.compile({
        rego: version.rego,
        libs: version.libs as string[],
        tests: version.tests as { name: string; source: string }[],
        regoVersion: version.regoVersion,
      });
    } catch (error) {
      // opa itself failed (not the Rego): retried; the last attempt fails the version with the reason.
      const attempts = job.opts.attempts ?? 1;
      this.logger.warn(`compile of ${version.id} attempt ${job.attemptsMade + 1}/${attempts} failed: ${(error as Error).message}`);
      if (job.attemptsMade + 1 < attempts) {
        throw error;
      }
      outcome = {
        status: 'FAILED',
        diagnostics: [
          { file: 'template.rego', line: null, column: null, code: 'compiler_unavailable', message: `opa could not compile this version: ${(error as Error).message}` },
        ],
        testResults: [],
      };
    }
    const finished = await this.finish(version, outcome);
    return { status: finished ? outcome.status : 'ALREADY_FINISHED' };
  }

  private async finish(version: VersionWithTemplate, outcome: CompileOutcome): Promise<boolean> {
    const organizationId = version.template.organizationId;
    const builtIn = organizationId === null;
    const now = new Date();
    const changed = await this.transactions.run(async (tx) => {
      let moved: boolean;
      if (outcome.status === 'COMPILED') {
        await this.templates.storeBundle(tx, outcome.sha256, outcome.wasm);
        // Built-in recipes are published by Farpoint as soon as they compile with passing tests.
        const publish = builtIn && testsPass(outcome.testResults);
        moved = await this.templates.updateVersionIfStatus(tx, version.id, ['QUEUED', 'COMPILING'], {
          compileStatus: 'COMPILED',
          diagnostics: [],
          testResults: outcome.testResults as object[],
          entrypoint: outcome.entrypoint,
          bundleSha256: outcome.sha256,
          bundleSize: outcome.wasm.byteLength,
          compiledAt: now,
          ...(publish ? { lifecycle: 'PUBLISHED', publishedAt: now } : {}),
        });
      } else {
        moved = await this.templates.updateVersionIfStatus(tx, version.id, ['QUEUED', 'COMPILING'], {
          compileStatus: 'FAILED',
          diagnostics: outcome.diagnostics as object[],
          testResults: outcome.testResults as object[],
          compiledAt: now,
        });
      }
      if (moved && organizationId) {
        const failed = outcome.status === 'FAILED';
        const first = failed ? outcome.diagnostics[0] : undefined;
        await this.events.record(tx, {
          organizationId,
          objectKind: EventObjectKind.PolicyTemplateVersion,
          objectId: version.id,
          type: failed ? 'PolicyTemplateVersionCompileFailed' : 'PolicyTemplateVersionCompiled',
          severity: failed ? 'WARNING' : 'INFO',
          message: failed
            ? `${version.template.name} version ${version.version} does not compile: ${describe(first)}`
            : `${version.template.name} version ${version.version} compiled`,
          actor: 'system:policy-compiler',
          data: failed
            ? { code: 'POLICY_COMPILE_FAILED', diagnostics: outcome.diagnostics as object[] }
            : { bundleSha256: outcome.sha256, bundleSize: outcome.wasm.byteLength, testsPassed: testsPass(outcome.testResults) },
        });
      }
      return moved;
    });
    if (changed) {
      await this.announce(version, outcome, now);
    }
    return changed;
  }

  /** Streams the result to policyTemplateVersionCompiled subscribers; a Redis hiccup loses the notification, never the result. */
  private async announce(version: PolicyTemplateVersion, outcome: CompileOutcome, at: Date): Promise<void> {
    const message: PolicyTemplateVersionCompiledModel = {
      templateId: version.templateId,
      versionId: version.id,
      version: version.version,
      compileStatus: outcome.status,
      diagnostics: outcome.status === 'FAILED' ? outcome.diagnostics : [],
      testsPassed: outcome.status === 'COMPILED' ? testsPass(outcome.testResults) : null,
      bundleSha256: outcome.status === 'COMPILED' ? outcome.sha256 : null,
      occurredAt: at.toISOString(),
    };
    await this.pubsub
      .publish(policyCompiledChannel(version.templateId), message)
      .catch((error: Error) => this.logger.warn(`could not announce compile of ${version.id}: ${error.message}`));
  }
}

function describe(d: PolicyDiagnostic | undefined): string {
  if (!d) {
    return 'opa refused it';
  }
  return `${d.file}${d.line ? `:${d.line}` : ''}${d.column ? `:${d.column}` : ''}: ${d.message}`;
}
