import type { RouteOptions } from 'fastify';
import { type AppConfig } from '../../infra/config/app-config';
import { type AddressLimit } from '../../infra/http/address-rate-limit';
import { AGENT_API_BASE_PATH, AgentErrorCode, AgentProtocolError } from '../../protocol';
import { sendAgentError } from './agent-protocol.filter';

const ANONYMOUS_ROUTES = [`${AGENT_API_BASE_PATH}/register`, `${AGENT_API_BASE_PATH}/manifests/`];

/**
 * The per-address limit of an agent route (addAddressRateLimits), refused as the protocol's
 * RATE_LIMITED: manifests and register (no credential) by AGENT_ANONYMOUS_RATE_LIMIT_PER_MINUTE, every
 * other agent route by ADDRESS_RATE_LIMIT_PER_MINUTE, shared with GraphQL (a site's NAT may hide many
 * clusters behind one address). The per-cluster limit follows authentication (AgentRateLimitGuard).
 */
export function agentAddressLimit(route: RouteOptions, config: AppConfig): AddressLimit | undefined {
  if (!route.url.startsWith(`${AGENT_API_BASE_PATH}/`)) {
    return undefined;
  }
  const anonymous = ANONYMOUS_ROUTES.some((prefix) => (prefix.endsWith('/') ? route.url.startsWith(prefix) : route.url === prefix));
  const [bucket, limit] = anonymous ? ['agent-address', config.AGENT_ANONYMOUS_RATE_LIMIT_PER_MINUTE] : ['address', config.ADDRESS_RATE_LIMIT_PER_MINUTE];
  return {
    bucket,
    limit,
    refuse: (reply, retryAfterSeconds) =>
      sendAgentError(
        reply,
        new AgentProtocolError(AgentErrorCode.RATE_LIMITED, `Too many requests: at most ${limit} a minute are accepted from one address. Retry after ${retryAfterSeconds} s.`),
      ),
  };
}
