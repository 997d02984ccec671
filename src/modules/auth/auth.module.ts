import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiTokenPurgeJob } from './api-token-purge.job';
import { ApiTokenRepository } from './api-token.repository';
import { ApiTokenResolver } from './api-token.resolver';
import { AuthService } from './auth.service';
import { GraphqlAuthGuard } from './graphql-auth.guard';

@Module({
  providers: [ApiTokenRepository, AuthService, ApiTokenResolver, ApiTokenPurgeJob, { provide: APP_GUARD, useClass: GraphqlAuthGuard }],
  exports: [AuthService, ApiTokenRepository],
})
export class AuthModule {}
