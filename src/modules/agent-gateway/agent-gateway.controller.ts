import { Body, Controller, Get, Header, HttpCode, Param, Post, Query, Res, UseFilters, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { toYaml } from '../../agent-install';
import type { AgentCredential } from '../../generated/prisma/client';
import {
  AGENT_API_BASE_PATH,
  AGENT_MANIFESTS_MEDIA_TYPE,
  BUNDLE_CACHE_CONTROL,
  BUNDLE_MEDIA_TYPE,
  DesiredStateResponse,
  DetachAckResponse,
  RegisterResponse,
  ReportsResponse,
  RotateCredentialResponse,
} from '../../protocol';
import { DesiredStateService } from '../desired-state/desired-state.service';
import { AgentCredentialGuard, CurrentAgentCredential, ExpiredAgentCredentialGuard } from './agent-credential.guard';
import { AgentCredentialRenewalService } from './agent-credential-renewal.service';
import { AgentCredentialService } from './agent-credential.service';
import { AgentDetachService } from './agent-detach.service';
import { AgentProtocolExceptionFilter } from './agent-protocol.filter';
import { AgentRateLimitGuard } from './agent-rate-limit.guard';
import { AgentRegistrationService } from './agent-registration.service';
import { AgentReportsService } from './agent-reports.service';

/**
 * The agent protocol v1 over HTTP (docs/agent-protocol.openapi.json). Bodies are validated with the
 * protocol's zod schemas inside the services; every failure is the protocol's error body. Body
 * limit, pre-handler errors and log redaction are set per route by configureAgentRoutes; limits per
 * client address run before the body is read (agentAddressLimit), the per-cluster one after
 * authentication (AgentRateLimitGuard).
 */
@Controller(AGENT_API_BASE_PATH.slice(1))
@UseFilters(AgentProtocolExceptionFilter)
export class AgentGatewayController {
  constructor(
    private readonly registration: AgentRegistrationService,
    private readonly credentials: AgentCredentialService,
    private readonly reports: AgentReportsService,
    private readonly detach: AgentDetachService,
    private readonly renewal: AgentCredentialRenewalService,
    private readonly desiredState: DesiredStateService,
  ) {}

  @Get('manifests/:token.yaml')
  @Header('Content-Type', AGENT_MANIFESTS_MEDIA_TYPE)
  @Header('Cache-Control', 'no-store')
  async manifests(@Param('token') token: string): Promise<string> {
    return toYaml(await this.registration.manifestsForToken(token));
  }

  @Post('register')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  register(@Body() body: unknown): Promise<RegisterResponse> {
    return this.registration.register(body);
  }

  @Post('credentials/rotate')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @UseGuards(AgentCredentialGuard, AgentRateLimitGuard)
  rotate(@CurrentAgentCredential() credential: AgentCredential, @Body() body: unknown): Promise<RotateCredentialResponse> {
    return this.credentials.rotate(credential, body);
  }

  @Post('credentials/renew')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @UseGuards(ExpiredAgentCredentialGuard, AgentRateLimitGuard)
  renew(@CurrentAgentCredential() credential: AgentCredential, @Body() body: unknown): Promise<RotateCredentialResponse> {
    return this.renewal.renew(credential, body);
  }

  @Post('reports')
  @HttpCode(200)
  @UseGuards(AgentCredentialGuard, AgentRateLimitGuard)
  report(@CurrentAgentCredential() credential: AgentCredential, @Body() body: unknown): Promise<ReportsResponse> {
    return this.reports.ingest(credential, body);
  }

  @Post('detach/ack')
  @HttpCode(200)
  @UseGuards(AgentCredentialGuard, AgentRateLimitGuard)
  acknowledgeDetach(@CurrentAgentCredential() credential: AgentCredential, @Body() body: unknown): Promise<DetachAckResponse> {
    return this.detach.acknowledge(credential, body);
  }

  @Get('desired-state')
  @Header('Cache-Control', 'no-store')
  @UseGuards(AgentCredentialGuard, AgentRateLimitGuard)
  desired(@CurrentAgentCredential() credential: AgentCredential, @Query() query: Record<string, unknown>): Promise<DesiredStateResponse> {
    return this.desiredState.forAgent(credential.clusterId, query);
  }

  @Get('bundles/:sha256')
  @UseGuards(AgentCredentialGuard, AgentRateLimitGuard)
  async bundle(@CurrentAgentCredential() credential: AgentCredential, @Param('sha256') sha256: string, @Res({ passthrough: true }) reply: FastifyReply): Promise<Buffer> {
    const wasm = await this.desiredState.bundleForAgent(credential.clusterId, sha256);
    // Immutable and named by its hash: caches may keep it forever.
    void reply.header('Content-Type', BUNDLE_MEDIA_TYPE).header('Cache-Control', BUNDLE_CACHE_CONTROL).header('ETag', `"${sha256}"`);
    return Buffer.from(wasm);
  }
}
