import { Injectable } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import type { Job } from 'bullmq';
import type { AppConfig } from '../config/app-config';
import { JobName } from './jobs';
import { OnJob } from './on-job.decorator';
import { WorkerHost } from './worker.host';

/** A provider instance with one @OnJob handler that records its calls (and the `this` it ran with). */
function handlerFor(name: JobName) {
  @Injectable()
  class Handler {
    readonly calls: unknown[] = [];
    @OnJob(name)
    async handle(payload: unknown) {
      this.calls.push(payload);
      return { handledBy: this, name };
    }
    notAHandler() {
      return 'ignored';
    }
  }
  return new Handler();
}

/** WorkerHost over a fake DiscoveryService listing `instances`; the real Reflector and MetadataScanner. */
function hostWith(instances: unknown[]): WorkerHost {
  const discovery = { getProviders: () => instances.map((instance) => ({ instance })) } as unknown as DiscoveryService;
  return new WorkerHost({} as AppConfig, discovery, new MetadataScanner(), new Reflector());
}

const allJobs = Object.values(JobName);

describe(WorkerHost.name, () => {
  describe('discoverHandlers', () => {
    it('maps every job to its one handler, bound to its provider', async () => {
      const providers = allJobs.map(handlerFor);
      const handlers = hostWith([...providers, null, undefined, 'a string', { plain: true }]).discoverHandlers();
      expect([...handlers.keys()].sort()).toEqual([...allJobs].sort());
      const purge = providers[allJobs.indexOf(JobName.PURGE_API_TOKENS)];
      const result = await handlers.get(JobName.PURGE_API_TOKENS)!({ x: 1 }, {} as Job);
      expect(result).toEqual({ handledBy: purge, name: JobName.PURGE_API_TOKENS });
      expect(purge.calls).toEqual([{ x: 1 }]);
    });

    it('refuses a job with no handler, naming it', () => {
      const providers = allJobs.filter((name) => name !== JobName.PURGE_API_TOKENS).map(handlerFor);
      expect(() => hostWith(providers).discoverHandlers()).toThrow(`Job handler registry is invalid: job ${JobName.PURGE_API_TOKENS} has 0 handlers (needs exactly 1)`);
    });

    it('refuses a job with two handlers, naming it', () => {
      const providers = [...allJobs.map(handlerFor), handlerFor(JobName.PURGE_API_TOKENS)];
      expect(() => hostWith(providers).discoverHandlers()).toThrow(`Job handler registry is invalid: job ${JobName.PURGE_API_TOKENS} has 2 handlers (needs exactly 1)`);
    });

    it('reports every broken job at once', () => {
      const [first, second] = allJobs;
      const providers = [...allJobs.filter((name) => name !== first).map(handlerFor), handlerFor(second)];
      expect(() => hostWith(providers).discoverHandlers()).toThrow(`job ${first} has 0 handlers (needs exactly 1); job ${second} has 2 handlers (needs exactly 1)`);
    });

    it('refuses an empty application (no handler at all)', () => {
      expect(() => hostWith([]).discoverHandlers()).toThrow(/has 0 handlers/);
    });
  });
});
