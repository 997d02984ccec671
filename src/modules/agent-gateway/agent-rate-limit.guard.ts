import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AgentCredential } from '../../generated/prisma/client';
import { APP_CONFIG, AppConfig } from '../../infra/config/app-config';
import { RateLimitGateway } from '../../infra/redis/rate-limit.gateway';
import { AgentErrorCode, AgentProtocolError } from '../../protocol';

/**
 * Bounds how often one cluster (credentialed endpoints, after AgentCredentialGuard) or one client
 * address (manifests, register) may call, so a looping or hostile agent cannot load the API.
 * Refusals are RATE_LIMITED (429) with Retry-After, which the agent honours with back-off.
 */
@Injectable()
export class AgentRateLimitGuard implements CanActivate {
  constructor(
    private readonly limiter: RateLimitGateway,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest & { agentCredential?: AgentCredential }>();
    const credential = request.agentCredential;
    const [bucket, limit] = credential
      ? [`agent-cluster:${credential.clusterId}`, this.config.AGENT_RATE_LIMIT_PER_MINUTE]
      : [`agent-address:${request.ip}`, this.config.AGENT_ANONYMOUS_RATE_LIMIT_PER_MINUTE];
    const decision = await this.limiter.hit(bucket, limit, 60);
    if (decision.allowed) return true;
    http.getResponse<FastifyReply>().header('retry-after', String(decision.retryAfterSeconds));
    throw new AgentProtocolError(AgentErrorCode.RATE_LIMITED, `Too many requests: at most ${limit} a minute are accepted from ${credential ? 'one cluster' : 'one address'}. Retry after ${decision.retryAfterSeconds} s.`);
  }
}
