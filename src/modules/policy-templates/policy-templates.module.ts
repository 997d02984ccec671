import { GenerationsModule } from '../desired-state/generations.module';
import { Module } from '@nestjs/common';
import { join } from 'node:path';
import { APP_CONFIG, AppConfig } from '../../infra/config/app-config';
import { OpaCliGateway } from '../../infra/opa/opa-cli.gateway';
import { PolicyCompileJob } from './policy-compile.job';
import { PolicyCompiler } from './policy-compiler';
import { PolicyEvaluationService } from './policy-evaluation.service';
import { PolicyRecipeSync } from './policy-recipes.sync';
import { PolicyTemplateRepository } from './policy-template.repository';
import { PolicyTemplateResolver, PolicyTemplateVersionResolver } from './policy-template.resolver';
import { PolicyTemplateService } from './policy-template.service';

/** The opa binary: OPA_PATH, else opa in FARPOINT_TOOLS_BIN, else opa on PATH. */
export const opaPathOf = (config: Pick<AppConfig, 'OPA_PATH' | 'FARPOINT_TOOLS_BIN'>): string =>
  config.OPA_PATH ?? (config.FARPOINT_TOOLS_BIN ? join(config.FARPOINT_TOOLS_BIN, 'opa') : 'opa');

@Module({
  imports: [GenerationsModule],
  providers: [
    { provide: OpaCliGateway, useFactory: (config: AppConfig) => new OpaCliGateway({ opaPath: opaPathOf(config) }), inject: [APP_CONFIG] },
    { provide: PolicyCompiler, useFactory: (opa: OpaCliGateway) => new PolicyCompiler(opa), inject: [OpaCliGateway] },
    PolicyTemplateRepository,
    PolicyTemplateService,
    PolicyEvaluationService,
    PolicyTemplateResolver,
    PolicyTemplateVersionResolver,
    PolicyCompileJob,
    PolicyRecipeSync,
  ],
  exports: [PolicyTemplateRepository, PolicyTemplateService, PolicyRecipeSync],
})
export class PolicyTemplatesModule {}
