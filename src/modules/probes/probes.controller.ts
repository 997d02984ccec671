import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { PrismaService } from '../../infra/database/prisma.service';
import { QueueGateway } from '../../infra/queue/queue.gateway';

/** Liveness and readiness on the API port. Metrics are not here: MetricsServer serves them on their own port. */
@Controller()
export class ProbesController {
  constructor(
    private readonly prisma: PrismaService,
    private readonly queues: QueueGateway,
  ) {}

  /** Liveness: the process is up and serving. */
  @Get('healthz')
  @HttpCode(200)
  healthz() {
    return { status: 'ok' };
  }

  /** Readiness: Postgres and Redis answer; 503 with what is down otherwise. */
  @Get('readyz')
  async readyz(@Res() reply: FastifyReply) {
    const [postgres, redis] = await Promise.all([this.prisma.isReachable(), this.queues.isReachable()]);
    const ready = postgres && redis;
    await reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks: { postgres: postgres ? 'ok' : 'down', redis: redis ? 'ok' : 'down' } });
  }
}
