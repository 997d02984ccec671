import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AgentCredential } from '../../generated/prisma/client';
import { APP_CONFIG, AppConfig } from '../../infra/config/app-config';
import { RateLimitGateway } from '../../infra/redis/rate-limit.gateway';
import { AgentErrorCode, AgentProtocolError } from '../../protocol';

/**
 * Bounds how often one cluster may call the credentialed endpoints (after AgentCredentialGuard), so a
 * looping or hostile agent cannot load the API. Per-address limits run earlier, before the body is
 * read (agentAddressLimit). Refusals are RATE_LIMITED (429) with Retry-After, which the agent honours
 * with back-off.
 */
@Injectable()
export class AgentRateLimitGuard implements CanActivate {
  constructor(
    private readonly limiter: RateLimitGateway,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const credential = http.getRequest<FastifyRequest & { agentCredential?: AgentCredential }>().agentCredential;
    if (!credential) {
      throw new Error('AgentRateLimitGuard used on a route without AgentCredentialGuard before it');
    }
    const limit = this.config.AGENT_RATE_LIMIT_PER_MINUTE;
    const decision = await this.limiter.hit(`agent-cluster:${credential.clusterId}`, limit, 60);
    if (decision.allowed) {
      return true;
    }
    http.getResponse<FastifyReply>().header('retry-after', String(decision.retryAfterSeconds));
    throw new AgentProtocolError(
      AgentErrorCode.RATE_LIMITED,
      `Too many requests: at most ${limit} a minute are accepted from one cluster. Retry after ${decision.retryAfterSeconds} s.`,
    );
  }
}
