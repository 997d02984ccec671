import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { QueueGateway } from '../queue/queue.gateway';

/** Prometheus metrics of this process, on its own registry (no global state shared between app instances). */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'farpoint_http_requests_total',
    help: 'HTTP requests by method, route and status.',
    labelNames: ['method', 'route', 'status'],
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'farpoint_http_request_duration_seconds',
    help: 'HTTP request duration.',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly graphqlOperations = new Counter({
    name: 'farpoint_graphql_operations_total',
    help: 'GraphQL operations by type, root field (or multiple/other) and outcome.',
    labelNames: ['type', 'name', 'outcome'],
    registers: [this.registry],
  });

  constructor(queues: QueueGateway) {
    collectDefaultMetrics({ register: this.registry, prefix: 'farpoint_' });
    // Queue depth is read from Redis when Prometheus scrapes, so it is never stale.
    new Gauge({
      name: 'farpoint_queue_jobs',
      help: 'BullMQ jobs by queue and state.',
      labelNames: ['queue', 'state'],
      registers: [this.registry],
      async collect() {
        try {
          for (const depth of await queues.depths()) {
            for (const state of ['waiting', 'active', 'delayed', 'failed'] as const) {
              this.set({ queue: depth.queue, state }, depth[state]);
            }
          }
        } catch {
          // Redis unreachable: /readyz reports it; the scrape still succeeds.
        }
      },
    });
  }
}
