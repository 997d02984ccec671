import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS } from '../../common/errors/farpoint-error';
import { isDatabaseUnavailable } from '../../infra/database/prisma-errors';
import { AgentErrorCode, AgentProtocolError, AgentProtocolLimits } from '../../protocol';
import { AgentGatewayErrors as E } from './agent-gateway.errors';

export interface MappedAgentError {
  error: AgentProtocolError;
  /** Not a refusal the protocol defines: log it (INTERNAL_ERROR goes to the agent). */
  unexpected: boolean;
  /** The database could not take the request (SERVICE_UNAVAILABLE goes to the agent): worth a warning. */
  unavailable?: boolean;
}

/** HTTP status (Fastify's statusCode or a Nest HttpException's) and code of a framework error, if any. */
function frameworkStatus(error: unknown): { status?: number; code?: string } {
  if (error instanceof HttpException) {
    return { status: error.getStatus() };
  }
  if (error && typeof error === 'object') {
    const { statusCode, code } = error as { statusCode?: unknown; code?: unknown };
    return { status: typeof statusCode === 'number' ? statusCode : undefined, code: typeof code === 'string' ? code : undefined };
  }
  return {};
}

/**
 * Maps anything thrown while serving an agent request to the protocol's error body. Protocol errors
 * pass through; what the HTTP layer refuses before our code runs (body too large, not JSON, wrong
 * content type) gets the matching protocol code; everything else is INTERNAL_ERROR with a generic
 * message, and the caller logs it.
 */
export function toAgentProtocolError(error: unknown, maxBodyBytes: number = AgentProtocolLimits.maxBodyBytes): MappedAgentError {
  if (error instanceof AgentProtocolError) {
    return { error, unexpected: false };
  }
  if (isDatabaseUnavailable(error)) {
    return { error: E.serviceUnavailable(), unexpected: false, unavailable: true };
  }
  const { status, code } = frameworkStatus(error);
  if (status === 413 || code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    const max = maxBodyBytes;
    const advice = max === AgentProtocolLimits.maxBodyBytes ? ' Send fewer report items per batch.' : '';
    return {
      error: new AgentProtocolError(AgentErrorCode.PAYLOAD_TOO_LARGE, `The request body is larger than the limit of ${max} bytes for this endpoint.${advice}`, { maxBytes: max }),
      unexpected: false,
    };
  }
  if (status === 415 || code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return {
      error: new AgentProtocolError(AgentErrorCode.PROTOCOL_INVALID_BODY, 'The request body must be JSON sent with "Content-Type: application/json".', {
        issues: [{ path: '(root)', message: 'unsupported media type' }],
      }),
      unexpected: false,
    };
  }
  if (status === 400) {
    // Fastify's JSON parser (SyntaxError, empty body) and Nest's body parser guard (prototype poisoning).
    return {
      error: new AgentProtocolError(AgentErrorCode.PROTOCOL_INVALID_BODY, 'The request body is not valid JSON.', { issues: [{ path: '(root)', message: 'not valid JSON' }] }),
      unexpected: false,
    };
  }
  return { error: E.internal(), unexpected: true };
}

/** Writes a protocol error as `{ error: { code, message } }` with its HTTP status (and Retry-After when unavailable). */
export function sendAgentError(reply: FastifyReply, error: AgentProtocolError): FastifyReply {
  if (error.code === AgentErrorCode.SERVICE_UNAVAILABLE) {
    reply.header('retry-after', String(SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS));
  }
  return reply.status(error.httpStatus).header('content-type', 'application/json; charset=utf-8').header('cache-control', 'no-store').send(error.toBody());
}

/**
 * Every response of the agent gateway that is not a success has the protocol's error body; agents
 * branch on its code. Unexpected failures are logged here (never the body or headers: they carry
 * secrets) and reach the agent as INTERNAL_ERROR, which it retries with back-off.
 */
@Catch()
export class AgentProtocolExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('AgentGateway');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const { error, unexpected, unavailable } = toAgentProtocolError(exception);
    if (unavailable) {
      this.logger.warn(`${request.method} ${request.routeOptions?.url ?? '(unrouted)'} answered SERVICE_UNAVAILABLE: ${(exception as Error).message}`);
    }
    if (unexpected) {
      const route = `${request.method} ${request.routeOptions?.url ?? '(unrouted)'}`;
      this.logger.error(`${route} failed: ${exception instanceof Error ? exception.message : String(exception)}`, exception instanceof Error ? exception.stack : undefined);
    }
    void sendAgentError(reply, error);
  }
}
