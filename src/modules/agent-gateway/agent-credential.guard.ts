import { CanActivate, createParamDecorator, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AgentCredential } from '../../generated/prisma/client';
import { AgentCredentialService } from './agent-credential.service';

type AgentRequest = FastifyRequest & { agentCredential?: AgentCredential };

/**
 * Agent endpoints behind a credential: authenticates `Authorization: Bearer fpc_…` before the body
 * is looked at, and hands the credential row to the handler (@CurrentAgentCredential()).
 */
@Injectable()
export class AgentCredentialGuard implements CanActivate {
  constructor(private readonly credentials: AgentCredentialService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AgentRequest>();
    request.agentCredential = await this.credentials.authenticate(request.headers.authorization);
    return true;
  }
}

/** POST /credentials/renew only: like AgentCredentialGuard, but the credential must have expired. */
@Injectable()
export class ExpiredAgentCredentialGuard implements CanActivate {
  constructor(private readonly credentials: AgentCredentialService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AgentRequest>();
    request.agentCredential = await this.credentials.authenticateExpired(request.headers.authorization);
    return true;
  }
}

export const CurrentAgentCredential = createParamDecorator((_: unknown, context: ExecutionContext): AgentCredential => {
  const credential = context.switchToHttp().getRequest<AgentRequest>().agentCredential;
  if (!credential) {
    throw new Error('CurrentAgentCredential used on a route without AgentCredentialGuard');
  }
  return credential;
});
